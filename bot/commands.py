"""newsbot's commands, written once and free of any transport.

Each command takes plain values and returns a typed, immutable result. The console adapter and the
Discord adapter parse their input into these calls and render the results their own way; neither
contains search, SQL or repair code.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.config import Config
from bot.digest.schedule import DigestSettings, describe, nothing_to_post
from bot.digest.scheduler import DigestScheduler
from bot.errors import StoreUnavailable
from bot.results import (
    COMMANDS,
    ISSUE_HELP,
    ISSUES_PER_PAGE,
    AskResult,
    DigestPreview,
    FeaturesResult,
    FeedRetryResult,
    HelpResult,
    IssueListResult,
    IssueResult,
    ReindexResult,
    StatsResult,
    features_of,
)
from retrieval.archive import LoadOptions, load_archive
from retrieval.cache import QueryCache, cache_key
from retrieval.errors import QueryError
from retrieval.models import Archive, Issue
from retrieval.search import SearchEngine, SearchSettings
from retrieval.text import Analyzer, AnalyzerConfig

if TYPE_CHECKING:
    from bot.feeds.service import FeedService

log = logging.getLogger(__name__)

# -- the service -----------------------------------------------------------------------------------

def search_settings(config: Config) -> SearchSettings:
    from retrieval.settings import SearchOptions

    s = config.search
    # Every engine option by name, so one added to the schema reaches the engine without an edit here.
    options = {name: getattr(s, name) for name in SearchOptions.__struct_fields__}
    return SearchSettings(
        analyzer=AnalyzerConfig(userdict=s.file("userdict"), stopwords=s.file("stopwords"),
                                cache_dir=config.cache_dir),
        glossary_path=s.file("glossary"),
        **options,
    )


def load_options(config: Config, *, progress: bool = False) -> LoadOptions:
    return LoadOptions(max_file_bytes=int(config.archive.max_file_mb * 1_048_576), progress=progress,
                       userdict=config.search.file("userdict"), cache_dir=config.cache_dir)


def cache_path(db_path: Path) -> Path:
    """The query cache lives beside the state database, so a damaged cache never costs bot state."""
    return db_path.with_name(f"{db_path.stem}-cache{db_path.suffix or '.sqlite3'}")


T = TypeVar("T")


async def in_daemon_thread(work: Callable[[], T], name: str = "newsbot-reindex") -> T:
    """``work()`` in a daemon thread, awaited. Unlike ``asyncio.to_thread``, whose worker threads are joined at
    exit, a shutdown (SIGTERM) never waits for it: the reindex is abandoned, its result never swapped in, and
    what it wrote to SQLite (token store, repair cache) is whole transactions or nothing."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the awaiting task was cancelled
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = work()
        except BaseException as err:  # noqa: BLE001 - not handled here: re-raised in the awaiting task
            error = err
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits for this any more
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


class Newsbot:
    """The commands. Build with :meth:`create`; close with :meth:`close`."""

    def __init__(self, config: Config, archive: Archive, engine: SearchEngine, cache: QueryCache,
                 clock: Callable[[], float] = time.monotonic, *, scheduler: DigestScheduler | None = None) -> None:
        self.config = config
        self.archive = archive
        self.engine = engine
        self.cache = cache
        self._clock = clock
        self._started = clock()
        self._reindex_lock = asyncio.Lock()
        self.scheduler = scheduler
        """Given by a surface that posts digests (the Discord launcher); the console previews from the config."""
        self.feeds: FeedService | None = None
        """Set when feeds are configured: stats show them and ``feed-retry`` resets them."""

    @classmethod
    async def create(cls, config: Config, *, progress: bool = False,
                     scheduler: DigestScheduler | None = None) -> Newsbot:
        archive, engine = await asyncio.to_thread(cls._load, config, None, progress)
        cache = QueryCache(cache_path(config.db_path), ttl_seconds=config.cache.ttl_seconds,
                           max_entries=config.cache.max_entries)
        await cache.open()
        return cls(config, archive, engine, cache, scheduler=scheduler)

    @staticmethod
    def _load(config: Config, analyzer: Analyzer | None, progress: bool) -> tuple[Archive, SearchEngine]:
        archive = load_archive(config.archive.resolved, load_options(config, progress=progress))
        engine = SearchEngine.build(archive, search_settings(config), analyzer=analyzer, progress=progress)
        return archive, engine

    async def close(self) -> None:
        await self.cache.close()

    # -- reader commands --

    async def ask(self, question: str, issue: str | None = None, count: int | None = None) -> AskResult:
        k = self._count(count)
        engine = self.engine
        target = engine.find_issue(issue) if issue else None
        normalized = engine.analyzer.normalize(question.strip())
        key = cache_key(normalized, {"issue": target.id if target else None, "k": k}, engine.fingerprint)
        payload = await self.cache.get(key)
        if payload is not None:
            cached = engine.from_cache(question, payload)
            if cached is not None:
                return AskResult(question, cached.hits, cached.notice, cached.cached, cached.issues)
        # Ranking is CPU work; keep it off the event loop so heartbeats and other users are not blocked.
        result = await asyncio.to_thread(engine.search, question, k=k, issue=target)
        await self.cache.put(key, engine.cache_payload(result))
        return AskResult(question, result.hits, result.notice, False, result.issues)

    def check_ask(self, issue: str | None, count: int | None) -> None:
        """Raise at once the errors :meth:`ask` would raise for these options (cheap: no search), so a surface
        can answer them privately before it starts a public answer."""
        self._count(count)
        if issue:
            self.engine.find_issue(issue)

    def _count(self, count: int | None) -> int:
        if count is None:
            return self.config.search.top_k
        if not 1 <= count <= self.config.search.max_top_k:
            raise QueryError(f"count must be between 1 and {self.config.search.max_top_k}.")
        return count

    def _issue(self, ref: str | None) -> Issue:
        if ref is None or not ref.strip():
            latest = self.archive.latest
            if latest is None:
                raise QueryError("The archive has no newsletter issues yet.")
            return latest
        return self.engine.find_issue(ref)

    def issue_choices(self, current: str, limit: int = 25) -> list[tuple[str, str]]:
        """Autocomplete for an issue argument: ``(shown name, value)`` pairs, newest first when empty."""
        issues = list(reversed(self.archive.newsletter_issues))

        def name(i: Issue) -> str:
            return f"{i.label} · {i.title}"

        current = current.strip()
        if not current:
            return [(name(i), i.id) for i in issues[:limit]]
        picked = self.engine.named_by(current)
        seen = {i.id for i in picked}
        for issue_id in self.engine.suggest_ids(current, limit):
            if issue_id not in seen:
                seen.add(issue_id)
                issue = self.archive.get(issue_id)
                if issue is not None:
                    picked.append(issue)
        return [(name(i), i.id) for i in picked[:limit]]

    async def features(self, issue: str | None = None) -> FeaturesResult:
        return features_of(self._issue(issue))

    async def issue(self, issue: str) -> IssueResult:
        if not issue.strip():
            raise QueryError(f"Name an issue: {ISSUE_HELP}.")
        return IssueResult(self._issue(issue))

    async def latest(self) -> IssueResult:
        return IssueResult(self._issue(None))

    async def issues(self, page: int | None = None) -> IssueListResult:
        newest_first = tuple(reversed(self.archive.newsletter_issues))
        pages = max(1, math.ceil(len(newest_first) / ISSUES_PER_PAGE))
        page = 1 if page is None else page
        if not 1 <= page <= pages:
            raise QueryError(f"There {'is' if pages == 1 else 'are'} {pages} page{'s' * (pages != 1)}; "
                             f"pick a page from 1 to {pages}.")
        start = (page - 1) * ISSUES_PER_PAGE
        return IssueListResult(newest_first[start:start + ISSUES_PER_PAGE], page, pages, len(newest_first))

    async def digest(self, guild_id: int | None = None) -> DigestPreview:
        """What the weekly digest would post: this guild's next one, or (no guild) the latest issue."""
        if self.scheduler is not None and guild_id is not None:
            settings = await self.scheduler.settings(guild_id)
            content = await self.scheduler.preview(guild_id)
            if content is None:
                raise QueryError(f"{nothing_to_post(settings)} Schedule: {describe(settings)}.")
            schedule = describe(settings)
            return DigestPreview(content, schedule)
        defaults = dataclasses.replace(DigestSettings.from_config(0, self.config.digest), enabled=True)
        return DigestPreview(features_of(self._issue(None)), describe(defaults))

    async def help(self) -> HelpResult:
        return HelpResult(COMMANDS)

    async def stats(self, guild_id: int | None = None) -> StatsResult:
        settings = None
        waiting = None
        if self.scheduler is not None and guild_id is not None:
            waiting = self.scheduler.store_trouble
            try:
                settings = await self.scheduler.settings(guild_id)
            except StoreUnavailable:
                # Stats need no shared state; say why the digest part is missing instead of failing.
                waiting = waiting or ("waiting: the shared state store is unreachable just now; digests resume "
                                      "when it is back")
        archive = self.archive
        entries = archive.entries
        return StatsResult(
            issues=len(archive.newsletter_issues),
            documents=len(archive.issues) - len(archive.newsletter_issues),
            entries=len(entries),
            features=sum(e.feature for e in entries),
            repaired=len(archive.repairs),
            skipped=len(archive.skipped),
            cache=self.cache.stats,
            uptime_seconds=self._clock() - self._started,
            archive=archive.root,
            index_fingerprint=self.engine.fingerprint[:12],
            digest=describe(settings) if settings is not None else None,
            digest_settings=settings,
            digest_waiting=waiting,
            feeds=await self.feeds.status() if self.feeds is not None else (),
        )

    # -- admin commands --

    async def feed_retry(self, feed: str | None = None) -> FeedRetryResult:
        """Clear a feed's failures (by name or URL; all feeds without one) and poll it at the next chance."""
        if self.feeds is None or not self.feeds.feeds:
            raise QueryError("No feeds are configured ([[archive.feeds]] in the config file).")
        url = None
        if feed and feed.strip():
            wanted = feed.strip()
            match = [f for f in self.feeds.feeds if wanted in (f.url, f.name)]
            if not match:
                names = ", ".join(f.label for f in self.feeds.feeds)
                raise QueryError(f"No feed named “{wanted}”. Configured: {names}.")
            url = match[0].url
        await self.feeds.retry(url)
        return FeedRetryResult(await self.feeds.status())

    async def reindex_tokenized(self) -> int:
        """Reindex, and say how many entries had to be tokenized (only new or changed ones)."""
        await self.reindex()
        return self.engine.tokenized_now

    async def reindex(self) -> ReindexResult:
        """Reload the archive and rebuild the index off the event loop, then swap atomically."""
        async with self._reindex_lock:
            started = time.perf_counter()
            old = self.engine.fingerprint
            archive, engine = await in_daemon_thread(lambda: self._load(self.config, self.engine.analyzer, False))
            self.archive, self.engine = archive, engine
            return ReindexResult(
                issues=len(archive.newsletter_issues), entries=len(archive.entries),
                skipped=tuple(f"{s.path}: {s.reason}" for s in archive.skipped),
                seconds=time.perf_counter() - started, changed=engine.fingerprint != old,
            )
