"""newsbot's commands, written once and free of any transport: the service.

Each command is one method marked with :func:`~bot.registry.command`: it takes plain values and returns a typed,
immutable result. Its spec (name, parameters, descriptions) is read off the method (:data:`COMMANDS`), so the
two cannot disagree. The console and the Discord adapter parse their input into these calls and render the
results their own way; neither contains search, SQL or repair code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.config import Config
from bot.digest.schedule import DigestSettings, describe, nothing_to_post
from bot.errors import StoreUnavailable
from bot.redact import redact_url, redact_urls
from bot.registry import ChannelId, IssueRef, RoleId, collect, command
from bot.results import (
    ISSUE_HELP,
    ISSUES_PER_PAGE,
    AskResult,
    DigestNowResult,
    DigestPreview,
    DigestSettingsResult,
    FeaturesResult,
    FeedRetryResult,
    HelpResult,
    IssueListResult,
    IssueResult,
    ReindexResult,
    SimilarResult,
    StatsResult,
    features_of,
)
from bot.timeparse import parse_time_of_day
from retrieval.cache import QueryCache, cache_key
from retrieval.errors import QueryError
from retrieval.issueref import extract_issue_ref
from retrieval.links import link_key
from retrieval.models import Archive, Entry, Issue

if TYPE_CHECKING:
    from bot.digest.scheduler import DigestScheduler, Poster
    from bot.feeds.service import FeedService
    from bot.library import Library
    from retrieval.search import SearchEngine

log = logging.getLogger(__name__)

LAST_ASKS_KEPT = 1024
"""How many askers' last results :meth:`Newsbot.similar` can refer to by number (least recently used go)."""
SIMILAR_QUERY_CHARS = 300
"""How much of an item (title, then summary) :meth:`Newsbot.similar` searches with."""
OPERATORS_ONLY = "This command is for the bot's operators."
"""The refusal of a deployment-wide command (reindex, feed-retry) to a guild admin who is not an operator."""
DIGEST_NOW_TEXT = {
    "recovered": "That digest was already in the channel.",
    "busy": "A digest is being posted right now; nothing more was posted.",
    "recent": "A digest was posted less than a minute ago; nothing more was posted. Ask again in a minute for "
              "another one.",
}


class Newsbot:
    """The commands, on a :class:`~bot.library.Library` built before it. Everything it uses is passed in; the
    caller closes the cache (the composition root, :mod:`bot.app`, does)."""

    def __init__(self, config: Config, library: Library, cache: QueryCache, *,
                 scheduler: DigestScheduler | None = None, feeds: FeedService | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.library = library
        self.cache = cache
        self.scheduler = scheduler
        """The digest's state machine, where digests are posted (Discord); the console previews from the config."""
        self.feeds = feeds
        """Given when feeds are configured: stats show them and ``feed-retry`` resets them."""
        self._clock = clock
        self._started = clock()
        self._last_asks: OrderedDict[int | None, tuple[Entry, ...]] = OrderedDict()
        """Each asker's last results, so ``/similar 2`` can name one by its number."""

    @property
    def archive(self) -> Archive:
        return self.library.archive

    @property
    def engine(self) -> SearchEngine:
        return self.library.engine

    # -- reader commands --

    @command("Ask a question about the archive, in Chinese or English.",
             question="What you want to find, e.g. ViT 鲁棒性 or 'matrix multiplication without multiplies'",
             issue=f"Only search this issue: {ISSUE_HELP}", count="How many results (1-25)")
    async def ask(self, question: str, issue: IssueRef | None = None, count: int | None = None, *,
                  user_id: int | None = None) -> AskResult:
        k = self._count(count)
        engine = self.library.engine
        target = engine.find_issue(issue) if issue else None
        normalized = engine.analyzer.normalize(question.strip())
        key = cache_key(normalized, {"issue": target.id if target else None, "k": k}, engine.fingerprint)
        payload = await self.cache.get(key)
        cached = engine.from_cache(question, payload) if payload is not None else None
        if cached is not None:
            result = AskResult(question, cached.hits, cached.notice, cached.cached, cached.issues)
        else:
            # Ranking is CPU work; keep it off the event loop so heartbeats and other users are not blocked.
            found = await asyncio.to_thread(engine.search, question, k=k, issue=target)
            # Written after this answer goes out (the cache waits for pending writes when it closes).
            self.cache.put_later(key, engine.cache_payload(found))
            result = AskResult(question, found.hits, found.notice, False, found.issues)
        self._remember(user_id, tuple(h.entry for h in result.hits))
        return result

    def check_ask(self, issue: str | None, count: int | None) -> None:
        """Raise at once the errors :meth:`ask` would raise for these options (cheap: no search), so a surface
        can answer them privately before it starts a public answer."""
        self._count(count)
        if issue:
            self.library.engine.find_issue(issue)

    @command("Items most like one item: give its link, or its number in your last /ask answer.",
             item="A link of the item, or its number in your last /ask answer (1, 2, …)",
             count="How many results (1-25)")
    async def similar(self, item: str, count: int | None = None, *, user_id: int | None = None) -> SimilarResult:
        k = self._count(count)
        source = self._find_item(item.strip(), user_id)
        issue = self.library.archive.get(source.issue_id)
        assert issue is not None  # an entry's issue is in the archive it came from
        query = _similar_query(source)
        found = await asyncio.to_thread(self.library.engine.search, query, k=k + 1)
        own = {link_key(u) for u in source.all_links}
        hits = tuple(h for h in found.hits
                     if h.entry.key != source.key and not own & {link_key(u) for u in h.entry.all_links})[:k]
        return SimilarResult(source, issue, hits)

    def _find_item(self, item: str, user_id: int | None) -> Entry:
        if not item:
            raise QueryError("Name an item: a link of it, or its number in your last /ask answer.")
        if item.isascii() and item.isdigit():  # str.isdigit also takes ² and ٢, which int() refuses or reads
            last = self._last_asks.get(user_id, ())
            if not last:
                raise QueryError("Ask something first (/ask), then name a result by its number.")
            n = int(item) if len(item) <= 9 else 0  # int() refuses 4,300 digits and more; no answer has 10**9
            if not 1 <= n <= len(last):
                raise QueryError(f"Your last answer had {len(last)} result{'s' * (len(last) != 1)}; "
                                 f"pick a number from 1 to {len(last)}.")
            return last[n - 1]
        entry = self.library.engine.entry_by_link(item)
        if entry is not None:
            return entry
        raise QueryError("No item of the archive has that link. Give a link from an answer, or a result number.")

    def _remember(self, user_id: int | None, entries: tuple[Entry, ...]) -> None:
        if not entries:
            return
        self._last_asks[user_id] = entries
        self._last_asks.move_to_end(user_id)
        while len(self._last_asks) > LAST_ASKS_KEPT:
            self._last_asks.popitem(last=False)

    def _count(self, count: int | None) -> int:
        if count is None:
            return self.config.search.top_k
        if not 1 <= count <= self.config.search.max_top_k:
            raise QueryError(f"count must be between 1 and {self.config.search.max_top_k}.")
        return count

    def _issue(self, ref: str | None) -> Issue:
        if ref is None or not ref.strip():
            latest = self.library.archive.latest
            if latest is None:
                raise QueryError("The archive has no newsletter issues yet.")
            return latest
        return self.library.engine.find_issue(ref)

    def issue_choices(self, current: str, limit: int = 25) -> list[tuple[str, str]]:
        """Autocomplete for an issue argument: ``(shown name, value)`` pairs, newest first when empty."""
        archive, engine = self.library.archive, self.library.engine
        issues = list(reversed(archive.newsletter_issues))

        def name(i: Issue) -> str:
            return f"{i.label} · {i.title}"

        current = current.strip()
        if not current:
            return [(name(i), i.id) for i in issues[:limit]]
        picked = engine.named_by(current)
        seen = {i.id for i in picked}
        for issue_id in engine.suggest_ids(current, limit):
            if issue_id not in seen:
                seen.add(issue_id)
                issue = archive.get(issue_id)
                if issue is not None:
                    picked.append(issue)
        return [(name(i), i.id) for i in picked[:limit]]

    @command("An issue's “this week's features” (本周特稿/新闻, 每周编辑精选).",
             issue=f"Which issue (default: the latest): {ISSUE_HELP}")
    async def features(self, issue: IssueRef | None = None) -> FeaturesResult:
        return features_of(self._issue(issue))

    @command("One issue's overview: title, date, link, sections and their items.",
             issue=f"Which issue: {ISSUE_HELP}")
    async def issue(self, issue: IssueRef) -> IssueResult:
        if not issue.strip():
            raise QueryError(f"Name an issue: {ISSUE_HELP}.")
        return IssueResult(self._issue(issue))

    @command("Browse the archive, newest first.", page="Page number")
    async def issues(self, page: int | None = None) -> IssueListResult:
        newest_first = tuple(reversed(self.library.archive.newsletter_issues))
        pages = max(1, math.ceil(len(newest_first) / ISSUES_PER_PAGE))
        page = 1 if page is None else page
        if not 1 <= page <= pages:
            raise QueryError(f"There {'is' if pages == 1 else 'are'} {pages} page{'s' * (pages != 1)}; "
                             f"pick a page from 1 to {pages}.")
        start = (page - 1) * ISSUES_PER_PAGE
        return IssueListResult(newest_first[start:start + ISSUES_PER_PAGE], page, pages, len(newest_first))

    @command("The newest issue.")
    async def latest(self) -> IssueResult:
        return IssueResult(self._issue(None))

    @command("Preview what the weekly digest would post.")
    async def digest(self, *, guild_id: int | None = None) -> DigestPreview:
        """What the weekly digest would post: this guild's next one, or (no guild) the latest issue."""
        if self.scheduler is not None and guild_id is not None:
            settings = await self.scheduler.settings(guild_id)
            content = await self.scheduler.preview(guild_id)
            if content is None:
                raise QueryError(f"{nothing_to_post(settings)} Schedule: {describe(settings)}.")
            return DigestPreview(content, describe(settings))
        defaults = dataclasses.replace(DigestSettings.from_config(0, self.config.digest), enabled=True)
        return DigestPreview(features_of(self._issue(None)), describe(defaults))

    @command("What newsbot can do.")
    async def help(self) -> HelpResult:
        return HelpResult(COMMANDS)

    # -- admin commands: the whole deployment's state (operators: ``operator=True``), or one server's settings --

    @command("Index size, cache hit rate and uptime.", admin=True)
    async def stats(self, *, guild_id: int | None = None, operator: bool = False) -> StatsResult:
        """Everything for an operator; a guild admin gets the guild's view: no feeds, no archive path."""
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
        archive = self.library.archive
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
            archive=archive.root if operator else "",
            index_fingerprint=self.library.engine.fingerprint[:12],
            digest=describe(settings) if settings is not None else None,
            digest_settings=settings,
            digest_waiting=waiting,
            feeds=await self.feeds.status() if self.feeds is not None and operator else (),
        )

    @command("Reload the archive and rebuild the search index.", admin=True)
    async def reindex(self, *, operator: bool = False) -> ReindexResult:
        _operators_only(operator)
        return await self.library.reindex()

    @command("Post the weekly digest in this channel.", admin=True, console=False,
             channel="The channel for the weekly digest")
    async def digest_channel(self, channel: ChannelId, *, guild_id: int) -> DigestSettingsResult:
        settings = await self._digests().configure(guild_id, channel_id=channel)
        return DigestSettingsResult("Digest channel set", settings)

    @command("When the weekly digest is posted.", admin=True, console=False,
             weekday="Day of the week", time="Local time of day, HH:MM (24-hour)",
             timezone="IANA time zone, e.g. Europe/Berlin or Asia/Tokyo")
    async def digest_schedule(self, weekday: int, time: str, timezone: str | None = None, *,
                              guild_id: int) -> DigestSettingsResult:
        settings = await self._digests().configure(guild_id, weekday=weekday, time=parse_time_of_day(time),
                                                   timezone=timezone or "UTC")
        return DigestSettingsResult("Digest schedule set", settings)

    @command("What the weekly digest posts.", admin=True, console=False,
             policy="next: replay the archive week by week; latest: only new issues")
    async def digest_policy(self, policy: str, *, guild_id: int) -> DigestSettingsResult:
        settings = await self._digests().configure(guild_id, policy=policy)
        return DigestSettingsResult("Digest policy set", settings)

    @command("Turn the weekly digest on.", admin=True, console=False,
             channel="The channel for the digest (default: the one already set)")
    async def digest_on(self, channel: ChannelId | None = None, *, guild_id: int) -> DigestSettingsResult:
        settings = await self._digests().enable(guild_id, channel)
        return DigestSettingsResult("Weekly digest on", settings)

    @command("Turn the weekly digest off.", admin=True, console=False)
    async def digest_off(self, *, guild_id: int) -> DigestSettingsResult:
        return DigestSettingsResult("Weekly digest off", await self._digests().disable(guild_id))

    @command("Post the next digest right away.", admin=True, console=False)
    async def digest_now(self, *, guild_id: int, poster: Poster) -> DigestNowResult:
        outcome = await self._digests().post_now(guild_id, poster)
        if outcome.status == "posted":
            issue = self.library.archive.get(outcome.issue_id or "")
            # The issue's label (2020-10, #34) as everywhere else, not its internal id.
            text = f"Posted the digest ({issue.label if issue else outcome.issue_id})."
        elif outcome.status == "nothing":
            text = outcome.detail
        else:
            text = DIGEST_NOW_TEXT.get(outcome.status,
                                       f"Could not post the digest: {outcome.detail or outcome.status}.")
        return DigestNowResult(outcome.status, text)

    @command("Ping a role on each digest (leave empty: no ping).", admin=True, console=False,
             role="The role each digest pings, and the only one it may ping")
    async def digest_role(self, role: RoleId | None = None, *, guild_id: int,
                          role_pings: bool = True) -> DigestSettingsResult:
        """``role_pings``: whether a mention of that role notifies anyone (a surface knows; Discord: the role is
        mentionable, or the bot may mention every role)."""
        settings = await self._digests().set_role(guild_id, role)
        title = "Digest role set" if role else "Digest role cleared: digests ping no one"
        if role is not None and not role_pings:
            title += " (the role is not mentionable: make it mentionable, or the ping will not notify anyone)"
        return DigestSettingsResult(title, settings)

    @command("Open a discussion thread on each digest.", admin=True, console=False,
             mode="on: a thread on each digest message, named after the issue; off: none")
    async def digest_thread(self, mode: str, *, guild_id: int) -> DigestSettingsResult:
        on = mode.strip().lower() == "on"
        if not on and mode.strip().lower() != "off":
            raise QueryError("mode is on or off.")
        settings = await self._digests().set_thread(guild_id, on)
        return DigestSettingsResult(f"Digest threads {'on' if on else 'off'}", settings)

    @command("Enable a failing or disabled feed again and poll it at the next chance.", admin=True,
             feed="The feed's name or URL (default: every feed)")
    async def feed_retry(self, feed: str | None = None, *, operator: bool = False) -> FeedRetryResult:
        """Clear a feed's failures (by name, raw or shown URL; all feeds without one) and poll it at the next
        chance, never before a Retry-After its server gave."""
        _operators_only(operator)
        if self.feeds is None or not self.feeds.feeds:
            raise QueryError("No feeds are configured ([[archive.feeds]] in the config file).")
        url = None
        if feed and feed.strip():
            wanted = feed.strip()
            match = [f for f in self.feeds.feeds if wanted in (f.url, f.name, f.label)]
            if not match:
                names = ", ".join(f.label for f in self.feeds.feeds)
                # The typed text may be a URL with a password that matched nothing: never echo it raw.
                raise QueryError(f"No feed named “{redact_urls(wanted)}”. Configured: {names}.")
            url = match[0].url
        await self.feeds.retry(url)
        # Statuses carry redacted URLs: the retried one is named the same way, so it matches and never leaks.
        return FeedRetryResult(await self.feeds.status(), retried=redact_url(url) if url else None)

    def _digests(self) -> DigestScheduler:
        if self.scheduler is None:
            raise QueryError("Weekly digests are posted by the Discord bot (newsbot run), not here.")
        return self.scheduler


def _operators_only(operator: bool) -> None:
    """Refuse a deployment-wide command to anyone but the bot's operators.

    >>> _operators_only(True)
    >>> _operators_only(False)
    Traceback (most recent call last):
    ...
    retrieval.errors.QueryError: This command is for the bot's operators.
    """
    if not operator:
        raise QueryError(OPERATORS_ONLY)


def _similar_query(entry: Entry) -> str:
    """What :meth:`Newsbot.similar` searches with: the item's title and summary, without anything that reads
    as an issue reference (which would narrow the search to that issue).

    >>> from retrieval.models import Section
    >>> _similar_query(Entry("w13", 0, Section.PAPERS, "ViT 的鲁棒性", None, "Vision Transformer 比 CNN 更稳健。"))
    'ViT 的鲁棒性 Vision Transformer 比 CNN 更稳健。'
    """
    text = f"{entry.title} {entry.summary}"[:SIMILAR_QUERY_CHARS]
    for _ in range(3):  # a title rarely holds more than one date or number that reads as an issue
        ref, rest = extract_issue_ref(text)
        if ref is None:
            break
        text = rest
    return text.strip()


COMMANDS = collect(Newsbot)
"""The one registry of commands, read off :class:`Newsbot` in the order it defines them."""
CONSOLE_COMMANDS = tuple(c for c in COMMANDS if c.console)
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}
