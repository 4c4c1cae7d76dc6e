"""newsbot's commands, written once and free of any transport: the service.

Each command is one method marked with :func:`~bot.registry.command`: it takes plain values and returns a typed,
immutable result. Its spec (name, parameters, descriptions) is read off the method (:data:`COMMANDS`), so the
two cannot disagree. The console and the Discord adapter parse their input into these calls and render the
results their own way; neither contains search, SQL or repair code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.digest.schedule import DigestSettings, describe, nothing_to_post
from bot.digest_commands import ARCHIVE_HELP, DigestCommands
from bot.errors import StoreUnavailable
from bot.i18n import N_
from bot.library import Libraries, Library
from bot.message_text import message_query
from bot.redact import redact_url, redact_urls
from bot.registry import (
    ArchiveName,
    DateOrIssue,
    IssueRef,
    SectionName,
    collect,
    collect_menus,
    command,
    message_menu,
)
from bot.results import (
    ISSUE_HELP,
    ISSUES_PER_PAGE,
    ArchiveDefaultResult,
    AskResult,
    DigestPreview,
    FeaturesResult,
    FeedRetryResult,
    FeedStatus,
    HelpResult,
    IssueListResult,
    IssueResult,
    ReindexResult,
    SimilarResult,
    StatsResult,
    SubscribeResult,
    SubscriptionsResult,
    UnsubscribeResult,
    features_of,
)
from retrieval.cache import QueryCache, cache_key
from retrieval.errors import QueryError
from retrieval.filters import resolve_filter, section_choices
from retrieval.issueref import extract_issue_ref
from retrieval.links import link_key
from retrieval.models import Archive, Entry, Issue

if TYPE_CHECKING:
    from bot.alerts.book import AlertBook
    from bot.digest.scheduler import DigestScheduler
    from bot.feeds.service import FeedService
    from retrieval.models import SearchResult
    from retrieval.search import SearchEngine

log = logging.getLogger(__name__)

LAST_ASKS_KEPT = 1024
"""How many askers' last results :meth:`Newsbot.similar` can refer to by number (least recently used go)."""
MESSAGE_SEARCH_RESULTS = 4
"""How many results "Search the archive" on a message shows: one page, each with its link buttons."""
SIMILAR_QUERY_CHARS = 300
"""How much of an item (title, then summary) :meth:`Newsbot.similar` searches with."""
OPERATORS_ONLY = "This command is for the bot's operators."
"""The refusal of a deployment-wide command (reindex, feed-retry) to a guild admin who is not an operator."""
class Newsbot(DigestCommands):
    """The commands, on a :class:`~bot.library.Library` built before it. Everything it uses is passed in; the
    caller closes the cache (the composition root, :mod:`bot.app`, does)."""

    def __init__(self, config: Config, library: Library | Libraries, cache: QueryCache, *,
                 scheduler: DigestScheduler | None = None, feeds: FeedService | None = None,
                 schedulers: Mapping[str, DigestScheduler] | None = None,
                 feed_services: Mapping[str, FeedService] | None = None,
                 alerts: AlertBook | None = None, clock: Callable[[], float] = time.monotonic,
                 inline_search: bool = False) -> None:
        """``library``: the one archive, or every archive (:class:`Libraries`); ``scheduler`` and ``feeds`` are the
        default archive's, ``schedulers`` and ``feed_services`` every archive's by name. ``inline_search``: search
        on the event loop's thread, for a surface where nothing else waits on that loop (the console)."""
        self._inline_search = inline_search
        self.config = config
        self.libraries = library if isinstance(library, Libraries) else Libraries([library])
        self.cache = cache
        self.schedulers = dict(schedulers or {})
        """The digest's state machines by archive, where digests are posted (Discord); the console previews from
        the config."""
        if scheduler is not None:
            self.schedulers.setdefault(self.library.name, scheduler)
        self.feed_services = dict(feed_services or {})
        """By archive, given when feeds are configured: stats show them and ``feed-retry`` resets them."""
        if feeds is not None:
            self.feed_services.setdefault(self.library.name, feeds)
        self.alerts = alerts
        """Members' keyword alerts (:mod:`bot.alerts`); the composition root always gives it."""
        self._clock = clock
        self._started = clock()
        self._last_asks: OrderedDict[int | None, tuple[str, tuple[Entry, ...]]] = OrderedDict()
        """Each asker's last results (and their archive), so ``/similar 2`` can name one by its number."""

    @property
    def library(self) -> Library:
        """The default archive's library."""
        return self.libraries.default

    @property
    def scheduler(self) -> DigestScheduler | None:
        return self.schedulers.get(self.library.name)

    @property
    def feeds(self) -> FeedService | None:
        return self.feed_services.get(self.library.name)

    @property
    def archive(self) -> Archive:
        return self.library.archive

    @property
    def engine(self) -> SearchEngine:
        return self.library.engine

    async def _search(self, engine: SearchEngine, query: str, **options: Any) -> SearchResult:
        # Ranking is CPU work: in a thread, so that heartbeats and other members are not kept waiting. The
        # console has no one else on its loop, and the two thread hand-offs were a fifth of its uncached line.
        if self._inline_search:
            return engine.search(query, **options)
        return await asyncio.to_thread(engine.search, query, **options)

    # -- reader commands --

    @command("Ask a question about the archive, in Chinese or English.",
             question="What you want to find, e.g. ViT 鲁棒性 or 'matrix multiplication without multiplies'",
             issue=f"Only search this issue: {ISSUE_HELP}", count="How many results (1-25)",
             since="Only issues from this date or issue on: 2021-03-01, #18, 2021-W13…",
             until="Only issues up to this date or issue: 2021-10-01, 第 34 期…",
             section="Only this section of the issues, e.g. papers (论文)", archive=ARCHIVE_HELP)
    async def ask(self, question: str, issue: IssueRef | None = None, count: int | None = None,
                  since: DateOrIssue | None = None, until: DateOrIssue | None = None,
                  section: SectionName | None = None, archive: ArchiveName | None = None, *,
                  user_id: int | None = None, guild_id: int | None = None) -> AskResult:
        k = self._count(count)
        library = await self.libraries.resolve(archive, guild_id)
        engine = library.engine
        target = engine.find_issue(issue) if issue else None
        filters = resolve_filter(engine.directory, since=since, until=until, section=section)
        normalized = engine.analyzer.normalize(question.strip())
        # The archive is in the key: two archives never share an answer, even with equal fingerprints.
        params: dict[str, object] = {"archive": library.name, "issue": target.id if target else None, "k": k}
        if filters.active:
            params["filters"] = filters.cache_part()  # only then: an unfiltered question keeps its old key
        key = cache_key(normalized, params, engine.fingerprint)
        payload = await self.cache.get(key)
        cached = engine.from_cache(question, payload) if payload is not None else None
        if cached is not None:
            result = AskResult(question, cached.hits, cached.notice, cached.cached, cached.issues, filters)
        else:
            found = await self._search(engine, question, k=k, issue=target, filters=filters)
            # Written after this answer goes out (the cache waits for pending writes when it closes).
            self.cache.put_later(key, engine.cache_payload(found))
            result = AskResult(question, found.hits, found.notice, False, found.issues, filters)
        self._remember(user_id, library.name, tuple(h.entry for h in result.hits))
        return result

    async def check_ask(self, issue: str | None, count: int | None, since: str | None = None,
                        until: str | None = None, section: str | None = None, archive: str | None = None, *,
                        guild_id: int | None = None) -> None:
        """Raise at once the errors :meth:`ask` would raise for these options (cheap: no search), so a surface
        can answer them privately before it starts a public answer."""
        self._count(count)
        library = await self.libraries.resolve(archive, guild_id)
        if issue:
            library.engine.find_issue(issue)
        resolve_filter(library.engine.directory, since=since, until=until, section=section)

    async def section_choices(self, current: str, limit: int = 25, archive: str | None = None, *,
                              guild_id: int | None = None) -> list[tuple[str, str]]:
        """Autocomplete for a section argument: ``(shown name, key)`` pairs from the archive's sections."""
        library = await self.libraries.resolve(archive, guild_id)
        return section_choices(library.archive, current, limit)

    @message_menu("Search the archive", "Search the archive with a message's text; the answer is yours alone.")
    async def search_message(self, text: str, *, user_id: int | None = None,
                             guild_id: int | None = None) -> AskResult:
        """"Search the archive" on a message: its text, without mentions or markdown and clipped, as a question
        (one page of answers), in the server's default archive."""
        question = message_query(text)
        if not question:
            raise QueryError("That message has no words to search with.")
        return await self.ask(question, count=min(MESSAGE_SEARCH_RESULTS, self.config.search.max_top_k),
                              user_id=user_id, guild_id=guild_id)

    @command("Items most like one item: give its link, or its number in your last /ask answer.",
             item="A link of the item, or its number in your last /ask answer (1, 2, …)",
             count="How many results (1-25)", archive=ARCHIVE_HELP)
    async def similar(self, item: str, count: int | None = None, archive: ArchiveName | None = None, *,
                      user_id: int | None = None, guild_id: int | None = None) -> SimilarResult:
        k = self._count(count)
        library = await self.libraries.resolve(archive, guild_id)
        # A result number names an item of the last answer, in that answer's archive unless one is named.
        source, from_archive = self._find_item(item.strip(), user_id, library)
        if not (archive and archive.strip()):
            library = self.libraries.pick(from_archive)
        issue = library.archive.get(source.issue_id)
        if issue is None:  # an item of another archive, named by number: it is looked for in this one by text
            issue = self.libraries.pick(from_archive).archive.get(source.issue_id)
        assert issue is not None  # an entry's issue is in the archive it came from
        query = _similar_query(source)
        found = await self._search(library.engine, query, k=k + 1)
        own = {link_key(u) for u in source.all_links}
        hits = tuple(h for h in found.hits
                     if h.entry.key != source.key and not own & {link_key(u) for u in h.entry.all_links})[:k]
        return SimilarResult(source, issue, hits)

    def _find_item(self, item: str, user_id: int | None, library: Library) -> tuple[Entry, str]:
        if not item:
            raise QueryError("Name an item: a link of it, or its number in your last /ask answer.")
        if item.isascii() and item.isdigit():  # str.isdigit also takes ² and ٢, which int() refuses or reads
            name, last = self._last_asks.get(user_id, (library.name, ()))
            if not last:
                raise QueryError("Ask something first (/ask), then name a result by its number.")
            n = int(item) if len(item) <= 9 else 0  # int() refuses 4,300 digits and more; no answer has 10**9
            if not 1 <= n <= len(last):
                raise QueryError(N_("Your last answer had {n} result; pick a number from 1 to {n}.") if len(last) == 1
                                 else N_("Your last answer had {n} results; pick a number from 1 to {n}."), n=len(last))
            return last[n - 1], name
        entry = library.engine.entry_by_link(item)
        if entry is not None:
            return entry, library.name
        raise QueryError("No item of the archive has that link. Give a link from an answer, or a result number.")

    def _remember(self, user_id: int | None, archive: str, entries: tuple[Entry, ...]) -> None:
        if not entries:
            return
        self._last_asks[user_id] = (archive, entries)
        self._last_asks.move_to_end(user_id)
        while len(self._last_asks) > LAST_ASKS_KEPT:
            self._last_asks.popitem(last=False)

    def _count(self, count: int | None) -> int:
        if count is None:
            return self.config.search.top_k
        if not 1 <= count <= self.config.search.max_top_k:
            raise QueryError("count must be between 1 and {max}.", max=self.config.search.max_top_k)
        return count

    def _issue(self, ref: str | None, library: Library | None = None) -> Issue:
        library = library or self.library
        if ref is None or not ref.strip():
            latest = library.archive.latest
            if latest is None:
                raise QueryError("The archive has no newsletter issues yet.")
            return latest
        return library.engine.find_issue(ref)

    async def issue_choices(self, current: str, limit: int = 25, *, archive: str | None = None,
                            guild_id: int | None = None) -> list[tuple[str, str]]:
        """Autocomplete for an issue argument: ``(shown name, value)`` pairs, newest first when empty; in the
        archive the command's archive option names (an unknown one: no choices)."""
        try:
            library = await self.libraries.resolve(archive, guild_id)
        except QueryError:
            return []
        archive_, engine = library.archive, library.engine
        issues = list(reversed(archive_.newsletter_issues))

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
                issue = archive_.get(issue_id)
                if issue is not None:
                    picked.append(issue)
        return [(name(i), i.id) for i in picked[:limit]]

    @command("An issue's “this week's features” (本周特稿/新闻, 每周编辑精选).",
             issue=f"Which issue (default: the latest): {ISSUE_HELP}", archive=ARCHIVE_HELP)
    async def features(self, issue: IssueRef | None = None, archive: ArchiveName | None = None, *,
                       guild_id: int | None = None) -> FeaturesResult:
        return features_of(self._issue(issue, await self.libraries.resolve(archive, guild_id)))

    @command("One issue's overview: title, date, link, sections and their items.",
             issue=f"Which issue: {ISSUE_HELP}", archive=ARCHIVE_HELP)
    async def issue(self, issue: IssueRef, archive: ArchiveName | None = None, *,
                    guild_id: int | None = None) -> IssueResult:
        if not issue.strip():
            raise QueryError("Name an issue: {forms}.", forms=ISSUE_HELP)
        return IssueResult(self._issue(issue, await self.libraries.resolve(archive, guild_id)))

    @command("Browse the archive, newest first.", page="Page number", archive=ARCHIVE_HELP)
    async def issues(self, page: int | None = None, archive: ArchiveName | None = None, *,
                     guild_id: int | None = None) -> IssueListResult:
        library = await self.libraries.resolve(archive, guild_id)
        newest_first = tuple(reversed(library.archive.newsletter_issues))
        pages = max(1, math.ceil(len(newest_first) / ISSUES_PER_PAGE))
        page = 1 if page is None else page
        if not 1 <= page <= pages:
            raise QueryError(N_("There is {pages} page; pick a page from 1 to {pages}.") if pages == 1
                             else N_("There are {pages} pages; pick a page from 1 to {pages}."), pages=pages)
        start = (page - 1) * ISSUES_PER_PAGE
        return IssueListResult(newest_first[start:start + ISSUES_PER_PAGE], page, pages, len(newest_first))

    @command("The newest issue.", archive=ARCHIVE_HELP)
    async def latest(self, archive: ArchiveName | None = None, *, guild_id: int | None = None) -> IssueResult:
        return IssueResult(self._issue(None, await self.libraries.resolve(archive, guild_id)))

    @command("Preview what the weekly digest would post.", archive=ARCHIVE_HELP)
    async def digest(self, archive: ArchiveName | None = None, *, guild_id: int | None = None) -> DigestPreview:
        """What the weekly digest would post: this guild's next one, or (no guild) the latest issue."""
        library = await self.libraries.resolve(archive, guild_id)
        scheduler = self.schedulers.get(library.name)
        if scheduler is not None and guild_id is not None:
            settings = await scheduler.settings(guild_id)
            content = await scheduler.preview(guild_id)
            if content is None:
                raise QueryError("{nothing} Schedule: {schedule}.", nothing=nothing_to_post(settings),
                                 schedule=describe(settings))
            return DigestPreview(content, describe(settings), settings)
        defaults = dataclasses.replace(DigestSettings.from_config(0, self.config.digest), enabled=True)
        return DigestPreview(features_of(self._issue(None, library)), describe(defaults), defaults)

    # -- keyword alerts (bot/alerts): each member's own, stored in the shared store --

    @command("Get a direct message when a new issue has items matching your words.",
             query="The words to watch for, e.g. protein folding or 强化学习",
             section="Only items of this section, e.g. papers (论文)", archive=ARCHIVE_HELP)
    async def subscribe(self, query: str, section: SectionName | None = None, archive: ArchiveName | None = None,
                        *, user_id: int | None = None, guild_id: int | None = None) -> SubscribeResult:
        library = await self.libraries.resolve(archive, guild_id)
        key = resolve_filter(library.engine.directory, section=section).section if section else None
        return await self._alerts().subscribe(user_id, query, key or "", library.name)

    @command("Your keyword alerts, with buttons to remove them.")
    async def subscriptions(self, *, user_id: int | None = None) -> SubscriptionsResult:
        return await self._alerts().subscriptions(user_id)

    @command("Stop one of your keyword alerts.", alert="Its number in /subscriptions")
    async def unsubscribe(self, alert: str, *, user_id: int | None = None) -> UnsubscribeResult:
        return await self._alerts().unsubscribe(user_id, alert)

    def _alerts(self) -> AlertBook:
        if self.alerts is None:
            raise QueryError("Keyword alerts are not available here.")
        return self.alerts

    @command("What newsbot can do.")
    async def help(self) -> HelpResult:
        # One archive: no command shows an archive option, and choosing a server's default archive is moot.
        several = self.libraries.several
        return HelpResult(tuple(c.for_archives(several) for c in COMMANDS if several or c.name != "archive-default"),
                          menus=MESSAGE_MENUS)

    # -- admin commands: the whole deployment's state (operators: ``operator=True``), or one server's settings --

    @command("Index size, cache hit rate and uptime.", admin=True, archive=ARCHIVE_HELP)
    async def stats(self, archive: ArchiveName | None = None, *, guild_id: int | None = None,
                    operator: bool = False) -> StatsResult:
        """One archive's figures. Everything for an operator; a guild admin gets the guild's view: no feeds, no
        archive path."""
        library = await self.libraries.resolve(archive, guild_id)
        scheduler, feeds = self.schedulers.get(library.name), self.feed_services.get(library.name)
        settings = None
        waiting = None
        if scheduler is not None and guild_id is not None:
            waiting = scheduler.store_trouble
            try:
                settings = await scheduler.settings(guild_id)
            except StoreUnavailable:
                # Stats need no shared state; say why the digest part is missing instead of failing.
                waiting = waiting or ("waiting: the shared state store is unreachable just now; digests resume "
                                      "when it is back")
        held = library.archive
        entries = held.entries
        return StatsResult(
            issues=len(held.newsletter_issues),
            documents=len(held.issues) - len(held.newsletter_issues),
            entries=len(entries),
            features=sum(e.feature for e in entries),
            repaired=len(held.repairs),
            skipped=len(held.skipped),
            cache=self.cache.stats,
            uptime_seconds=self._clock() - self._started,
            archive=held.root if operator else "",
            index_fingerprint=library.engine.fingerprint[:12],
            digest=describe(settings) if settings is not None else None,
            digest_settings=settings,
            digest_waiting=waiting,
            feeds=await feeds.status() if feeds is not None and operator else (),
            name=library.name if self.libraries.several else "",
        )

    @command("Reload the archive and rebuild the search index.", admin=True, archive=ARCHIVE_HELP)
    async def reindex(self, archive: ArchiveName | None = None, *, operator: bool = False) -> ReindexResult:
        _operators_only(operator)
        return await self.libraries.pick(archive).reindex()

    @command("This server's default archive for every command (leave empty: the deployment's).", admin=True,
             console=False, archive="The archive members get when they name none")
    async def archive_default(self, archive: ArchiveName | None = None, *, guild_id: int) -> ArchiveDefaultResult:
        now = dt.datetime.now(dt.UTC)
        library = await self.libraries.set_guild_default(guild_id, archive, now)
        return ArchiveDefaultResult(library.name, self.libraries.names, chosen=bool(archive and archive.strip()))

    @command("Enable a failing or disabled feed again and poll it at the next chance.", admin=True,
             feed="The feed's name or URL (default: every feed)")
    async def feed_retry(self, feed: str | None = None, *, operator: bool = False) -> FeedRetryResult:
        """Clear a feed's failures (by name, raw or shown URL; all feeds without one) and poll it at the next
        chance, never before a Retry-After its server gave."""
        _operators_only(operator)
        services = [s for s in self.feed_services.values() if s.feeds]  # every archive's feeds
        if not services:
            raise QueryError("No feeds are configured ([[archive.feeds]] in the config file).")
        url = None
        if feed and feed.strip():
            wanted = feed.strip()
            match = [(s, f) for s in services for f in s.feeds if wanted in (f.url, f.name, f.label)]
            if not match:
                names = ", ".join(f.label for s in services for f in s.feeds)
                # The typed text may be a URL with a password that matched nothing: never echo it raw.
                raise QueryError("No feed named “{feed}”. Configured: {names}.", feed=redact_urls(wanted), names=names)
            services, url = [match[0][0]], match[0][1].url
        statuses: list[FeedStatus] = []
        for service in services:
            await service.retry(url)
            statuses.extend(await service.status())
        # Statuses carry redacted URLs: the retried one is named the same way, so it matches and never leaks.
        return FeedRetryResult(tuple(statuses), retried=redact_url(url) if url else None)


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

    >>> _similar_query(Entry("w13", 0, "papers", "ViT 的鲁棒性", None, "Vision Transformer 比 CNN 更稳健。"))
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
MESSAGE_MENUS = collect_menus(Newsbot)
"""The message commands (a message's Apps menu), read off :class:`Newsbot` like :data:`COMMANDS`."""
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}
