"""Per-feed state: validators, last success, consecutive failures, why a feed is off, and seen items.

The values and :class:`FeedStore`, the part of the state store the poller uses. The SQL is in
:class:`bot.digest.store.SqlStore` (tables ``feeds``, ``feed_items``, ``feed_quiet``), so ``newsbot ingest``
and ``newsbot run`` share what they have seen, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol


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
    """What the poller needs from the state store. :class:`bot.digest.store.SqlStore` implements it (SQLite and
    PostgreSQL, schema version 3), so feed state lives beside the digest state it feeds."""

    async def feed_sync_config(self, feeds: Iterable[tuple[str, str, str]], now: dt.datetime) -> list[str]: ...
    async def feed_get(self, url: str) -> FeedState | None: ...
    async def feed_all(self) -> list[FeedState]: ...
    async def feed_success(self, url: str, *, etag: str | None, last_modified: str | None, now: dt.datetime,
                           next_poll: dt.datetime, notes: str | None) -> None: ...
    async def feed_failure(self, url: str, *, error: str, now: dt.datetime, next_poll: dt.datetime,
                           disabled_reason: str | None) -> None: ...
    async def feed_retry(self, url: str | None, now: dt.datetime) -> list[str]: ...
    async def feed_items(self, url: str) -> dict[str, ItemRecord]: ...
    async def feed_put_item(self, url: str, record: ItemRecord, now: dt.datetime) -> None: ...
    async def feed_add_quiet(self, issue_ids: Collection[str], now: dt.datetime) -> None: ...
    async def quiet_issues(self) -> frozenset[str]:
        """Issues stored without an announcement (a feed's first poll): no digest posts them."""
        ...
