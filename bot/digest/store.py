"""The shared state store: digest settings, digest claims, and small key/value records (the command-sync hash).

One small interface, :class:`Store`, and one SQL text for every backend: the statements are written with
``?`` placeholders in the SQL both SQLite and PostgreSQL understand (``INSERT … ON CONFLICT``, ``RETURNING``),
and each backend only says how to run them. Timestamps are fixed-width ISO text in UTC, so they sort like the
instants they name in both databases and one set of migrations serves both.

The schema version lives in the database (``schema_version``), not in a file on one host: ``newsbot migrate``
applies :data:`MIGRATIONS`, and :meth:`SqlStore.check_schema` refuses a database that is older or newer than
this code. Nothing here opens a connection at import time; the launcher opens the store and passes it in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import sqlite3
from collections.abc import Awaitable, Callable, Collection, Iterable
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, cast

import aiosqlite

from bot.digest.schedule import DigestSettings, parse_policy
from bot.errors import SchemaMismatch, StoreError, StoreReadOnly, StoreUnavailable
from bot.feeds.store import FeedState, FeedStore, ItemRecord

log = logging.getLogger(__name__)

PostStatus = Literal["claimed", "posted", "skipped", "failed", "missed"]
"""``claimed``: being sent (or the sender died); ``posted``: done, message id known; ``skipped``: the slot
came and there was nothing to post; ``failed``: 403/404, or a manual post that gave up; ``missed``: a
crashed claim whose week ended without the message ever appearing."""


class PostRecord(NamedTuple):
    """One row of ``digest_posts``."""

    guild_id: int
    slot: str
    issue_id: str | None
    status: PostStatus
    channel_id: int | None
    message_id: int | None
    claimed_at: dt.datetime
    lease_until: dt.datetime | None
    posted_at: dt.datetime | None
    detail: str | None
    claimed_by: str | None = None
    """``host:pid`` of the process that claimed (or last took over) the slot."""


class Store(FeedStore, Protocol):
    """What the scheduler and the client need from the shared state. Every write is one transaction; the two
    that decide who posts (:meth:`claim`, :meth:`take_lease`) are each one statement only one caller can win."""

    backend: str
    """``sqlite`` or ``postgresql``, for stats and logs."""
    read_only: bool
    """True when the store was found read-only at open: every write raises :class:`StoreReadOnly`."""

    async def close(self) -> None: ...

    # key/value records (the command-sync hash)
    async def get_value(self, key: str) -> str | None: ...
    async def set_value(self, key: str, value: str) -> None: ...

    # settings
    async def get_settings(self, guild_id: int) -> DigestSettings | None: ...
    async def enabled_guilds(self) -> list[DigestSettings]: ...
    async def put_settings(self, s: DigestSettings) -> None: ...
    async def disable(self, guild_id: int, reason: str) -> None: ...
    async def set_thread_error(self, guild_id: int, error: str | None) -> None: ...

    # what a guild has seen
    async def take_baseline(self, guild_id: int, issue_ids: Collection[str], now: dt.datetime) -> bool: ...
    async def baseline(self, guild_id: int) -> frozenset[str] | None: ...
    async def received(self, guild_id: int) -> frozenset[str]: ...

    # the claim table
    async def posts(self, guild_id: int) -> list[PostRecord]: ...
    async def get_post(self, guild_id: int, slot: str) -> PostRecord | None: ...
    async def claimed_rows(self, guild_id: int) -> list[PostRecord]: ...
    async def claim(self, guild_id: int, slot: str, issue_id: str, channel_id: int, now: dt.datetime,
                    lease_until: dt.datetime) -> bool: ...
    async def skip(self, guild_id: int, slot: str, now: dt.datetime) -> bool: ...
    async def take_lease(self, guild_id: int, slot: str, now: dt.datetime, lease_until: dt.datetime) -> bool: ...
    async def release(self, guild_id: int, slot: str, now: dt.datetime, detail: str) -> None: ...
    async def set_issue(self, guild_id: int, slot: str, issue_id: str) -> None: ...
    async def mark_posted(self, guild_id: int, slot: str, issue_id: str, message_id: int,
                          now: dt.datetime) -> None: ...
    async def finish(self, guild_id: int, slot: str, status: Literal["failed", "missed"], detail: str) -> None: ...


# -- schema ----------------------------------------------------------------------------------------

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the tables as newsbot created them before versioning (IF NOT EXISTS adopts such a database).
    # BIGINT, not INTEGER: Discord ids need 64 bits, and PostgreSQL's INTEGER has 32.
    (
        "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS digest_settings (
            guild_id BIGINT PRIMARY KEY,
            channel_id BIGINT,
            weekday INTEGER NOT NULL,
            time TEXT NOT NULL,
            timezone TEXT NOT NULL,
            policy TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 0,
            enabled_at TEXT,
            disabled_reason TEXT,
            baseline_at TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS digest_posts (
            guild_id BIGINT NOT NULL,
            slot TEXT NOT NULL,
            issue_id TEXT,
            status TEXT NOT NULL,
            channel_id BIGINT,
            message_id BIGINT,
            claimed_at TEXT NOT NULL,
            lease_until TEXT,
            posted_at TEXT,
            detail TEXT,
            PRIMARY KEY (guild_id, slot)
        )""",
        """CREATE TABLE IF NOT EXISTS digest_received (
            guild_id BIGINT NOT NULL,
            issue_id TEXT NOT NULL,
            slot TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (guild_id, issue_id)
        )""",
        """CREATE TABLE IF NOT EXISTS digest_baseline (
            guild_id BIGINT NOT NULL,
            issue_id TEXT NOT NULL,
            PRIMARY KEY (guild_id, issue_id)
        )""",
    ),
    # 2: who holds a claim (host:pid), for stats and for an operator reading the table.
    ("ALTER TABLE digest_posts ADD COLUMN claimed_by TEXT",),
    # 3: feeds (per-feed validators, failures, seen items; issues stored without an announcement) and the
    # digest's role ping and discussion thread.
    (
        """CREATE TABLE IF NOT EXISTS feeds (
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
        )""",
        """CREATE TABLE IF NOT EXISTS feed_items (
            feed_url TEXT NOT NULL,
            key TEXT NOT NULL,
            path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            owned INTEGER NOT NULL,
            issue_id TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (feed_url, key)
        )""",
        "CREATE TABLE IF NOT EXISTS feed_quiet (issue_id TEXT PRIMARY KEY, at TEXT NOT NULL)",
        "ALTER TABLE digest_settings ADD COLUMN role_id BIGINT",
        "ALTER TABLE digest_settings ADD COLUMN thread INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE digest_settings ADD COLUMN thread_error TEXT",
    ),
)
"""Each entry is one schema version's statements, applied in one transaction. Append, never edit."""

SCHEMA_VERSION = len(MIGRATIONS)

_POST_COLUMNS = ("guild_id, slot, issue_id, status, channel_id, message_id, claimed_at, lease_until, posted_at, "
                 "detail, claimed_by")
_SETTINGS_COLUMNS = ("guild_id, channel_id, weekday, time, timezone, policy, enabled, enabled_at, disabled_reason, "
                     "role_id, thread, thread_error")
_FEED_COLUMNS = ("url, name, etag, last_modified, last_success, last_attempt, next_poll, failures, last_error, "
                 "disabled_reason, polled_ok, config_hash, notes")

Statement = tuple[str, tuple[object, ...]]


def _ts(value: dt.datetime) -> str:
    # Fixed width, always UTC: the text sorts like the instant, so SQL can compare leases.
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _parse_ts(value: object) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(str(value))


def _opt_int(value: object) -> int | None:
    return None if value is None else int(cast(int, value))


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def mismatch_message(found: int, backend: str) -> str:
    """What an operator reads when the schema does not match.

    >>> mismatch_message(0, "sqlite")  # doctest: +ELLIPSIS
    'the sqlite state database has schema version 0 and this newsbot needs ...: run `newsbot migrate` first'
    >>> mismatch_message(99, "postgresql")  # doctest: +ELLIPSIS
    'the postgresql state database has schema version 99, newer than this newsbot knows (...): upgrade newsbot...'
    """
    if found < SCHEMA_VERSION:
        return (f"the {backend} state database has schema version {found} and this newsbot needs "
                f"{SCHEMA_VERSION}: run `newsbot migrate` first")
    return (f"the {backend} state database has schema version {found}, newer than this newsbot knows "
            f"({SCHEMA_VERSION}): upgrade newsbot on this host (a newer release migrated it)")


# -- the SQL, once ---------------------------------------------------------------------------------

class SqlStore:
    """The statements of :class:`Store`; a backend supplies :meth:`_rows` and :meth:`_write`."""

    backend = "sql"
    read_only = False
    owner = f"{socket.gethostname()}:{os.getpid()}"
    """Written into the claims this process takes (``claimed_by``)."""

    async def close(self) -> None:
        raise NotImplementedError

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        raise NotImplementedError

    async def _write(self, *statements: Statement) -> int:
        """Run statements as one transaction; return the rows changed (or returned) by the first."""
        raise NotImplementedError

    async def _migrate(self) -> tuple[int, int]:
        raise NotImplementedError

    # schema

    async def schema_version(self) -> int:
        """The version recorded in the database; 0 when it has none (new, or from before versioning)."""
        raise NotImplementedError

    async def check_schema(self) -> None:
        """Refuse a database whose schema is not exactly the one this code knows."""
        found = await self.schema_version()
        if found != SCHEMA_VERSION:
            raise SchemaMismatch(mismatch_message(found, self.backend))

    async def migrate(self) -> tuple[int, int]:
        """Apply the missing migrations; return (version before, version after). Safe to run concurrently."""
        before, after = await self._migrate()
        if before > SCHEMA_VERSION:
            raise SchemaMismatch(mismatch_message(before, self.backend))
        return before, after

    # key/value

    async def get_value(self, key: str) -> str | None:
        rows = await self._rows("SELECT value FROM kv WHERE key = ?", (key,))
        return None if not rows else str(rows[0][0])

    async def set_value(self, key: str, value: str) -> None:
        await self._write(("INSERT INTO kv (key, value) VALUES (?, ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)))

    # settings

    @staticmethod
    def _settings(row: tuple[object, ...]) -> DigestSettings:
        return DigestSettings(
            guild_id=int(cast(int, row[0])), channel_id=_opt_int(row[1]), weekday=int(cast(int, row[2])),
            time=dt.time.fromisoformat(str(row[3])), timezone=str(row[4]), policy=parse_policy(str(row[5])),
            enabled=bool(row[6]), enabled_at=_parse_ts(row[7]), disabled_reason=_opt_str(row[8]),
            role_id=_opt_int(row[9]), thread=bool(row[10]), thread_error=_opt_str(row[11]),
        )

    async def get_settings(self, guild_id: int) -> DigestSettings | None:
        rows = await self._rows(f"SELECT {_SETTINGS_COLUMNS} FROM digest_settings WHERE guild_id = ?", (guild_id,))
        return self._settings(rows[0]) if rows else None

    async def enabled_guilds(self) -> list[DigestSettings]:
        rows = await self._rows(f"SELECT {_SETTINGS_COLUMNS} FROM digest_settings WHERE enabled = 1 "
                                "ORDER BY guild_id")
        return [self._settings(r) for r in rows]

    async def put_settings(self, s: DigestSettings) -> None:
        await self._write((
            f"INSERT INTO digest_settings ({_SETTINGS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id, weekday = excluded.weekday, "
            "time = excluded.time, timezone = excluded.timezone, policy = excluded.policy, "
            "enabled = excluded.enabled, enabled_at = excluded.enabled_at, "
            "disabled_reason = excluded.disabled_reason, role_id = excluded.role_id, thread = excluded.thread, "
            "thread_error = excluded.thread_error",
            (s.guild_id, s.channel_id, s.weekday, s.time.isoformat("minutes"), s.timezone, s.policy, int(s.enabled),
             None if s.enabled_at is None else _ts(s.enabled_at), s.disabled_reason, s.role_id, int(s.thread),
             s.thread_error),
        ))

    async def set_thread_error(self, guild_id: int, error: str | None) -> None:
        """Why the last digest thread could not be opened (None: it was), for stats."""
        await self._write(("UPDATE digest_settings SET thread_error = ? WHERE guild_id = ?", (error, guild_id)))

    async def disable(self, guild_id: int, reason: str) -> None:
        await self._write(("UPDATE digest_settings SET enabled = 0, disabled_reason = ? WHERE guild_id = ?",
                           (reason, guild_id)))

    # what the guild has seen

    async def take_baseline(self, guild_id: int, issue_ids: Collection[str], now: dt.datetime) -> bool:
        """Record the issues that exist now as the guild's backlog, once; False if already taken."""
        taken = await self._write(
            ("UPDATE digest_settings SET baseline_at = ? WHERE guild_id = ? AND baseline_at IS NULL",
             (_ts(now), guild_id)),
            *(("INSERT INTO digest_baseline (guild_id, issue_id) SELECT CAST(? AS BIGINT), CAST(? AS TEXT) WHERE "
               "(SELECT baseline_at FROM digest_settings WHERE guild_id = ?) = ? ON CONFLICT DO NOTHING",
               (guild_id, i, guild_id, _ts(now))) for i in issue_ids),
        )
        return taken == 1

    async def baseline(self, guild_id: int) -> frozenset[str] | None:
        """The backlog recorded at enabling, or None if the guild never enabled."""
        rows = await self._rows("SELECT baseline_at FROM digest_settings WHERE guild_id = ?", (guild_id,))
        if not rows or rows[0][0] is None:
            return None
        ids = await self._rows("SELECT issue_id FROM digest_baseline WHERE guild_id = ?", (guild_id,))
        return frozenset(str(r[0]) for r in ids)

    async def received(self, guild_id: int) -> frozenset[str]:
        rows = await self._rows("SELECT issue_id FROM digest_received WHERE guild_id = ?", (guild_id,))
        return frozenset(str(r[0]) for r in rows)

    # the claim table

    @staticmethod
    def _post(row: tuple[object, ...]) -> PostRecord:
        claimed_at = _parse_ts(row[6])
        assert claimed_at is not None  # NOT NULL in the schema
        return PostRecord(
            guild_id=int(cast(int, row[0])), slot=str(row[1]), issue_id=_opt_str(row[2]),
            status=cast(PostStatus, str(row[3])), channel_id=_opt_int(row[4]), message_id=_opt_int(row[5]),
            claimed_at=claimed_at, lease_until=_parse_ts(row[7]), posted_at=_parse_ts(row[8]),
            detail=_opt_str(row[9]), claimed_by=_opt_str(row[10]),
        )

    async def posts(self, guild_id: int) -> list[PostRecord]:
        """Every slot row of a guild, oldest claim first."""
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? "
                                "ORDER BY claimed_at, slot", (guild_id,))
        return [self._post(r) for r in rows]

    async def get_post(self, guild_id: int, slot: str) -> PostRecord | None:
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? AND slot = ?",
                                (guild_id, slot))
        return self._post(rows[0]) if rows else None

    async def claimed_rows(self, guild_id: int) -> list[PostRecord]:
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? AND "
                                "status = 'claimed' ORDER BY slot", (guild_id,))
        return [self._post(r) for r in rows]

    async def claim(self, guild_id: int, slot: str, issue_id: str, channel_id: int, now: dt.datetime,
                    lease_until: dt.datetime) -> bool:
        """Claim a slot: one statement, and True only for the one caller whose insert returned a row."""
        return await self._write((
            "INSERT INTO digest_posts (guild_id, slot, issue_id, status, channel_id, claimed_at, lease_until, "
            "claimed_by) VALUES (?, ?, ?, 'claimed', ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, slot) DO NOTHING RETURNING slot",
            (guild_id, slot, issue_id, channel_id, _ts(now), _ts(lease_until), self.owner),
        )) == 1

    async def skip(self, guild_id: int, slot: str, now: dt.datetime) -> bool:
        """Mark a slot as come and gone with nothing to post."""
        return await self._write((
            "INSERT INTO digest_posts (guild_id, slot, status, claimed_at) VALUES (?, ?, 'skipped', ?) "
            "ON CONFLICT (guild_id, slot) DO NOTHING RETURNING slot", (guild_id, slot, _ts(now)),
        )) == 1

    async def take_lease(self, guild_id: int, slot: str, now: dt.datetime, lease_until: dt.datetime) -> bool:
        """Take over a claim whose lease ran out: one conditional UPDATE, True only for one taker.

        ``lease_until`` is ``claimed_at + lease`` when claimed, so the condition is the issue's
        ``claimed_at < now - lease``; :meth:`release` may move it earlier to hand a claim on at once."""
        return await self._write((
            "UPDATE digest_posts SET lease_until = ?, claimed_by = ? WHERE guild_id = ? AND slot = ? "
            "AND status = 'claimed' AND (lease_until IS NULL OR lease_until <= ?) RETURNING slot",
            (_ts(lease_until), self.owner, guild_id, slot, _ts(now)),
        )) == 1

    async def release(self, guild_id: int, slot: str, now: dt.datetime, detail: str) -> None:
        """Keep the claim but let the next tick (of any process) retry it at once."""
        await self._write(("UPDATE digest_posts SET lease_until = ?, detail = ? WHERE guild_id = ? AND slot = ? "
                           "AND status = 'claimed'", (_ts(now), detail, guild_id, slot)))

    async def set_issue(self, guild_id: int, slot: str, issue_id: str) -> None:
        await self._write(("UPDATE digest_posts SET issue_id = ? WHERE guild_id = ? AND slot = ?",
                           (issue_id, guild_id, slot)))

    async def mark_posted(self, guild_id: int, slot: str, issue_id: str, message_id: int, now: dt.datetime) -> None:
        """Record the message and the issue as received, in one transaction."""
        await self._write(
            ("UPDATE digest_posts SET status = 'posted', message_id = ?, posted_at = ?, lease_until = NULL "
             "WHERE guild_id = ? AND slot = ?", (message_id, _ts(now), guild_id, slot)),
            ("INSERT INTO digest_received (guild_id, issue_id, slot, received_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT DO NOTHING", (guild_id, issue_id, slot, _ts(now))),
        )

    async def finish(self, guild_id: int, slot: str, status: Literal["failed", "missed"], detail: str) -> None:
        """Close a claim without a message; the slot stays taken."""
        await self._write(("UPDATE digest_posts SET status = ?, lease_until = NULL, detail = ? "
                           "WHERE guild_id = ? AND slot = ?", (status, detail, guild_id, slot)))


    # feeds

    @staticmethod
    def _feed(row: tuple[object, ...], items: int) -> FeedState:
        return FeedState(
            url=str(row[0]), name=str(row[1]), etag=_opt_str(row[2]), last_modified=_opt_str(row[3]),
            last_success=_parse_ts(row[4]), last_attempt=_parse_ts(row[5]), next_poll=_parse_ts(row[6]),
            failures=int(cast(int, row[7])), last_error=_opt_str(row[8]), disabled_reason=_opt_str(row[9]),
            polled_ok=bool(row[10]), config_hash=str(row[11]), notes=str(row[12]), items=items,
        )

    async def _feed_counts(self) -> dict[str, int]:
        rows = await self._rows("SELECT feed_url, COUNT(*) FROM feed_items GROUP BY feed_url")
        return {str(r[0]): int(cast(int, r[1])) for r in rows}

    async def feed_sync_config(self, feeds: Iterable[tuple[str, str, str]], now: dt.datetime) -> list[str]:
        """Register ``(url, name, config_hash)``; a changed hash (the feed's config entry changed) enables a
        disabled or failing feed again. Returns the urls that change re-enabled."""
        changed: list[str] = []
        for url, name, config_hash in feeds:
            rows = await self._rows("SELECT config_hash, disabled_reason, failures FROM feeds WHERE url = ?", (url,))
            if not rows:
                await self._write(("INSERT INTO feeds (url, name, config_hash) VALUES (?, ?, ?) "
                                   "ON CONFLICT (url) DO NOTHING", (url, name, config_hash)))
            elif str(rows[0][0]) != config_hash:
                if rows[0][1] is not None or int(cast(int, rows[0][2])):
                    changed.append(url)
                await self._write(("UPDATE feeds SET name = ?, config_hash = ?, failures = 0, disabled_reason = NULL,"
                                   " next_poll = ? WHERE url = ?", (name, config_hash, _ts(now), url)))
        return changed

    async def feed_get(self, url: str) -> FeedState | None:
        rows = await self._rows(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return self._feed(rows[0], (await self._feed_counts()).get(url, 0)) if rows else None

    async def feed_all(self) -> list[FeedState]:
        counts = await self._feed_counts()
        rows = await self._rows(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY url")
        return [self._feed(r, counts.get(str(r[0]), 0)) for r in rows]

    async def feed_success(self, url: str, *, etag: str | None, last_modified: str | None, now: dt.datetime,
                           next_poll: dt.datetime, notes: str | None) -> None:
        # A 304 keeps the notes of the poll that last read the body (notes=None).
        await self._write((
            "UPDATE feeds SET etag = ?, last_modified = ?, last_success = ?, last_attempt = ?, next_poll = ?, "
            "failures = 0, last_error = NULL, disabled_reason = NULL, polled_ok = 1, "
            "notes = COALESCE(CAST(? AS TEXT), notes) WHERE url = ?",
            (etag, last_modified, _ts(now), _ts(now), _ts(next_poll), notes, url)))

    async def feed_failure(self, url: str, *, error: str, now: dt.datetime, next_poll: dt.datetime,
                           disabled_reason: str | None) -> None:
        await self._write((
            "UPDATE feeds SET failures = failures + 1, last_error = ?, last_attempt = ?, next_poll = ?, "
            "disabled_reason = ? WHERE url = ?", (error, _ts(now), _ts(next_poll), disabled_reason, url)))

    async def feed_retry(self, url: str | None, now: dt.datetime) -> list[str]:
        if url is None:
            rows = await self._rows("SELECT url FROM feeds ORDER BY url")
            await self._write(("UPDATE feeds SET failures = 0, disabled_reason = NULL, next_poll = ?", (_ts(now),)))
        else:
            rows = await self._rows("SELECT url FROM feeds WHERE url = ?", (url,))
            await self._write(("UPDATE feeds SET failures = 0, disabled_reason = NULL, next_poll = ? WHERE url = ?",
                               (_ts(now), url)))
        return [str(r[0]) for r in rows]

    async def feed_items(self, url: str) -> dict[str, ItemRecord]:
        rows = await self._rows("SELECT key, path, content_hash, owned, issue_id FROM feed_items WHERE feed_url = ?",
                                (url,))
        return {str(r[0]): ItemRecord(str(r[0]), str(r[1]), str(r[2]), bool(r[3]), str(r[4])) for r in rows}

    async def feed_put_item(self, url: str, record: ItemRecord, now: dt.datetime) -> None:
        await self._write((
            "INSERT INTO feed_items (feed_url, key, path, content_hash, owned, issue_id, first_seen, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed_url, key) DO UPDATE SET path = excluded.path, "
            "content_hash = excluded.content_hash, owned = excluded.owned, issue_id = excluded.issue_id, "
            "updated_at = excluded.updated_at",
            (url, record.key, record.path, record.content_hash, int(record.owned), record.issue_id, _ts(now),
             _ts(now))))

    async def feed_add_quiet(self, issue_ids: Collection[str], now: dt.datetime) -> None:
        if issue_ids:
            await self._write(*(("INSERT INTO feed_quiet (issue_id, at) VALUES (?, ?) ON CONFLICT (issue_id) "
                                 "DO NOTHING", (i, _ts(now))) for i in sorted(set(issue_ids))))

    async def quiet_issues(self) -> frozenset[str]:
        return frozenset(str(r[0]) for r in await self._rows("SELECT issue_id FROM feed_quiet"))


# -- SQLite ----------------------------------------------------------------------------------------

async def _retry_locked(step: Callable[[], Awaitable[object]], attempts: int = 50) -> None:
    """Run ``step``, retrying "database is locked". SQLite skips its busy timeout in a few cases (two
    connections turning a new file to WAL at once, WAL recovery) and answers SQLITE_BUSY at once instead."""
    for attempt in range(attempts):
        try:
            await step()
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1)

class SqliteStore(SqlStore):
    """The embedded default: one file, one aiosqlite connection per process (processes on one host may share
    the file; SQLite's file lock serialises their writes). Open with :meth:`open`."""

    backend = "sqlite"

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        # One connection, one transaction at a time: without this, a tick and a digest-now running
        # together could commit (or roll back) each other's half-done writes.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(path, timeout=5.0)
        except sqlite3.Error as err:
            raise StoreError(f"{path}: cannot open the state database ({err})") from None
        try:
            store = cls(db, path)
            try:
                await _retry_locked(lambda: db.execute("PRAGMA journal_mode=WAL"))
            except sqlite3.OperationalError as err:
                if not _is_read_only(err):
                    raise
                store.read_only = True  # a read-only file keeps its journal mode, and can still be read
            else:
                store.read_only = not await store._writable()
            await store.is_empty()  # a read: "file is not a database" shows here at the latest
        except sqlite3.DatabaseError as err:
            await db.close()
            # "file is not a database": a text file, a truncated copy, another program's data.
            raise StoreError(f"{path}: not a usable SQLite state database ({err}); move it away to start "
                             "afresh") from None
        except BaseException:
            await db.close()
            raise
        return store

    async def _writable(self) -> bool:
        """Whether a write would succeed: a read-only file opens and reads fine, and fails only at a write."""
        try:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                await self.db.execute("CREATE TABLE newsbot_write_probe (x)")
            finally:
                await self.db.rollback()
        except sqlite3.OperationalError as err:
            if _is_read_only(err):
                return False
            raise
        return True

    async def close(self) -> None:
        await self.db.close()

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        async with self.db.execute(sql, params) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def _write(self, *statements: Statement) -> int:
        if self.read_only:
            raise StoreReadOnly(f"the state database {self.path} is read-only, so this cannot be saved; "
                                "ask the bot's operator to make it writable")
        async with self._write_lock:
            try:
                changed = -1
                for sql, params in statements:
                    async with self.db.execute(sql, params) as cur:
                        count = len(list(await cur.fetchall())) if "RETURNING" in sql else cur.rowcount
                        if changed < 0:
                            changed = count
                await self.db.commit()
            except BaseException:
                # Never leave a write transaction open: it would hold the database lock for every other process.
                await self.db.rollback()
                raise
            return changed

    async def is_empty(self) -> bool:
        """True for a database with no tables at all (a new file)."""
        return not await self._rows("SELECT name FROM sqlite_master WHERE type = 'table'")

    async def schema_version(self) -> int:
        if not await self._rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"):
            return 0
        rows = await self._rows("SELECT MAX(version) FROM schema_version")
        return int(cast(int, rows[0][0] or 0))

    async def _migrate(self) -> tuple[int, int]:
        async with self._write_lock:
            # BEGIN IMMEDIATE takes the write lock first, so two `newsbot migrate` runs apply each step once.
            await _retry_locked(lambda: self.db.execute("BEGIN IMMEDIATE"))
            try:
                await self.db.execute("CREATE TABLE IF NOT EXISTS schema_version "
                                      "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                async with self.db.execute("SELECT MAX(version) FROM schema_version") as cur:
                    row = await cur.fetchone()
                before = int(row[0] or 0) if row else 0
                for version in range(before + 1, SCHEMA_VERSION + 1):
                    for sql in MIGRATIONS[version - 1]:
                        await self.db.execute(sql)
                    await self.db.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                                          (version, _ts(dt.datetime.now(dt.UTC))))
                await self.db.commit()
            except BaseException:
                await self.db.rollback()
                raise
        return before, max(before, SCHEMA_VERSION)


# -- PostgreSQL ------------------------------------------------------------------------------------

def to_dollar(sql: str) -> str:
    """SQLite's ``?`` placeholders as PostgreSQL's ``$1, $2, …`` (our statements hold no literal ``?``).

    >>> to_dollar("UPDATE t SET a = ? WHERE b = ? AND c = 'x'")
    "UPDATE t SET a = $1 WHERE b = $2 AND c = 'x'"
    """
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


def _pg_unavailable() -> tuple[type[BaseException], ...]:
    import asyncpg

    # 08xxx (connection), 57xxx (shutdown, cannot connect now), a closed connection, the network, a timeout, and
    # the protocol state error asyncpg raises when the server cuts a connection in the middle of a query (seen
    # in tests/system/test_multihost.py when PostgreSQL stops): the pool drops that connection and the next tick
    # retries.
    return (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
            asyncpg.InterfaceError, asyncpg.InternalClientError)


class PostgresStore(SqlStore):
    """Shared state in PostgreSQL through an asyncpg pool, for shard processes on several hosts.

    The pool is created by the launcher (:func:`open_store`) and closed with the store. Each write is one
    transaction on one pooled connection; the claim and the takeover are each a single statement, so no lock
    is ever held across a Discord call."""

    backend = "postgresql"

    def __init__(self, pool: Any, where: str) -> None:
        self.pool = pool
        self.where = where
        self._unavailable = _pg_unavailable()

    @classmethod
    async def connect(cls, url: str, *, wait: float = 10.0) -> PostgresStore:
        try:
            import asyncpg
        except ImportError:
            # asyncpg is an optional extra: the SQLite default must install without a compiler or libpq.
            raise StoreError("storage.url: a PostgreSQL store needs asyncpg: pip install 'newsbot[postgres]'") from None

        where = describe_url(url)
        try:
            # min_size=0: a process that only answers /ask holds no idle connection, and a restarted server is
            # met with fresh connections. command_timeout: a blackholed server fails a tick, never hangs it.
            pool = await asyncpg.create_pool(url, min_size=0, max_size=4, timeout=wait, command_timeout=wait)
            async with pool.acquire(timeout=wait) as conn:
                await conn.fetchval("SELECT 1")
        except asyncpg.InvalidPasswordError:
            raise StoreError(f"PostgreSQL at {where} refused the password (from the URL or PGPASSWORD)") from None
        except asyncpg.InvalidCatalogNameError:
            raise StoreError(f"PostgreSQL at {where}: the database does not exist; create it first") from None
        except _pg_unavailable() as err:
            raise StoreError(f"cannot reach PostgreSQL at {where}: {_reason(err)}. Is the server up, and "
                             "storage.url (or the PG* variables) right?") from None
        return cls(pool, where)

    async def close(self) -> None:
        await self.pool.close()

    def _down(self, err: BaseException) -> StoreUnavailable:
        return StoreUnavailable(f"PostgreSQL at {self.where} is unreachable: {_reason(err)}")

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            async with self.pool.acquire() as conn:
                return [tuple(r) for r in await conn.fetch(to_dollar(sql), *params)]
        except self._unavailable as err:
            raise self._down(err) from err

    async def _write(self, *statements: Statement) -> int:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                changed = -1
                for sql, params in statements:
                    if "RETURNING" in sql:
                        count = len(await conn.fetch(to_dollar(sql), *params))
                    else:
                        status = await conn.execute(to_dollar(sql), *params)  # "UPDATE 1", "INSERT 0 1"
                        count = int(status.rsplit(" ", 1)[-1])
                    if changed < 0:
                        changed = count
                return changed
        except self._unavailable as err:
            raise self._down(err) from err

    async def schema_version(self) -> int:
        rows = await self._rows("SELECT to_regclass('schema_version') IS NOT NULL")
        if not rows[0][0]:
            return 0
        rows = await self._rows("SELECT MAX(version) FROM schema_version")
        return int(cast(int, rows[0][0] or 0))

    async def _migrate(self) -> tuple[int, int]:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                # A transaction-scoped lock, released at commit: two `newsbot migrate` runs apply each step once.
                await conn.execute("SELECT pg_advisory_xact_lock(7243311)")
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_version "
                                   "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                before = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
                for version in range(before + 1, SCHEMA_VERSION + 1):
                    for sql in MIGRATIONS[version - 1]:
                        await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                                       version, _ts(dt.datetime.now(dt.UTC)))
        except self._unavailable as err:
            raise self._down(err) from err
        return before, max(before, SCHEMA_VERSION)


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0]


# -- opening ---------------------------------------------------------------------------------------

def is_postgres_url(url: str) -> bool:
    """
    >>> is_postgres_url("postgresql://bot@db/newsbot"), is_postgres_url("postgres://db"), is_postgres_url("a.db")
    (True, True, False)
    """
    return url.startswith(("postgresql://", "postgres://"))


def _is_read_only(err: sqlite3.OperationalError) -> bool:
    return str(getattr(err, "sqlite_errorname", "")).startswith("SQLITE_READONLY") or "readonly" in str(err)


async def open_store(url: str, *, create: bool = False, check: bool = True) -> SqlStore:
    """Open the store named by ``storage.url``: a SQLite path, or ``postgresql://…`` (the password from the URL
    or the standard ``PG*`` variables; never logged).

    ``create``: a new, empty SQLite file gets the current schema (the embedded default needs no deploy step;
    PostgreSQL always takes ``newsbot migrate``). ``check``: refuse a schema older or newer than this code
    (:class:`SchemaMismatch`). An unreachable server is a :class:`StoreError` that says what to check."""
    store: SqlStore
    if is_postgres_url(url):
        store = await PostgresStore.connect(url)
    else:
        sqlite = await SqliteStore.open(Path(url).expanduser())
        store = sqlite
    try:
        if create and isinstance(store, SqliteStore) and await store.is_empty():
            if store.read_only:
                raise StoreReadOnly(f"{store.path}: read-only and empty, so the state database cannot be created")
            await store.migrate()
        if check:
            await store.check_schema()
    except BaseException:
        await store.close()
        raise
    return store


def describe_url(url: str) -> str:
    """The store's address for logs and messages: never the password.

    >>> describe_url("postgresql://bot:s3cret@db.internal:5432/newsbot")
    'postgresql://bot@db.internal:5432/newsbot'
    >>> describe_url("/var/lib/newsbot/state.sqlite3")
    'sqlite:/var/lib/newsbot/state.sqlite3'
    """
    if not is_postgres_url(url):
        return f"sqlite:{url}"
    scheme, _, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}{at}{hostpart}"


async def migrate_store(url: str) -> tuple[int, int, str]:
    """``newsbot migrate``: apply the missing migrations; (version before, after, where)."""
    store = await open_store(url, check=False)
    try:
        before, after = await store.migrate()
    finally:
        await store.close()
    return before, after, describe_url(url)
