"""The commands' typed, immutable results (no transport, no I/O).

The command layer (:mod:`bot.commands`) returns these values, the digest (:mod:`bot.digest`) builds its
content with :func:`features_of`, and each surface renders every one of them its own way (a renderer that
misses a case fails mypy: each ends its ``match`` on :data:`Result` with ``assert_never``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.registry import CommandSpec
from retrieval.cache import CacheStats
from retrieval.models import Entry, Hit, Issue

if TYPE_CHECKING:  # bot.digest imports this module
    from bot.digest.schedule import DigestSettings

ISSUES_PER_PAGE = 10
DIGEST_MAX_FEATURES = 9
"""The digest message holds the issue embed plus at most nine feature embeds (Discord allows ten)."""


ISSUE_HELP = "34, #18, 第 34 期, 34期, 2021-W13, week 13 2021, week 13, 2020 年 9 月, 2021-03 or March 2021"

# -- results ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AskResult:
    query: str
    hits: tuple[Hit, ...]
    notice: str | None
    cached: bool
    issues: tuple[Issue, ...] = ()


@dataclass(frozen=True, slots=True)
class SimilarResult:
    item: Entry
    """The item the others are like (never among :attr:`hits`)."""
    issue: Issue
    hits: tuple[Hit, ...]


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
    retried: str | None = None
    """The (redacted) URL of the one feed retried, as its status shows it; None: every feed was."""

    @property
    def retried_labels(self) -> tuple[str, ...]:
        """The retried feeds by the names stats show, so the reply says which one it retried."""
        return tuple(f.label for f in self.feeds if self.retried is None or f.url == self.retried)


def feed_retry_title(result: FeedRetryResult) -> str:
    """What a retry did, naming the feed (plain text; each surface escapes it).

    >>> a, b = (FeedStatus(n, f"https://{n}.org/f", "new", 0, 0, None, None, None) for n in ("akira", "b"))
    >>> feed_retry_title(FeedRetryResult((a, b), retried="https://akira.org/f"))
    'Feed “akira” enabled again'
    >>> feed_retry_title(FeedRetryResult((a, b)))
    'All 2 feeds enabled again: akira, b'
    >>> feed_retry_title(FeedRetryResult((a,)))
    'Feed “akira” enabled again'
    """
    labels = result.retried_labels
    if result.retried is not None or len(labels) == 1:
        return f"Feed “{', '.join(labels) or result.retried}” enabled again"
    return f"All {len(labels)} feeds enabled again: {', '.join(labels)}"


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
    """The archive folder; empty in a guild admin's view (only operators see the deployment)."""
    index_fingerprint: str
    digest: str | None = None
    """This guild's digest schedule, or why it is off (e.g. a 403), when asked from a guild."""
    digest_settings: DigestSettings | None = None
    """The same as values, for a surface that renders them itself (Discord: a clickable channel)."""
    digest_waiting: str | None = None
    """Why the digest waits (the shared state store is unreachable), when it does."""
    feeds: tuple[FeedStatus, ...] = ()
    """Operators only: a guild admin's view has none."""


@dataclass(frozen=True, slots=True)
class DigestPreview:
    features: FeaturesResult
    schedule: str
    """The schedule in English words (``describe``)."""
    settings: DigestSettings | None = None
    """The same as values, for a surface that words them in another language."""


@dataclass(frozen=True, slots=True)
class ReindexResult:
    issues: int
    entries: int
    skipped: tuple[str, ...]
    seconds: float
    changed: bool


@dataclass(frozen=True, slots=True)
class DigestSettingsResult:
    """One server's digest settings after an admin changed them; ``title`` says what changed."""

    title: str
    settings: DigestSettings


@dataclass(frozen=True, slots=True)
class DigestNowResult:
    status: str
    """The scheduler's outcome: ``posted``, ``recovered``, ``nothing``, ``busy``, ``recent`` or a failure."""
    text: str
    """What happened, in words."""
    label: str | None = None
    """The posted issue's label (``posted`` only), for a surface that words it itself."""


Result = (AskResult | SimilarResult | FeaturesResult | IssueResult | IssueListResult | HelpResult | StatsResult
          | DigestPreview | ReindexResult | FeedRetryResult | DigestSettingsResult | DigestNowResult)


def features_of(issue: Issue, limit: int = DIGEST_MAX_FEATURES) -> FeaturesResult:
    """An issue's features; an issue that marks none offers its first items instead."""
    items = issue.features or issue.entries
    shown = items[:limit]
    return FeaturesResult(issue, shown, len(issue.entries) - len(shown))

