"""The PostgreSQL driver: shared state through an asyncpg pool, for shard processes on several hosts.

asyncpg is an optional extra (``newsbot[postgres]``), imported only when a ``postgresql://`` store is opened.
Statements arrive with SQLite's ``?`` placeholders and run as ``$1, $2, …``; rows are asyncpg Records, read
by column name. A lost server becomes :class:`bot.errors.StoreUnavailable`, which the next tick retries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.errors import StoreError, StoreUnavailable
from bot.store.base import Row, Statement, as_int, ts
from bot.store.schema import SCHEMA_VERSION, VERSION_TABLE, pending
from bot.store.sql import SqlStore
from bot.store.url import describe_url


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


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0]


class PostgresStore(SqlStore):
    """The store in PostgreSQL. The pool is created by :meth:`connect` and closed with the store. Each write is
    one transaction on one pooled connection; the claim and the takeover are each a single statement, so no
    lock is ever held across a Discord call."""

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
        except asyncpg.InvalidAuthorizationSpecificationError as err:  # no such role, or pg_hba.conf refuses it
            raise StoreError(f"PostgreSQL at {where} refused the login: {err}") from None
        except _pg_unavailable() as err:
            raise StoreError(f"cannot reach PostgreSQL at {where}: {_reason(err)}. Is the server up, and "
                             "storage.url (or the PG* variables) right?") from None
        return cls(pool, where)

    async def close(self) -> None:
        await self.pool.close()

    def _down(self, err: BaseException) -> StoreUnavailable:
        return StoreUnavailable(f"PostgreSQL at {self.where} is unreachable: {_reason(err)}")

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        try:
            async with self.pool.acquire() as conn:
                return list(await conn.fetch(to_dollar(sql), *params))
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
        rows = await self._rows("SELECT to_regclass('schema_version') IS NOT NULL AS present")
        if not rows[0]["present"]:
            return 0
        rows = await self._rows("SELECT MAX(version) AS version FROM schema_version")
        return as_int(rows[0]["version"] or 0)

    async def _migrate(self) -> tuple[int, int]:
        import asyncpg

        try:
            async with self.pool.acquire() as conn, conn.transaction():
                # A transaction-scoped lock, released at commit: two `newsbot migrate` runs apply each step once.
                await conn.execute("SELECT pg_advisory_xact_lock(7243311)")
                await conn.execute(VERSION_TABLE)
                before = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
                for version, statements in pending(before):
                    for sql in statements:
                        await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                                       version, ts(dt.datetime.now(dt.UTC)))
        except self._unavailable as err:
            raise self._down(err) from err
        except asyncpg.InsufficientPrivilegeError as err:
            raise StoreError(f"PostgreSQL at {self.where}: this role may not create the tables ({err}); grant it "
                             "CREATE on the schema, or run `newsbot migrate` as the database's owner") from None
        return before, max(before, SCHEMA_VERSION)
