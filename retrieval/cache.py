"""A persistent query cache in SQLite (aiosqlite), with a TTL, a size bound and hit/miss counters.

The cache is an optimisation, never a source of truth, so every failure degrades to an uncached
answer: a corrupt file is moved aside and rebuilt, a locked or read-only file is bypassed, a deleted
file is recreated. Keys include the index fingerprint, and each stored payload repeats the key it was
stored under, so a new index or a damaged row can never serve a wrong answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS query_cache (
    key TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS query_cache_last_used ON query_cache(last_used);
CREATE TABLE IF NOT EXISTS cache_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def cache_key(normalized_query: str, filters: Mapping[str, Any], fingerprint: str) -> str:
    """A stable key for one query against one index.

    >>> k1 = cache_key("变压器 论文", {"issue": None, "k": 5}, "idx1")
    >>> k1 == cache_key("变压器 论文", {"k": 5, "issue": None}, "idx1")
    True
    >>> k1 == cache_key("变压器 论文", {"issue": None, "k": 5}, "idx2")
    False
    """
    blob = json.dumps([normalized_query, dict(sorted(filters.items())), fingerprint], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    errors: int
    entries: int
    status: str
    """``ok``, or what went wrong and what the cache does about it, for ``/stats``."""

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


WRITE_DELAY_S = 0.5
"""How long :meth:`QueryCache.put_later` gathers answers into one write; meanwhile they are served from memory."""


class QueryCache:
    """The query cache. Use as ``async with QueryCache(path, ...) as cache``."""

    def __init__(self, path: Path, *, ttl_seconds: float, max_entries: int,
                 clock: Callable[[], float] = time.time, write_delay: float = WRITE_DELAY_S) -> None:
        self.path = path
        self.write_delay = write_delay
        """Seconds :meth:`put_later`'s writes wait to go together in one transaction (0: at once)."""
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        """Reads for :meth:`get`, on the caller's thread (see :meth:`_connect`); set and closed with ``_db``."""
        self._lock = asyncio.Lock()
        self._hits = 0
        self._misses = 0
        self._errors = 0
        self._entries = 0
        self._status = "not opened"
        self._touched: dict[str, float] = {}
        self._pending: set[asyncio.Task[None]] = set()
        """The task writing what :meth:`put_later` was given, while it runs; :meth:`close` waits for it."""
        self._unwritten: dict[str, Any] = {}
        """:meth:`put_later`'s values not yet committed, by key: :meth:`get` answers from here meanwhile."""
        self._write_now = asyncio.Event()
        """Set by :meth:`drain`: the writer stops waiting for more values."""

    async def __aenter__(self) -> QueryCache:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        async with self._lock:
            await self._open_locked()

    async def _open_locked(self) -> None:
        await self._close_locked()
        try:
            await self._connect()
            self._status = "ok"
        except sqlite3.DatabaseError as err:
            if _is_corrupt(err):
                await self._close_locked()
                self._move_aside(err)
                try:
                    await self._connect()
                    self._status = f"rebuilt: the old cache file was unreadable ({err})"
                    return
                except (sqlite3.Error, OSError) as err2:
                    err = err2  # type: ignore[assignment]
            await self._disable(f"cache unavailable ({err}); answering uncached")
        except OSError as err:
            await self._disable(f"cache unavailable ({err}); answering uncached")

    async def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, timeout=0.5)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL loses at most the last commits on power loss, never consistency: fine for a cache.
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.executescript(_SCHEMA)
            await db.commit()
            async with db.execute("SELECT name, value FROM cache_counters") as cur:
                counters = {str(name): int(value) for name, value in await cur.fetchall()}
            async with db.execute("SELECT COUNT(*) FROM query_cache") as cur:
                row = await cur.fetchone()
            # A hit is one primary-key lookup: tens of microseconds on the event loop's thread, where each hand-off
            # to aiosqlite's thread and back costs 0.1-0.3 ms once the machine is idle enough for that thread to
            # sleep. WAL lets this connection read while the other writes; it never waits (timeout 0), as a busy
            # file is only a miss. Writes, and the deletes of expired or damaged rows, stay on aiosqlite's thread.
            # Used only under self._lock, so it need not stay on the thread that opened it.
            reader = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        except BaseException:
            await db.close()
            raise
        self._hits = int(counters.get("hits", 0))
        self._misses = int(counters.get("misses", 0))
        self._entries = int(row[0]) if row else 0
        self._db = db
        self._reader = reader

    def _move_aside(self, err: Exception) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                try:
                    src.rename(Path(f"{self.path}.corrupt-{stamp}{suffix}"))
                except OSError:
                    src.unlink(missing_ok=True)
        log.warning("query cache %s was unreadable (%s); moved it aside and started a new one", self.path, err)

    async def _disable(self, status: str) -> None:
        await self._close_locked()
        self._status = status
        log.warning("query cache %s: %s", self.path, status)

    async def close(self) -> None:
        await self.drain()  # a write started before shutdown is kept, not dropped by the closing connection
        async with self._lock:
            await self._close_locked()

    async def _close_locked(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            with contextlib.suppress(sqlite3.Error):
                reader.close()
        if self._db is not None:
            db, self._db = self._db, None
            try:
                await self._flush_touches(db)
                await db.execute(
                    "INSERT INTO cache_counters(name, value) VALUES ('hits', ?), ('misses', ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (self._hits, self._misses),
                )
                await db.commit()
            except sqlite3.Error:
                pass  # counters are best effort; the connection is closing anyway
            await db.close()

    async def get(self, key: str) -> Any | None:
        """The payload stored under ``key``, or None (a miss) on absence, expiry or any failure."""
        if key in self._unwritten:
            # What this process answered but has not written yet is a hit, without waiting for the write.
            self._hits += 1
            return self._unwritten[key]
        async with self._lock:
            payload = await self._guarded(self._get, key)
        if payload is None:
            self._misses += 1
            return None
        self._hits += 1
        return payload

    async def _get(self, db: aiosqlite.Connection, key: str) -> Any | None:
        if self._reader is None:
            return None
        # fetchall, not fetchone: the finished statement ends its read transaction, so the next get sees new rows.
        rows = self._reader.execute("SELECT payload, created FROM query_cache WHERE key = ?", (key,)).fetchall()
        if not rows:
            return None
        row = rows[0]
        now = self._clock()
        if now - float(row[1]) > self.ttl:
            await db.execute("DELETE FROM query_cache WHERE key = ?", (key,))
            await db.commit()
            return None
        try:
            stored = json.loads(row[0])
        except (TypeError, ValueError):
            stored = None
        if not isinstance(stored, dict) or stored.get("key") != key:
            # A damaged row must never become an answer.
            await db.execute("DELETE FROM query_cache WHERE key = ?", (key,))
            await db.commit()
            return None
        # Recency only matters for eviction; record it in memory and write it with the next put.
        self._touched[key] = now
        return stored.get("value")

    async def put(self, key: str, value: Any) -> None:
        async with self._lock:
            await self._guarded(self._put, key, value)

    def put_later(self, key: str, value: Any) -> None:
        """Store ``value`` in a task of its own, so that the caller can answer first (the write's hand-offs to
        SQLite's thread and its commit were a third of an uncached answer), and need not wait for it at the next
        :meth:`get` either: until it is committed, :meth:`get` answers ``value`` itself (so the caller must not
        change it). The values given within ``write_delay`` seconds, or while a write runs, go in one transaction.
        :meth:`drain` and :meth:`close` write them at once; a failure is handled as in :meth:`put` (logged, never
        raised)."""
        self._unwritten[key] = value
        if not self._pending:
            task = asyncio.get_running_loop().create_task(self._write_unwritten())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _write_unwritten(self) -> None:
        if self.write_delay > 0 and not self._write_now.is_set():
            # Each commit, and each hand-off to aiosqlite's thread, costs CPU the next answers need: one
            # transaction for the answers of a short while, not one per answer.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._write_now.wait(), self.write_delay)
        while self._unwritten:
            batch = dict(self._unwritten)
            try:
                async with self._lock:
                    await self._guarded(self._put_many, batch)
            finally:
                # Written, or failed (a cache degrades to misses): no longer served from here, unless put_later
                # replaced a value meanwhile.
                for key, value in batch.items():
                    if self._unwritten.get(key) is value:
                        del self._unwritten[key]

    async def drain(self) -> None:
        """Wait until every write :meth:`put_later` started has finished (at once, not after the delay)."""
        self._write_now.set()
        try:
            while self._pending:
                await asyncio.gather(*self._pending, return_exceptions=True)
        finally:
            self._write_now.clear()

    async def _flush_touches(self, db: aiosqlite.Connection) -> None:
        if self._touched:
            touched, self._touched = self._touched, {}
            await db.executemany("UPDATE query_cache SET last_used = ? WHERE key = ?",
                                 [(t, k) for k, t in touched.items()])

    async def _put(self, db: aiosqlite.Connection, key: str, value: Any) -> None:
        await self._put_many(db, {key: value})

    async def _put_many(self, db: aiosqlite.Connection, values: Mapping[str, Any]) -> None:
        now = self._clock()
        await self._flush_touches(db)
        await db.executemany(
            "INSERT INTO query_cache(key, payload, created, last_used) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET payload = excluded.payload, created = excluded.created, "
            "last_used = excluded.last_used",
            [(key, json.dumps({"key": key, "value": value}, ensure_ascii=False), now, now)
             for key, value in values.items()],
        )
        # An upper bound (a put may replace a key); _prune counts exactly. Pruning scans the table, so it runs
        # only when the bound passes the limit.
        self._entries += len(values)
        if self._entries > self.max_entries:
            await self._prune(db)
        await db.commit()

    async def _prune(self, db: aiosqlite.Connection) -> None:
        await db.execute("DELETE FROM query_cache WHERE created < ?", (self._clock() - self.ttl,))
        await db.execute(
            "DELETE FROM query_cache WHERE key IN (SELECT key FROM query_cache ORDER BY last_used DESC "
            "LIMIT -1 OFFSET ?)",
            (self.max_entries,),
        )
        async with db.execute("SELECT COUNT(*) FROM query_cache") as cur:
            row = await cur.fetchone()
        self._entries = int(row[0]) if row else 0

    async def clear(self) -> None:
        await self.drain()  # a write still under way would bring back what is cleared

        async def _clear(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM query_cache")
            await db.commit()
            self._entries = 0

        async with self._lock:
            await self._guarded(_clear)

    async def _guarded(self, op: Callable[..., Any], *args: Any) -> Any:
        """Run ``op(db, *args)``; on any SQLite or OS failure degrade, never raise."""
        if self._db is not None and not self.path.exists():
            log.warning("query cache %s was deleted while in use; recreating it", self.path)
            await self._open_locked()
            if self._status == "ok":
                self._status = "recreated: the cache file was deleted while the bot ran"
        if self._db is None:
            return None
        try:
            result = await op(self._db, *args)
        except sqlite3.DatabaseError as err:
            self._errors += 1
            await self._rollback()
            if _is_corrupt(err):
                log.warning("query cache %s is corrupt (%s); rebuilding", self.path, err)
                await self._open_locked()
            elif _is_locked(err):
                self._status = f"degraded: database locked by another process ({err}); some answers uncached"
                log.warning("query cache %s is locked (%s); answering uncached", self.path, err)
            elif _is_readonly(err):
                self._status = f"degraded: database is read-only ({err}); answering uncached"
                log.warning("query cache %s is read-only (%s); answering uncached", self.path, err)
            else:
                self._status = f"degraded: {err}"
                log.warning("query cache %s failed (%s); answering uncached", self.path, err)
            return None
        except OSError as err:
            self._errors += 1
            await self._rollback()
            self._status = f"degraded: {err}"
            log.warning("query cache %s failed (%s); answering uncached", self.path, err)
            return None
        if self._status.startswith("degraded: "):
            # A lock is usually brief: say the cache works again, and what it recovered from.
            self._status = "ok (recovered from: " + self._status.removeprefix("degraded: ") + ")"
        return result

    async def _rollback(self) -> None:
        # A failed write leaves sqlite3's implicit transaction open; later reads would then sit in a stale
        # snapshot and every later write would fail as "locked".
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._db.rollback()

    @property
    def stats(self) -> CacheStats:
        return CacheStats(self._hits, self._misses, self._errors, self._entries, self._status)


def _is_corrupt(err: sqlite3.DatabaseError) -> bool:
    text = str(err).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _is_locked(err: sqlite3.DatabaseError) -> bool:
    text = str(err).lower()
    return "locked" in text or "busy" in text


def _is_readonly(err: sqlite3.DatabaseError) -> bool:
    return "readonly" in str(err).lower() or "read-only" in str(err).lower()
