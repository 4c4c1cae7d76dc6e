"""The shared state store: digest settings and claims, feed state, and small key/value records.

What importers need is here: :func:`open_store` and :func:`migrate_store`, the :class:`Store` protocol (and
:class:`FeedStore`, the poller's part), the record types, and :func:`describe_url`. Inside, one driver per
backend behind one small interface (:class:`bot.store.base.Driver`):

* :mod:`bot.store.schema`: the migrations, as data appended in order;
* :mod:`bot.store.digest` and :mod:`bot.store.feeds`: the SQL of each group of tables, written once;
* :mod:`bot.store.sqlite` and :mod:`bot.store.postgres`: how each backend runs it.

Nothing here opens a connection at import time; the launcher opens the store and passes it in.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import SchemaMismatch, StoreError, StoreReadOnly, StoreUnavailable
from bot.store.postgres import PostgresStore
from bot.store.protocol import AlertStore, FeedStore, Store
from bot.store.records import AlertClaim, AlertStatus, FeedState, ItemRecord, PostRecord, PostStatus, Subscription
from bot.store.schema import MIGRATIONS, SCHEMA_VERSION
from bot.store.sql import SqlStore
from bot.store.sqlite import SqliteStore
from bot.store.url import describe_url, is_postgres_url

__all__ = [
    "MIGRATIONS", "SCHEMA_VERSION", "AlertClaim", "AlertStatus", "AlertStore", "FeedState", "FeedStore",
    "ItemRecord", "PostRecord", "PostStatus",
    "PostgresStore", "SchemaMismatch", "SqlStore", "SqliteStore", "Store", "StoreError", "StoreReadOnly",
    "StoreUnavailable", "Subscription", "describe_url", "is_postgres_url", "migrate_store", "open_store",
]


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
        store = await SqliteStore.open(Path(url).expanduser())
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


async def migrate_store(url: str) -> tuple[int, int, str]:
    """``newsbot migrate``: apply the missing migrations; (version before, after, where)."""
    store = await open_store(url, check=False)
    try:
        before, after = await store.migrate()
    finally:
        await store.close()
    return before, after, describe_url(url)
