"""The driver interface: what a backend (SQLite, PostgreSQL) supplies, and the schema checks built on it.

A driver says how to run statements: :meth:`Driver._rows` for a read, :meth:`Driver._write` for one
transaction of writes, :meth:`Driver._migrate` and :meth:`Driver.schema_version` for the schema. The table
modules (:mod:`bot.store.digest`, :mod:`bot.store.feeds`) hold the SQL, written once with ``?`` placeholders,
and read every row by column name. Also here: the value codecs those modules share.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import socket
from typing import Protocol, Self, cast

from bot.errors import SchemaMismatch
from bot.store.schema import DEFAULT_ARCHIVE, SCHEMA_VERSION, mismatch_message

Statement = tuple[str, tuple[object, ...]]
"""One SQL statement with ``?`` placeholders, and its parameters."""


class Row(Protocol):
    """A result row read by column name: ``aiosqlite.Row`` and asyncpg's ``Record`` both are one."""

    def __getitem__(self, key: str, /) -> object: ...


def ts(value: dt.datetime) -> str:
    """A stored timestamp: fixed width and always UTC, so the text sorts like the instant and SQL can compare
    leases as text.

    >>> ts(dt.datetime(2021, 3, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    '2021-03-01T09:00:00.000000+00:00'
    """
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_ts(value: object) -> dt.datetime | None:
    """
    >>> parse_ts("2021-03-01T09:00:00.000000+00:00"), parse_ts(None)
    (datetime.datetime(2021, 3, 1, 9, 0, tzinfo=datetime.timezone.utc), None)
    """
    return None if value is None else dt.datetime.fromisoformat(str(value))


def as_int(value: object) -> int:
    """
    >>> as_int(3), as_int(True)
    (3, 1)
    """
    return int(cast(int, value))


def opt_int(value: object) -> int | None:
    """
    >>> opt_int(81384788765712384), opt_int(None)
    (81384788765712384, None)
    """
    return None if value is None else as_int(value)


def opt_str(value: object) -> str | None:
    """
    >>> opt_str("x"), opt_str(None)
    ('x', None)
    """
    return None if value is None else str(value)


class Driver:
    """One backend's way to run the store's statements; subclasses supply the methods that raise here."""

    backend = "sql"
    read_only = False
    owner = f"{socket.gethostname()}:{os.getpid()}"
    """Written into the claims this process takes (``claimed_by``)."""
    archive = DEFAULT_ARCHIVE
    """The archive the digest and feed-file statements are about; :meth:`scoped` gives a store for another."""

    def scoped(self, archive: str) -> Self:
        """This store (the same connection, closed with it) with the digest and feed-file statements about
        ``archive``: each archive's scheduler and folder sync gets one, so none of them passes the name around."""
        view = copy.copy(self)
        view.archive = archive
        return view

    async def close(self) -> None:
        raise NotImplementedError

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        """Run one read; its rows, each read by column name."""
        raise NotImplementedError

    async def _write(self, *statements: Statement) -> int:
        """Run statements as one transaction; return the rows changed (or returned) by the first."""
        raise NotImplementedError

    async def _migrate(self) -> tuple[int, int]:
        """Apply :func:`bot.store.schema.pending` in one transaction that only one caller runs at a time."""
        raise NotImplementedError

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
