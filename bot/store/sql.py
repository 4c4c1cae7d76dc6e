"""The whole store on one driver: the digest, feed and alert tables together, as one class.

:class:`SqlStore` is what :func:`bot.store.open_store` returns and what each driver (:mod:`bot.store.sqlite`,
:mod:`bot.store.postgres`) subclasses, supplying only how statements run.
"""

from __future__ import annotations

from bot.store.alerts import AlertTables
from bot.store.digest import DigestTables
from bot.store.feeds import FeedTables


class SqlStore(DigestTables, FeedTables, AlertTables):
    """The statements of :class:`bot.store.protocol.Store`; a driver supplies ``_rows``, ``_write``,
    ``_migrate``, ``schema_version`` and ``close``."""
