"""Per-feed state: validators, last success, consecutive failures, why a feed is off, and seen items.

:class:`FeedStore` is the interface the poller needs; :class:`SqliteFeedStore` keeps it in the bot's
state database (the :class:`bot.state.StateStore` connection), so ``newsbot ingest`` and ``newsbot run``
share what they have seen.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol, cast

import aiosqlite


@dataclass(frozen=True, slots=True)
class FeedState:
    url: str
    name: str = ""
    etag: str | None = None
    last_modified: str | None = None
    last_success: dt.datetime | None = None
    last_attempt: dt.datetime | None = None
    next_poll: dt.datetime | None = None
    failures: int = 0
    """Consecutive failures; 0 after any success."""
    last_error: str | None = None
    disabled_reason: str | None = None
    """Set when the feed is off: its last error and the count of tries."""
    polled_ok: bool = False
    """At least one poll succeeded: the first one stores everything and announces nothing."""
    config_hash: str = ""
    items: int = 0
    notes: str = ""
    """What the last successful poll skipped (items without a link, duplicates), for stats."""


@dataclass(frozen=True, slots=True)
class ItemRecord:
    key: str
    path: str
    """The archive file (relative to the archive folder) this item is; maybe one an admin saved."""
    content_hash: str
    owned: bool
    """True when the poller wrote the file; an admin's own copy is never overwritten."""
    issue_id: str


class FeedStore(Protocol):
    async def setup(self) -> None: ...
    async def sync_config(self, feeds: Iterable[tuple[str, str, str]], now: dt.datetime) -> list[str]:
        """Register ``(url, name, config_hash)`` rows; a changed hash re-enables the feed. Returns the
        urls that were re-enabled by the change."""
        ...
    async def get(self, url: str) -> FeedState | None: ...
    async def all(self) -> list[FeedState]: ...
    async def record_success(self, url: str, *, etag: str | None, last_modified: str | None, now: dt.datetime,
                             next_poll: dt.datetime, notes: str | None) -> None: ...
    async def record_failure(self, url: str, *, error: str, now: dt.datetime, next_poll: dt.datetime,
                             disabled_reason: str | None) -> int: ...
    async def retry(self, url: str | None, now: dt.datetime) -> list[str]: ...
    async def items(self, url: str) -> dict[str, ItemRecord]: ...
    async def put_item(self, url: str, record: ItemRecord, now: dt.datetime) -> None: ...
    async def add_quiet(self, issue_ids: Collection[str], now: dt.datetime) -> None: ...
    async def quiet_issues(self) -> frozenset[str]:
        """Issues stored without an announcement (a feed's first poll): no digest posts them."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    etag TEXT,
    last_modified TEXT,
    last_success TEXT,
    last_attempt TEXT,
    next_poll TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    disabled_reason TEXT,
    polled_ok INTEGER NOT NULL DEFAULT 0,
    config_hash TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS feed_items (
    feed_url TEXT NOT NULL,
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    owned INTEGER NOT NULL,
    issue_id TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (feed_url, key)
);
CREATE TABLE IF NOT EXISTS feed_quiet (
    issue_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
"""

_COLUMNS = ("url, name, etag, last_modified, last_success, last_attempt, next_poll, failures, last_error, "
            "disabled_reason, polled_ok, config_hash, notes")


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _parse_ts(value: object) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(str(value))


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


class SqliteFeedStore:
    """:class:`FeedStore` on the bot's SQLite state database. Call :meth:`setup` once after opening."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._write_lock = asyncio.Lock()

    async def setup(self) -> None:
        await self.db.executescript(_SCHEMA)
        await self.db.commit()

    async def _write(self, *statements: tuple[str, tuple[object, ...]]) -> int:
        async with self._write_lock:
            try:
                changed = -1
                for sql, params in statements:
                    async with self.db.execute(sql, params) as cur:
                        if changed < 0:
                            changed = cur.rowcount
                await self.db.commit()
            except BaseException:
                await self.db.rollback()
                raise
            return changed

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        async with self.db.execute(sql, params) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    @staticmethod
    def _state(row: tuple[object, ...], items: int) -> FeedState:
        return FeedState(
            url=str(row[0]), name=str(row[1]), etag=_opt(row[2]), last_modified=_opt(row[3]),
            last_success=_parse_ts(row[4]), last_attempt=_parse_ts(row[5]), next_poll=_parse_ts(row[6]),
            failures=int(cast(int, row[7])), last_error=_opt(row[8]), disabled_reason=_opt(row[9]),
            polled_ok=bool(row[10]), config_hash=str(row[11]), notes=str(row[12]), items=items,
        )

    async def _counts(self) -> dict[str, int]:
        rows = await self._rows("SELECT feed_url, COUNT(*) FROM feed_items GROUP BY feed_url")
        return {str(r[0]): int(cast(int, r[1])) for r in rows}

    async def sync_config(self, feeds: Iterable[tuple[str, str, str]], now: dt.datetime) -> list[str]:
        changed: list[str] = []
        for url, name, config_hash in feeds:
            rows = await self._rows("SELECT config_hash, disabled_reason, failures FROM feeds WHERE url = ?", (url,))
            if not rows:
                await self._write(("INSERT INTO feeds (url, name, config_hash) VALUES (?, ?, ?)",
                                   (url, name, config_hash)))
                continue
            if str(rows[0][0]) != config_hash:
                if rows[0][1] is not None or int(cast(int, rows[0][2])):
                    changed.append(url)
                await self._write(("UPDATE feeds SET name = ?, config_hash = ?, failures = 0, disabled_reason = NULL,"
                                   " next_poll = ? WHERE url = ?", (name, config_hash, _ts(now), url)))
        return changed

    async def get(self, url: str) -> FeedState | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return self._state(rows[0], (await self._counts()).get(url, 0)) if rows else None

    async def all(self) -> list[FeedState]:
        counts = await self._counts()
        rows = await self._rows(f"SELECT {_COLUMNS} FROM feeds ORDER BY url")
        return [self._state(r, counts.get(str(r[0]), 0)) for r in rows]

    async def record_success(self, url: str, *, etag: str | None, last_modified: str | None, now: dt.datetime,
                             next_poll: dt.datetime, notes: str | None) -> None:
        # A 304 keeps the notes of the poll that last read the body (notes=None).
        await self._write((
            "UPDATE feeds SET etag = ?, last_modified = ?, last_success = ?, last_attempt = ?, next_poll = ?, "
            "failures = 0, last_error = NULL, disabled_reason = NULL, polled_ok = 1, notes = COALESCE(?, notes) "
            "WHERE url = ?", (etag, last_modified, _ts(now), _ts(now), _ts(next_poll), notes, url)))

    async def record_failure(self, url: str, *, error: str, now: dt.datetime, next_poll: dt.datetime,
                             disabled_reason: str | None) -> int:
        await self._write((
            "UPDATE feeds SET failures = failures + 1, last_error = ?, last_attempt = ?, next_poll = ?, "
            "disabled_reason = ? WHERE url = ?", (error, _ts(now), _ts(next_poll), disabled_reason, url)))
        rows = await self._rows("SELECT failures FROM feeds WHERE url = ?", (url,))
        return int(cast(int, rows[0][0])) if rows else 0

    async def retry(self, url: str | None, now: dt.datetime) -> list[str]:
        where, params = ("WHERE url = ?", (url,)) if url else ("", ())
        rows = await self._rows(f"SELECT url FROM feeds {where}", params)
        await self._write((f"UPDATE feeds SET failures = 0, disabled_reason = NULL, next_poll = ? {where}",
                           (_ts(now), *params)))
        return [str(r[0]) for r in rows]

    async def items(self, url: str) -> dict[str, ItemRecord]:
        rows = await self._rows("SELECT key, path, content_hash, owned, issue_id FROM feed_items WHERE feed_url = ?",
                                (url,))
        return {str(r[0]): ItemRecord(str(r[0]), str(r[1]), str(r[2]), bool(r[3]), str(r[4])) for r in rows}

    async def put_item(self, url: str, record: ItemRecord, now: dt.datetime) -> None:
        await self._write((
            "INSERT INTO feed_items (feed_url, key, path, content_hash, owned, issue_id, first_seen, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(feed_url, key) DO UPDATE SET path = excluded.path, "
            "content_hash = excluded.content_hash, owned = excluded.owned, issue_id = excluded.issue_id, "
            "updated_at = excluded.updated_at",
            (url, record.key, record.path, record.content_hash, int(record.owned), record.issue_id, _ts(now),
             _ts(now))))

    async def add_quiet(self, issue_ids: Collection[str], now: dt.datetime) -> None:
        if issue_ids:
            await self._write(*(("INSERT INTO feed_quiet (issue_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                 (i, _ts(now))) for i in issue_ids))

    async def quiet_issues(self) -> frozenset[str]:
        return frozenset(str(r[0]) for r in await self._rows("SELECT issue_id FROM feed_quiet"))
