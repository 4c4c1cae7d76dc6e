"""The sending side of keyword alerts: which issues are new, who they match, and one message each, once.

How an alert stays exactly-once across restarts, processes and hosts (the digest's way, :mod:`bot.digest.scheduler`):

1. *New* means new to the shared store: the first time alerts run on an archive, the issues it holds are
   recorded as the baseline (no news); an issue seen after that is recorded with the moment the first process
   saw it (``alert_issues``). A feed's first poll stores its backlog quietly, and alerts skip those issues too.
   A subscription only hears of issues first seen after it was made.
2. For each new issue, every active subscription is matched (:mod:`bot.alerts.match`) in a worker thread, and
   each member with matches gets one *claim* (``alert_sends``, keyed archive, issue and member): one
   ``INSERT … ON CONFLICT DO NOTHING RETURNING`` that only one caller wins, before anything is sent.
3. The claim's winner sends the member one message listing every match of all their alerts, and records it.
   A claim whose sender died keeps a lease; once it runs out, one conditional ``UPDATE`` hands it to one taker,
   which first looks for the message in the member's DMs (:meth:`AlertSender.find_alert`), and sends only if it
   is not there.
4. Right before sending, the member's subscriptions are read again: an alert removed or paused in between sends
   nothing. A member whose DMs are closed (Discord 50007) has all their alerts paused and is told once, in
   their next reply (:meth:`bot.alerts.book.AlertBook.take_notice`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from bot.alerts import CONSOLE_USER_ID
from bot.alerts.match import member_matches, queries_of
from bot.config import AlertsConfig
from bot.errors import DMClosed, PostError, PostTransient, StoreUnavailable
from bot.results import AlertMatch, AlertResult
from bot.store.protocol import AlertStore
from bot.store.records import AlertClaim, Subscription
from bot.store.schema import DEFAULT_ARCHIVE
from retrieval.models import Archive, Issue

if TYPE_CHECKING:
    from retrieval.search import SearchEngine

log = logging.getLogger(__name__)

DEFAULT_LEASE = dt.timedelta(minutes=10)
"""How long a claim is left to its sender before another process may finish it (far longer than one send)."""
CHECK_SECONDS = 60.0
"""The longest the alerts wait between two looks for new issues when no reindex wakes them."""
CLOSED_REASON = "your direct messages are closed to the bot (Discord 50007)"
AlertStatus = Literal["sent", "recovered", "closed", "gone", "failed", "retrying"]


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What one member's alert for one issue came to in this process."""

    user_id: int
    issue_id: str
    status: AlertStatus
    message_id: int | None = None
    detail: str = ""


class AlertSender(Protocol):
    """The transport (:class:`bot.discord_adapter.dm.DMSender`): a direct message to one member."""

    async def send_alert(self, user_id: int, alert: AlertResult) -> int:
        """Send and return the message id. Raise :class:`DMClosed` for closed DMs, other :class:`PostError`
        subclasses for other failures (:class:`PostTransient`: worth another try)."""
        ...

    async def find_alert(self, user_id: int, marker: str) -> int | None:
        """Our own alert marked ``marker`` among the member's recent direct messages, if any."""
        ...


class Indexed(Protocol):
    """What alerts need of :class:`bot.library.Library`."""

    @property
    def archive(self) -> Archive: ...

    @property
    def engine(self) -> SearchEngine: ...


def alert_marker(archive: str, issue_id: str) -> str:
    """The footer that marks a member's alert for an issue, so a restart can find it in their DMs.

    The deployment's one archive of a single-archive setup (``default``) is not named, like a digest's mark.

    >>> alert_marker("default", "week-13-2021"), alert_marker("rust", "twir-600")
    ('newsbot alert · week-13-2021', 'newsbot alert · rust/twir-600')
    """
    named = archive and archive != DEFAULT_ARCHIVE
    return f"newsbot alert · {archive + '/' if named else ''}{issue_id}"


def _by_member(subs: list[Subscription], first_seen: dt.datetime) -> dict[int, list[tuple[str, str]]]:
    members: dict[int, list[tuple[str, str]]] = {}
    for s in subs:
        # The console's own alerts are never sent (it is not a Discord member); an alert made after the issue
        # arrived is not told of it.
        if s.user_id == CONSOLE_USER_ID or (s.created_at is not None and s.created_at > first_seen):
            continue
        members.setdefault(s.user_id, []).append((s.query, s.section))
    return {uid: queries_of(qs) for uid, qs in members.items()}


class AlertService:
    """Finds new issues of ``library`` and alerts the members whose subscriptions match them, once.

    Drive it with :meth:`run_forever` (the Discord client starts it) or call :meth:`check`; :meth:`wake` (hooked
    to the library's reindex) makes the loop look at once."""

    def __init__(self, store: AlertStore, library: Indexed, config: AlertsConfig, *, archive: str = "",
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 lease: dt.timedelta = DEFAULT_LEASE) -> None:
        self.store = store
        self.library = library
        self.config = config
        self.archive = archive
        self._clock = clock
        self._lease = lease
        self._based = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    async def check(self, sender: AlertSender) -> list[AlertOutcome]:
        """Record the issues new since the last look, and alert the members they match."""
        async with self._lock:
            archive = self.library.archive
            now = self._clock()
            ids = [i.id for i in archive.issues]
            if not self._based:
                await self.store.alert_baseline(self.archive, ids, now)  # once per archive: the rest is no news
                self._based = True
            known = await self.store.alert_known(self.archive)
            await self.store.alert_add_issues(self.archive, [i for i in ids if i not in known], now)
            pending = await self.store.alert_pending(self.archive)
            if not pending:
                return []
            quiet = await self.store.quiet_issues()
            outcomes: list[AlertOutcome] = []
            for issue_id, first_seen in pending:
                issue = archive.get(issue_id)
                if issue is None:
                    continue  # not in this host's folder yet: a host that has it, or a later look, sends
                if issue_id in quiet:  # a feed's backlog, stored without an announcement
                    await self.store.alert_issue_done(self.archive, issue_id, now)
                    continue
                outcomes += await self._issue(sender, issue, first_seen)
            return outcomes

    async def _issue(self, sender: AlertSender, issue: Issue, first_seen: dt.datetime) -> list[AlertOutcome]:
        members = _by_member(await self.store.alert_active(self.archive), first_seen)
        engine, cfg = self.library.engine, self.config
        # Ranking is CPU work: off the event loop, one thread hop for every member of this issue.
        found = await asyncio.to_thread(lambda: {
            uid: member_matches(engine, issue, qs, cfg.min_score, cfg.max_matches) for uid, qs in members.items()})
        claims = {c.user_id: c for c in await self.store.alert_claims(self.archive, issue.id)}
        outcomes: list[AlertOutcome] = []
        unfinished = False
        for uid, matches in found.items():
            if not matches:
                continue
            outcome = await self._member(sender, issue, uid, matches, claims.get(uid))
            if outcome is None or outcome.status == "retrying":
                unfinished = True
            if outcome is not None:
                outcomes.append(outcome)
        if not unfinished:
            await self.store.alert_issue_done(self.archive, issue.id, self._clock())
        return outcomes

    async def _member(self, sender: AlertSender, issue: Issue, uid: int, matches: tuple[AlertMatch, ...],
                      claim: AlertClaim | None) -> AlertOutcome | None:
        """Claim (or take over) one member's alert and send it; None while another process holds it."""
        now = self._clock()
        until = now + self._lease
        if claim is None:
            if not await self.store.alert_claim(self.archive, issue.id, uid, now, until):
                return None  # another process won it just now
            return await self._send(sender, issue, uid, matches, recover=False)
        if claim.status != "claimed":
            return AlertOutcome(uid, issue.id, "gone" if claim.status == "gone" else "sent", claim.message_id,
                                "already handled")
        if claim.lease_until is not None and claim.lease_until > now:
            return None  # its sender is (or may be) still at it
        if not await self.store.alert_take_lease(self.archive, issue.id, uid, now, until):
            return None
        return await self._send(sender, issue, uid, matches, recover=True)

    async def _send(self, sender: AlertSender, issue: Issue, uid: int, matches: tuple[AlertMatch, ...], *,
                    recover: bool) -> AlertOutcome:
        marker = alert_marker(self.archive, issue.id)
        # Read again right before sending: an alert removed or paused since the matching sends nothing.
        live = {s.query for s in await self.store.alert_subscriptions(uid)
                if s.paused_reason is None and s.archive == self.archive}
        matches = tuple(m for m in matches if any(q in live for q in m.queries))
        finish = self.store.alert_finish
        if not matches:
            await finish(self.archive, issue.id, uid, "gone", self._clock(), detail="removed or paused")
            return AlertOutcome(uid, issue.id, "gone")
        try:
            if recover:
                found = await sender.find_alert(uid, marker)
                if found is not None:
                    await finish(self.archive, issue.id, uid, "sent", self._clock(), message_id=found)
                    return AlertOutcome(uid, issue.id, "recovered", found)
            message_id = await sender.send_alert(uid, AlertResult(issue, matches, marker))
        except DMClosed as err:
            paused = await self.store.alert_pause_user(uid, CLOSED_REASON)
            await finish(self.archive, issue.id, uid, "closed", self._clock(), detail=str(err)[:300])
            log.info("alerts: member %s has closed DMs; %d alert(s) paused", uid, paused)
            return AlertOutcome(uid, issue.id, "closed", detail=str(err))
        except PostTransient as err:
            # The claim stays: once its lease runs out, a look (for the message) and a retry, by any process.
            log.warning("alert for member %s, issue %s: %s; retried later", uid, issue.id, err)
            return AlertOutcome(uid, issue.id, "retrying", detail=str(err))
        except PostError as err:
            await finish(self.archive, issue.id, uid, "failed", self._clock(), detail=str(err)[:300])
            log.warning("alert for member %s, issue %s failed: %s", uid, issue.id, err)
            return AlertOutcome(uid, issue.id, "failed", detail=str(err))
        await finish(self.archive, issue.id, uid, "sent", self._clock(), message_id=message_id)
        log.info("alert sent to member %s for %s (%d item(s))", uid, issue.label, len(matches))
        return AlertOutcome(uid, issue.id, "sent", message_id)

    async def run_forever(self, sender: AlertSender, interval: float = CHECK_SECONDS) -> None:
        """Check at every wake (a reindex) and at least every ``interval`` seconds, until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self.check(sender)
            except StoreUnavailable as err:
                log.warning("alerts: %s; next look in %s s", err.detail, interval)
            except Exception:  # the loop's boundary: one bad look must not end the alerts
                log.exception("alert check failed; next look in %s s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
