"""The SQLite driver, the embedded default: one file, one aiosqlite connection per process.

Processes on one host may share the file; SQLite's file lock serialises their writes. Rows come back as
``aiosqlite.Row``, read by column name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

from bot.errors import StoreError, StoreReadOnly
from bot.store.base import Row, Statement, as_int, ts
from bot.store.schema import SCHEMA_VERSION, VERSION_TABLE, pending
from bot.store.sql import SqlStore


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


def _is_read_only(err: sqlite3.OperationalError) -> bool:
    return str(getattr(err, "sqlite_errorname", "")).startswith("SQLITE_READONLY") or "readonly" in str(err)


class SqliteStore(SqlStore):
    """The store in one SQLite file. Open with :meth:`open`."""

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
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a state database file; name a file, e.g. "
                             f"{path / 'newsbot.sqlite3'}")
        connecting = aiosqlite.connect(path, timeout=5.0)
        try:
            db = await connecting
        except sqlite3.Error as err:
            # aiosqlite stops its worker thread without waiting for it; unwaited, the thread reports to a closed
            # event loop and prints a traceback at exit.
            await asyncio.to_thread(connecting._thread.join, 5.0)
            raise StoreError(f"{path}: cannot open the state database ({err})") from None
        db.row_factory = aiosqlite.Row
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

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        async with self.db.execute(sql, params) as cur:
            return list(await cur.fetchall())

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
        rows = await self._rows("SELECT MAX(version) AS version FROM schema_version")
        return as_int(rows[0]["version"] or 0)

    async def _migrate(self) -> tuple[int, int]:
        async with self._write_lock:
            # BEGIN IMMEDIATE takes the write lock first, so two `newsbot migrate` runs apply each step once.
            await _retry_locked(lambda: self.db.execute("BEGIN IMMEDIATE"))
            try:
                await self.db.execute(VERSION_TABLE)
                async with self.db.execute("SELECT MAX(version) AS version FROM schema_version") as cur:
                    row = await cur.fetchone()
                before = as_int(row["version"] or 0) if row else 0
                for version, statements in pending(before):
                    for sql in statements:
                        await self.db.execute(sql)
                    await self.db.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                                          (version, ts(dt.datetime.now(dt.UTC))))
                await self.db.commit()
            except BaseException:
                await self.db.rollback()
                raise
        return before, max(before, SCHEMA_VERSION)
