"""The commands' vocabulary: their specs and their typed, immutable results (no transport, no I/O).

The command layer (:mod:`bot.commands`) returns these values, the digest (:mod:`bot.digest`) builds its
content with :func:`features_of`, and each surface renders them its own way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrieval.cache import CacheStats
from retrieval.models import Entry, Hit, Issue

if TYPE_CHECKING:  # bot.digest imports this module
    from bot.digest.schedule import DigestSettings

ISSUES_PER_PAGE = 10
DIGEST_MAX_FEATURES = 9
"""The digest message holds the issue embed plus at most nine feature embeds (Discord allows ten)."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description: str
    required: bool = False
    kind: str = "text"
    """``text``, ``int``, ``issue`` (autocomplete on Discord), ``channel`` or ``role`` (Discord only)."""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description: str
    params: tuple[Param, ...] = ()
    admin: bool = False
    group: str | None = None
    """The Discord command group it sits in (``newsbot`` for admin commands), or None for a top-level one."""
    console: bool = True
    """Whether the console offers it (the digest settings need a Discord server)."""

    @property
    def path(self) -> str:
        """The command as Discord lists it: ``ask`` or ``newsbot stats``."""
        return f"{self.group} {self.name}" if self.group else self.name

    @property
    def usage(self) -> str:
        """As the console writes it: ``/ask <question> [issue] [count]``."""
        return self._usage(self.name)

    @property
    def discord_usage(self) -> str:
        """As Discord writes it: ``/newsbot digest-on [channel]``."""
        return self._usage(self.path)

    def _usage(self, head: str) -> str:
        parts = [f"/{head}"]
        for p in self.params:
            parts.append(f"<{p.name}>" if p.required else f"[{p.name}]")
        return " ".join(parts)


ISSUE_HELP = "34, #18, 第 34 期, 34期, 2021-W13, week 13 2021, week 13, 2020 年 9 月, 2021-03 or March 2021"

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("ask", "Ask a question about the archive, in Chinese or English.", (
        Param("question", "What you want to find, e.g. ViT 鲁棒性 or 'matrix multiplication without multiplies'",
              required=True),
        Param("issue", f"Only search this issue: {ISSUE_HELP}", kind="issue"),
        Param("count", "How many results (1-25)", kind="int"),
    )),
    CommandSpec("features", "An issue's “this week's features” (本周特稿/新闻, 每周编辑精选).", (
        Param("issue", f"Which issue (default: the latest): {ISSUE_HELP}", kind="issue"),
    )),
    CommandSpec("issue", "One issue's overview: title, date, link, sections and their items.", (
        Param("issue", f"Which issue: {ISSUE_HELP}", required=True, kind="issue"),
    )),
    CommandSpec("issues", "Browse the archive, newest first.", (
        Param("page", "Page number", kind="int"),
    )),
    CommandSpec("latest", "The newest issue."),
    CommandSpec("digest", "Preview what the weekly digest would post."),
    CommandSpec("help", "What newsbot can do."),
    CommandSpec("stats", "Index size, cache hit rate and uptime.", admin=True, group="newsbot"),
    CommandSpec("reindex", "Reload the archive and rebuild the search index.", admin=True, group="newsbot"),
    # The weekly digest's settings: Discord only, one server's settings each.
    CommandSpec("digest-channel", "Post the weekly digest in this channel.", (
        Param("channel", "The channel for the weekly digest", required=True, kind="channel"),
    ), admin=True, group="newsbot", console=False),
    CommandSpec("digest-schedule", "When the weekly digest is posted.", (
        Param("weekday", "Day of the week", required=True, kind="int"),
        Param("time", "Local time of day, HH:MM (24-hour)", required=True),
        Param("timezone", "IANA time zone, e.g. Europe/Berlin or Asia/Tokyo"),
    ), admin=True, group="newsbot", console=False),
    CommandSpec("digest-policy", "What the weekly digest posts.", (
        Param("policy", "next: replay the archive week by week; latest: only new issues", required=True),
    ), admin=True, group="newsbot", console=False),
    CommandSpec("digest-on", "Turn the weekly digest on.", (
        Param("channel", "The channel for the digest (default: the one already set)", kind="channel"),
    ), admin=True, group="newsbot", console=False),
    CommandSpec("digest-off", "Turn the weekly digest off.", admin=True, group="newsbot", console=False),
    CommandSpec("digest-now", "Post the next digest right away.", admin=True, group="newsbot", console=False),
    CommandSpec("digest-role", "Ping a role on each digest (leave empty: no ping).", (
        Param("role", "The role each digest pings, and the only one it may ping", kind="role"),
    ), admin=True, group="newsbot", console=False),
    CommandSpec("digest-thread", "Open a discussion thread on each digest.", (
        Param("mode", "on: a thread on each digest message, named after the issue; off: none", required=True),
    ), admin=True, group="newsbot", console=False),
    CommandSpec("feed-retry", "Enable a failing or disabled feed again and poll it at the next chance.", (
        Param("feed", "The feed's name or URL (default: every feed)"),
    ), admin=True, group="newsbot"),
)
"""The one registry of commands: the console parses and lists these, the Discord cogs take their names and
descriptions from here, and the /help of each surface is drawn from it (a test compares them with the synced set)."""
CONSOLE_COMMANDS = tuple(c for c in COMMANDS if c.console)
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}


# -- results ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AskResult:
    query: str
    hits: tuple[Hit, ...]
    notice: str | None
    cached: bool
    issues: tuple[Issue, ...] = ()


@dataclass(frozen=True, slots=True)
class FeaturesResult:
    issue: Issue
    items: tuple[Entry, ...]
    more: int
    """How many other items the issue holds."""


@dataclass(frozen=True, slots=True)
class IssueResult:
    issue: Issue


@dataclass(frozen=True, slots=True)
class IssueListResult:
    issues: tuple[Issue, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class HelpResult:
    commands: tuple[CommandSpec, ...]
    issue_forms: str = ISSUE_HELP


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """One configured feed, as stats show it."""

    label: str
    url: str
    state: str
    """``new`` (never polled), ``ok``, ``failing`` (backing off) or ``off`` (disabled; see ``error``)."""
    items: int
    failures: int
    last_success: dt.datetime | None
    next_poll: dt.datetime | None
    error: str | None
    notes: str = ""
    """What the last poll skipped (items without a link, duplicates)."""


def feed_line(f: FeedStatus) -> str:
    """One feed in words, for stats (plain text; each surface escapes it).

    >>> t = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    >>> feed_line(FeedStatus("Akira", "https://x.org/f", "ok", 12, 0, t, t, None))
    'Akira: ok, 12 items, last success 2026-01-01 09:00 UTC, next poll 2026-01-01 09:00 UTC'
    >>> feed_line(FeedStatus("B", "https://y.org/f", "off", 0, 5, None, None, "HTTP 404 (5 failures in a row)"))
    'B: off, 0 items, never succeeded — HTTP 404 (5 failures in a row)'
    """
    parts = [f"{f.label}: {f.state}", f"{f.items} items"]
    parts.append(f"last success {f.last_success:%Y-%m-%d %H:%M} UTC" if f.last_success else "never succeeded")
    if f.state == "failing":
        parts.append(f"{f.failures} failures in a row")
    if f.next_poll is not None:
        parts.append(f"next poll {f.next_poll.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
    text = ", ".join(parts)
    if f.error and f.state in ("failing", "off"):
        text += f" — {f.error}"
    if f.notes:
        text += f" (last poll: {f.notes})"
    return text


@dataclass(frozen=True, slots=True)
class FeedRetryResult:
    feeds: tuple[FeedStatus, ...]


@dataclass(frozen=True, slots=True)
class StatsResult:
    issues: int
    documents: int
    entries: int
    features: int
    repaired: int
    skipped: int
    cache: CacheStats
    uptime_seconds: float
    archive: str
    index_fingerprint: str
    digest: str | None = None
    """This guild's digest schedule, or why it is off (e.g. a 403), when asked from a guild."""
    digest_settings: DigestSettings | None = None
    """The same as values, for a surface that renders them itself (Discord: a clickable channel)."""
    digest_waiting: str | None = None
    """Why the digest waits (the shared state store is unreachable), when it does."""
    feeds: tuple[FeedStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestPreview:
    features: FeaturesResult
    schedule: str


@dataclass(frozen=True, slots=True)
class ReindexResult:
    issues: int
    entries: int
    skipped: tuple[str, ...]
    seconds: float
    changed: bool


Result = (AskResult | FeaturesResult | IssueResult | IssueListResult | HelpResult | StatsResult | DigestPreview
          | ReindexResult | FeedRetryResult)


def features_of(issue: Issue, limit: int = DIGEST_MAX_FEATURES) -> FeaturesResult:
    """An issue's features; an issue that marks none offers its first items instead."""
    items = issue.features or issue.entries
    shown = items[:limit]
    return FeaturesResult(issue, shown, len(issue.entries) - len(shown))

