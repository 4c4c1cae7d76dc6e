"""The commands' typed, immutable results (no transport, no I/O).

The command layer (:mod:`bot.commands`) returns these values, the digest (:mod:`bot.digest`) builds its
content with :func:`features_of`, and each surface renders every one of them its own way (a renderer that
misses a case fails mypy: each ends its ``match`` on :data:`Result` with ``assert_never``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.i18n import EN, N_, Lang
from bot.registry import CommandSpec, MenuSpec
from retrieval.cache import CacheStats
from retrieval.models import Entry, Hit, Issue

if TYPE_CHECKING:  # bot.digest imports this module
    from bot.digest.schedule import DigestSettings
    from retrieval.filters import SearchFilter

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
    filters: SearchFilter | None = None
    """The since/until/section filters it was asked with (None or inactive: none)."""


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
    menus: tuple[MenuSpec, ...] = ()
    """The message commands (a message's Apps menu), for a surface that has them (Discord)."""


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
    name: str = ""
    """Which archive these figures are about; empty when the deployment has one."""


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
    archive: str = ""
    """The archive these settings are for, named only in a deployment of several ('' otherwise)."""


@dataclass(frozen=True, slots=True)
class DigestNowResult:
    status: str
    """The scheduler's outcome: ``posted``, ``recovered``, ``nothing``, ``busy``, ``recent`` or a failure."""
    text: str
    """What happened, in words."""
    label: str | None = None
    """The posted issue's label (``posted`` only), for a surface that words it itself."""


# -- keyword alerts (bot/alerts) -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AlertSub:
    """One of a member's keyword alerts, as shown to them."""

    number: int
    """Its place in the member's list (1, 2, …), oldest first."""
    id: int
    """Its stable id (the remove buttons and /unsubscribe's autocomplete carry it)."""
    query: str
    """As typed: every surface shows it literally (escaped, never a ping)."""
    section: str = ""
    """A section's value (``papers``), or '' for every section."""
    archive: str = ""
    """The archive it watches; '' is the default one."""
    paused: str | None = None
    """Why it sends nothing (closed direct messages), or None."""


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    status: str
    """``added``, ``resumed`` (a paused one of the same words) or ``exists``."""
    sub: AlertSub
    held: int
    limit: int
    direct: bool
    """Whether alerts reach this surface (Discord direct messages); False in the console."""


@dataclass(frozen=True, slots=True)
class SubscriptionsResult:
    user_id: int
    """Whose list this is: only they may press its remove buttons."""
    subs: tuple[AlertSub, ...]
    limit: int


@dataclass(frozen=True, slots=True)
class UnsubscribeResult:
    sub: AlertSub
    left: int


@dataclass(frozen=True, slots=True)
class AlertMatch:
    """One item of a new issue that matched a member's alert."""

    entry: Entry
    score: float
    queries: tuple[str, ...]
    """The member's queries that found it, as typed."""


@dataclass(frozen=True, slots=True)
class AlertResult:
    """The direct message one member gets for one new issue."""

    issue: Issue
    matches: tuple[AlertMatch, ...]
    marker: str
    """Marks the message (in its footer), so a restarted sender can find it in the member's DMs."""


@dataclass(frozen=True, slots=True)
class AlertNoticeResult:
    """Said once, in a member's next reply: these alerts were paused (their direct messages are closed)."""

    paused: tuple[AlertSub, ...]


_SUBSCRIBED = {
    ("added", True): N_("Alert added: {alert}. You hold {held} of {limit}. I will send you a direct message when a "
                        "new issue has matching items."),
    ("added", False): N_("Alert added: {alert}. You hold {held} of {limit}. Alerts are direct messages from the "
                         "Discord bot: the console gets none."),
    ("resumed", True): N_("Alert resumed: {alert}. You hold {held} of {limit}. I will send you a direct message "
                          "when a new issue has matching items."),
    ("resumed", False): N_("Alert resumed: {alert}. You hold {held} of {limit}. Alerts are direct messages from "
                           "the Discord bot: the console gets none."),
    ("exists", True): N_("You already have this alert: {alert}. You hold {held} of {limit}. I will send you a "
                         "direct message when a new issue has matching items."),
    ("exists", False): N_("You already have this alert: {alert}. You hold {held} of {limit}. Alerts are direct "
                          "messages from the Discord bot: the console gets none."),
}


def subscribe_text(result: SubscribeResult, line: str, lg: Lang = EN) -> str:
    """The reply to /subscribe around ``line`` (the alert as the surface shows it, already escaped).

    >>> subscribe_text(SubscribeResult("added", AlertSub(1, 5, "gpu"), 1, 10, False), "1. gpu")
    'Alert added: 1. gpu. You hold 1 of 10. Alerts are direct messages from the Discord bot: the console gets none.'
    """
    template = _SUBSCRIBED.get((result.status, result.direct), _SUBSCRIBED["added", result.direct])
    return lg.gettext(template, alert=line, held=result.held, limit=result.limit)


def alert_notice_text(lines: list[str], lg: Lang = EN) -> str:
    """The one-time notice that a member's alerts were paused (``lines``: each alert, already escaped)."""
    return lg.gettext("Your keyword alerts are paused: I could not send you a direct message (Discord error 50007: "
                      "your direct messages are closed to me). Allow direct messages from this server, then "
                      "/subscribe the same words again to resume each one:\n{alerts}", alerts="\n".join(lines))


AlertReply = SubscribeResult | SubscriptionsResult | UnsubscribeResult | AlertResult | AlertNoticeResult
"""The keyword alerts' results: each renderer draws them in one helper of its own."""

def archive_default_text(result: ArchiveDefaultResult, lg: Lang = EN) -> str:
    """What every surface says after ``/newsbot archive-default``.

    >>> archive_default_text(ArchiveDefaultResult("rust", ("akira", "rust")))
    'Members of this server now get the rust archive when they name none. Archives: akira, rust.'
    """
    chosen = N_("Members of this server now get the {archive} archive when they name none. Archives: {archives}.")
    cleared = N_("This server's choice is cleared: the deployment's default archive ({archive}) serves. "
                 "Archives: {archives}.")
    template = chosen if result.chosen else cleared
    return lg.gettext(template, archive=result.archive, archives=", ".join(result.archives))


@dataclass(frozen=True, slots=True)
class ArchiveDefaultResult:
    """``/newsbot archive-default``: the archive this server's members now get when they name none."""

    archive: str
    archives: tuple[str, ...]
    """Every archive of the deployment, the deployment's default first."""
    chosen: bool = True
    """False: the server's choice was cleared, and the deployment's default serves."""


Result = (AskResult | SimilarResult | FeaturesResult | IssueResult | IssueListResult | HelpResult | StatsResult
          | DigestPreview | ReindexResult | FeedRetryResult | DigestSettingsResult | DigestNowResult
          | SubscribeResult | SubscriptionsResult | UnsubscribeResult | AlertResult | AlertNoticeResult
          | ArchiveDefaultResult)


def features_of(issue: Issue, limit: int = DIGEST_MAX_FEATURES) -> FeaturesResult:
    """An issue's features; an issue that marks none offers its first items instead."""
    items = issue.features or issue.entries
    shown = items[:limit]
    return FeaturesResult(issue, shown, len(issue.entries) - len(shown))

