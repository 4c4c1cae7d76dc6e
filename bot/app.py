"""The composition root: one async builder for every way newsbot runs (``run``, ``console``, ``ingest``).

Each part is built once, in dependency order, and passed to what needs it: the shared store, then the
:class:`~bot.library.Library` (archive and engine as one object, reindexed in place), then the digest
scheduler and the feed service on that library, then the service (:class:`~bot.commands.Newsbot`) on all of
them. A surface then builds its own front on top: the console reads lines, the Discord launcher builds the
client around the service, and the client builds the digest poster around itself. Nothing is bound late.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import msgspec

from bot.commands import Newsbot
from bot.config import Config
from bot.library import Libraries, Library, cache_path
from retrieval.cache import QueryCache

if TYPE_CHECKING:
    from bot.alerts.service import AlertService
    from bot.digest.scheduler import DigestScheduler
    from bot.feeds.service import FeedService
    from bot.feeds.sync import FolderSync
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
    """The default archive's library."""
    store: Store | None
    """The shared state store (digests, feeds); the console opens it only when feeds are configured."""
    scheduler: DigestScheduler | None
    """The default archive's digest state machine (``discord`` only)."""
    feeds: FeedService | None
    """The default archive's feed poller, when the config names feeds (and always for ``ingest``)."""
    commands: Newsbot | None
    """The service (``console`` and ``discord``)."""
    libraries: Libraries | None = None
    """Every archive (``library`` is the default one's)."""
    schedulers: Mapping[str, DigestScheduler] = dataclasses.field(default_factory=dict)
    """Every archive's digest scheduler by name (``scheduler`` is the default archive's)."""
    feed_services: Mapping[str, FeedService] = dataclasses.field(default_factory=dict)
    """Every archive's feed poller by name, for the archives with feeds (``feeds`` is the default archive's)."""
    alerts: Mapping[str, AlertService] = dataclasses.field(default_factory=dict)
    """Keyword alerts' sender side by archive (``discord`` only): the client runs their loops with a DM sender."""

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
    # ingest imports into the default archive only; every other surface serves every configured archive.
    specs = config.archive_specs if surface != "ingest" else config.archive_specs[:1]
    with_feeds = {s.name for s in specs if s.path and (s.feeds or surface == "ingest")}
    fetch = surface == "ingest" or (surface == "discord" and (shards is None or 0 in shards[0]))
    async with contextlib.AsyncExitStack() as resources:
        store = None
        if surface != "console" or with_feeds:
            from bot.store import open_store

            store = await open_store(config.storage_url, create=True)
            resources.push_async_callback(store.close)
        syncs: dict[str, FolderSync] = {}
        if store is not None and store.backend == "postgresql" and surface != "console":
            from bot.feeds.sync import FolderSync

            for spec in (s for s in specs if s.path):
                # Several hosts, no shared filesystem: the feed files live in the store too (each archive's its
                # own), and this host's folder is synced from it before the index is built (and at every poll).
                syncs[spec.name] = FolderSync(store.scoped(spec.name), spec.resolved)
                await syncs[spec.name].first(publish=fetch and spec.name in with_feeds, now=_utcnow())
                if surface == "discord":  # a host without feeds still runs the poll loop (fetching nothing)
                    with_feeds.add(spec.name)
        libraries = Libraries([await Library.load(config, spec, progress=progress, search=surface != "ingest",
                                                  missing_ok=surface == "ingest") for spec in specs], store=store)
        schedulers: dict[str, DigestScheduler] = {}
        if surface == "discord":
            from bot.digest.schedule import owned_by
            from bot.digest.scheduler import DigestScheduler

            assert store is not None
            for library in libraries:
                # Unsharded, one process is shard 0 of 1: it owns every guild. A guild's digest is per archive.
                schedulers[library.name] = DigestScheduler(
                    store.scoped(library.name), library, clock=clock or _utcnow, defaults=config.digest,
                    owns_guild=owned_by(*(shards or ([0], 1))))
        feed_services: dict[str, FeedService] = {}
        for library in libraries:
            if library.name not in with_feeds:
                continue
            from bot.feeds.service import FeedService

            assert store is not None
            # The limits are [archive]'s, for every archive; the folder and the feeds are the archive's own.
            own = msgspec.structs.replace(config.archive, path=library.spec.path, feeds=library.spec.feeds)
            service = FeedService(own, store, library.spec.resolved, library=library, fetch=fetch,
                                  sync=syncs.get(library.name))
            resources.push_async_callback(service.close)
            await service.setup()
            feed_services[library.name] = service
        alerts: dict[str, AlertService] = {}
        if surface == "discord":
            from bot.alerts.service import AlertService

            assert store is not None
            for library in libraries:
                alerts[library.name] = sender = AlertService(store, library, config.alerts, archive=library.name)
                library.on_change(sender.wake)  # a reindex (feed poll, folder change, /reindex) may bring new issues
        commands = None
        if surface != "ingest":
            from bot.alerts.book import AlertBook

            book = AlertBook(config.alerts, _StoreOnFirstUse(config.storage_url, store, resources),
                             direct=surface == "discord")
            cache = QueryCache(cache_path(config.db_path), ttl_seconds=config.cache.ttl_seconds,
                               max_entries=config.cache.max_entries)
            await cache.open()
            resources.push_async_callback(cache.close)
            commands = Newsbot(config, libraries, cache, schedulers=schedulers, feed_services=feed_services,
                               alerts=book, inline_search=surface == "console")
        default = libraries.default.name
        yield App(config, libraries.default, store, schedulers.get(default), feed_services.get(default), commands,
                  libraries, schedulers, feed_services, alerts)
