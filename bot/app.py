"""The composition root: one async builder for every way newsbot runs (``run``, ``console``, ``ingest``).

Each part is built once, in dependency order, and passed to what needs it: the shared store, then the
:class:`~bot.library.Library` (archive and engine as one object, reindexed in place), then the digest
scheduler and the feed service on that library, then the service (:class:`~bot.commands.Newsbot`) on all of
them. A surface then builds its own front on top: the console reads lines, the Discord launcher builds the
client around the service, and the client builds the digest poster around itself. Nothing is bound late.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.commands import Newsbot
from bot.config import Config
from bot.library import Library, cache_path
from retrieval.cache import QueryCache

if TYPE_CHECKING:
    from bot.alerts.service import AlertService
    from bot.digest.scheduler import DigestScheduler
    from bot.feeds.service import FeedService
    from bot.store import Store
    from bot.store.protocol import AlertStore

Surface = Literal["console", "discord", "ingest"]
"""``console``: the commands, no digest posting, feeds shown but never polled. ``discord``: everything.
``ingest``: the archive and the feed service only (a one-shot import needs no index and no commands)."""

Shards = tuple[list[int], int]
"""``(shard ids this process runs, total shard count)``."""


@dataclass(frozen=True, slots=True)
class App:
    """What one process runs on. Built and closed by :func:`build_app`."""

    config: Config
    library: Library
    store: Store | None
    """The shared state store (digests, feeds); the console opens it only when feeds are configured."""
    scheduler: DigestScheduler | None
    """The digest's state machine (``discord`` only)."""
    feeds: FeedService | None
    """The feed poller, when the config names feeds (and always for ``ingest``)."""
    commands: Newsbot | None
    """The service (``console`` and ``discord``)."""
    alerts: AlertService | None = None
    """Keyword alerts' sender side (``discord`` only): the client runs its loop with a DM sender."""

    @property
    def service(self) -> Newsbot:
        if self.commands is None:
            raise RuntimeError("this app was built for ingest: it has no commands")
        return self.commands


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _StoreOnFirstUse:
    """The store for keyword alerts: the one the app opened, or (a console without feeds) one opened at the
    first /subscribe and closed with the app, so a console that never subscribes starts without it."""

    def __init__(self, url: str, store: Store | None, resources: contextlib.AsyncExitStack) -> None:
        self._url = url
        self._store = store
        self._resources = resources

    async def __call__(self) -> AlertStore:
        if self._store is None:
            from bot.store import open_store

            store = await open_store(self._url, create=True)
            if self._store is not None:  # another command opened it meanwhile
                await store.close()
            else:
                self._store = store
                self._resources.push_async_callback(store.close)
        return self._store


@contextlib.asynccontextmanager
async def build_app(config: Config, surface: Surface, *, progress: bool = False, shards: Shards | None = None,
                    clock: Callable[[], dt.datetime] | None = None) -> AsyncIterator[App]:
    """Build everything ``surface`` needs, yield it, and close it all on the way out, whatever fails.

    ``shards`` (``discord``): shard ownership routes digest work to the process that has the guild's events; it
    is not what keeps a digest single (the store's claim is), so a zombie holding the same shard cannot
    double-post. Shard 0's process fetches feeds and writes; every process watches the folder and reindexes. With
    PostgreSQL the written files go to the store too, and every process syncs its own folder from it
    (:mod:`bot.feeds.sync`), so hosts need no shared filesystem.
    ``clock``: the digest schedule's "now" (tests run weeks of schedule in seconds)."""
    # The store drivers, the scheduler and the feed poller (aiohttp, feedparser, markdownify) are imported only
    # where this surface uses them: a console without feeds starts without them (about 0.25 s of start-up).
    has_feeds = bool(config.archive.path) and (bool(config.archive.feeds) or surface == "ingest")
    fetch = surface == "ingest" or (surface == "discord" and (shards is None or 0 in shards[0]))
    async with contextlib.AsyncExitStack() as resources:
        store = None
        if surface != "console" or has_feeds:
            from bot.store import open_store

            store = await open_store(config.storage_url, create=True)
            resources.push_async_callback(store.close)
        sync = None
        if store is not None and store.backend == "postgresql" and config.archive.path and surface != "console":
            from bot.feeds.sync import FolderSync

            # Several hosts, no shared filesystem: the feed files live in the store too, and this host's folder
            # is synced from it before the index is built (and at every poll cycle after).
            sync = FolderSync(store, config.archive.resolved)
            await sync.first(publish=fetch and has_feeds, now=_utcnow())
            # A host without feeds configured still runs the poll loop (fetching nothing), to keep syncing.
            has_feeds = has_feeds or surface == "discord"
        library = await Library.load(config, progress=progress, search=surface != "ingest",
                                     missing_ok=surface == "ingest")
        scheduler = None
        if surface == "discord":
            from bot.digest.schedule import owned_by
            from bot.digest.scheduler import DigestScheduler

            assert store is not None
            # Unsharded, one process is shard 0 of 1: it owns every guild.
            scheduler = DigestScheduler(store, library, clock=clock or _utcnow, defaults=config.digest,
                                        owns_guild=owned_by(*(shards or ([0], 1))))
        feeds = None
        if has_feeds:
            from bot.feeds.service import FeedService

            assert store is not None
            feeds = FeedService(config.archive, store, config.archive.resolved, library=library, fetch=fetch,
                                sync=sync)
            resources.push_async_callback(feeds.close)
            await feeds.setup()
        alerts = None
        if surface == "discord":
            from bot.alerts.service import AlertService

            assert store is not None
            alerts = AlertService(store, library, config.alerts)
            library.on_change(alerts.wake)  # a reindex (feed poll, folder change, /reindex) may bring new issues
        commands = None
        if surface != "ingest":
            from bot.alerts.book import AlertBook

            book = AlertBook(config.alerts, _StoreOnFirstUse(config.storage_url, store, resources),
                             direct=surface == "discord")
            cache = QueryCache(cache_path(config.db_path), ttl_seconds=config.cache.ttl_seconds,
                               max_entries=config.cache.max_entries)
            await cache.open()
            resources.push_async_callback(cache.close)
            commands = Newsbot(config, library, cache, scheduler=scheduler, feeds=feeds, alerts=book)
        yield App(config, library, store, scheduler, feeds, commands, alerts)
