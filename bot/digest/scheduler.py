"""The exactly-once state machine of the weekly digest: claim, send, record, recover.

Transport-free: the Discord adapter implements :class:`Poster` (built after the client it posts through, and
handed to :meth:`DigestScheduler.run_forever` and :meth:`DigestScheduler.post_now`); tests use an in-memory
one. Time comes from an injected clock, so weeks of schedule run in milliseconds. State lives in a
:class:`~bot.store.Store`, shared by every process of a deployment.

How a weekly post stays exactly-once across crashes, reconnects, restarts, shards and hosts:

1. The slot is the guild's ISO week in its own time zone (``2021-W13``). A row in ``digest_posts``
   keyed ``(guild_id, slot)`` is *claimed* (one ``INSERT … ON CONFLICT DO NOTHING RETURNING``) before
   anything is sent, so a second tick, a second process or a second ``on_ready`` finds the row and posts
   nothing. Shard ownership only routes the work; the claim is what makes a double post impossible, even
   for a zombie process that still thinks it owns a shard.
2. After the send, the message id is recorded and the row becomes ``posted``.
3. A ``claimed`` row without a message id means the sender died in between, or is still sending.
   Each claim carries a lease; once it has run out, one conditional ``UPDATE`` hands it to one taker,
   which asks the channel (:meth:`Poster.find_existing`) whether the message went out, records it if so,
   and sends it otherwise. A claim for a week that is over is only looked up, never sent late.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from bot.config import DigestConfig
from bot.digest.publish import publish_digest
from bot.digest.schedule import (
    DigestSettings,
    Slot,
    is_manual,
    manual_slot_id,
    next_due_at,
    nothing_to_post,
    parse_policy,
    pick_issue,
    slot_for,
    thread_name,
)
from bot.digest.transport import ArchiveSource, Poster
from bot.errors import (
    DigestError,
    PostError,
    PostForbidden,
    PostNotFound,
    PostRejected,
    PostTransient,
    StoreUnavailable,
)
from bot.results import FeaturesResult, features_of
from bot.store import PostRecord, Store
from bot.store.schema import DEFAULT_ARCHIVE
from bot.timeparse import parse_new_timezone
from retrieval.models import Archive, Issue

log = logging.getLogger(__name__)

OutcomeStatus = Literal["posted", "recovered", "skipped", "retrying", "disabled", "missed", "error", "busy",
                        "nothing", "recent"]
"""``posted``: sent now; ``recovered``: found already in the channel and recorded; ``skipped``: due, nothing to
post; ``retrying``: 5xx outlasted the back-off, the claim waits for the next tick; ``disabled``: 403/404;
``missed``: a crashed claim of a past week that never went out; ``error``: an unexpected exception (logged).
Only ``post_now``: ``busy`` (the same request is already being posted), ``recent`` (a digest went out less than
:data:`REPEAT_WINDOW` ago: this is the same request again), ``nothing`` (no issue to post)."""

DEFAULT_LEASE = dt.timedelta(minutes=10)
"""How long a claim is left to its sender before another tick may finish it. Longer than a post plus
the retry back-off (1 + 5 + 30 s), so a live sender is never second-guessed."""

REPEAT_WINDOW = dt.timedelta(minutes=1)
"""A ``digest-now`` within this long of the guild's last claim is that request again (a double submit, two admins
at once), not a wish for a second digest: it posts nothing."""

FORBIDDEN_REASON = "missing permissions in the channel (403)"
NOT_FOUND_REASON = "the channel no longer exists (404)"
THREAD_FORBIDDEN = "the digest was posted, but the bot may not open a thread there (403: needs Create Public Threads)"
RETRY_FLOOR = dt.timedelta(seconds=60)
"""A claim left for retry (5xx outlasted the back-off) is tried again no sooner than this."""


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """What one tick (or ``post_now``) did for one guild and slot."""

    guild_id: int
    slot: str
    status: OutcomeStatus
    issue_id: str | None = None
    message_id: int | None = None
    detail: str = ""


def _always(guild_id: int) -> bool:
    return True


class DigestScheduler:
    """Decides, for every guild this process owns, whether a digest is due, and posts it once.

    Drive it with :meth:`run_forever` (started once, from ``setup_hook``), or call :meth:`tick`.
    """

    def __init__(self, store: Store, library: ArchiveSource,
                 clock: Callable[[], dt.datetime], owns_guild: Callable[[int], bool] = _always,
                 retry_delays: Sequence[float] = (1, 5, 30),
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, *,
                 lease: dt.timedelta = DEFAULT_LEASE, defaults: DigestConfig | None = None) -> None:
        self._store = store
        self._library = library
        self._clock = clock
        self._owns = owns_guild
        self._retry_delays = tuple(retry_delays)
        self._sleep = sleep
        self._lease = lease
        self._defaults = defaults or DigestConfig()
        self._running = False
        self._store_down_since: dt.datetime | None = None
        self._wake = asyncio.Event()
        """Set when settings change, so the loop recomputes the next due slot at once."""

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the digest clock must return aware datetimes")
        return now.astimezone(dt.UTC)

    def _mark(self, slot: str) -> str:
        """The slot as the poster marks the message (footer, nonce): a guild may get several archives' digests in
        one channel in one week, and each must find only its own after a crash. The default archive's mark is
        the slot alone, as before several archives, so a digest posted before an upgrade is still found."""
        archive = self._store.archive
        return slot if archive == DEFAULT_ARCHIVE else f"{slot} · {archive}"

    # -- settings --

    async def settings(self, guild_id: int) -> DigestSettings:
        """The guild's settings, or the configured defaults if it never set any."""
        stored = await self._store.get_settings(guild_id)
        return stored or DigestSettings.from_config(guild_id, self._defaults)

    async def configure(self, guild_id: int, *, channel_id: int | None = None, weekday: int | None = None,
                        time: dt.time | None = None, timezone: str | None = None,
                        policy: str | None = None) -> DigestSettings:
        """Change some settings (None keeps a value). Never resets the week's claim or the enable time,
        so a slot already claimed is not posted again."""
        s = await self.settings(guild_id)
        if weekday is not None and not 0 <= weekday <= 6:
            raise DigestError("The weekday must be 0 (Monday) to 6 (Sunday), not {weekday}.", weekday=weekday)
        if timezone is not None:
            parse_new_timezone(timezone)  # raises ConfigError with a hint
        new = replace(s, channel_id=s.channel_id if channel_id is None else channel_id,
                      weekday=s.weekday if weekday is None else weekday, time=s.time if time is None else time,
                      timezone=s.timezone if timezone is None else timezone,
                      policy=s.policy if policy is None else parse_policy(policy))
        await self._store.put_settings(new)
        self._wake.set()
        return new

    async def set_role(self, guild_id: int, role_id: int | None) -> DigestSettings:
        """``/newsbot digest-role``: ping this role (and only it) on each digest; None stops pinging."""
        new = replace(await self.settings(guild_id), role_id=role_id)
        await self._store.put_settings(new)
        return new

    async def set_locale(self, guild_id: int, locale: str | None) -> DigestSettings:
        """``/newsbot digest-language``: the digest's language; None follows the server's preferred locale."""
        new = replace(await self.settings(guild_id), locale=locale)
        await self._store.put_settings(new)
        return new

    async def set_thread(self, guild_id: int, on: bool) -> DigestSettings:
        """``/newsbot digest-thread``: open a discussion thread on each digest message."""
        new = replace(await self.settings(guild_id), thread=on, thread_error=None)
        await self._store.put_settings(new)
        return new

    async def enable(self, guild_id: int, channel_id: int | None = None) -> DigestSettings:
        """Turn the digest on. Issues that exist now become the backlog (never flooded); if this week's
        due time has already passed, the first post waits for next week."""
        s = await self.settings(guild_id)
        channel = s.channel_id if channel_id is None else channel_id
        if channel is None:
            raise DigestError("Choose a channel for the digest first.")
        now = self._now()
        if s.enabled and channel == s.channel_id:
            return s  # already on: keep the original enable time
        new = replace(s, channel_id=channel, enabled=True, disabled_reason=None,
                      enabled_at=s.enabled_at if s.enabled else now)
        await self._store.put_settings(new)
        await self._store.take_baseline(guild_id, [i.id for i in self._archive().newsletter_issues], now)
        self._wake.set()
        return new

    async def disable(self, guild_id: int, reason: str = "turned off by an admin") -> DigestSettings:
        s = await self.settings(guild_id)
        new = replace(s, enabled=False, disabled_reason=reason)
        await self._store.put_settings(new)
        return new

    # -- reading --

    async def preview(self, guild_id: int | None) -> FeaturesResult | None:
        """What the guild's next digest would hold (None: nothing new to post). Without a guild: the latest
        issue, as ``/digest`` shows it."""
        archive = self._archive()
        if guild_id is None:
            return features_of(archive.latest) if archive.latest else None
        s = await self.settings(guild_id)
        issue = await self._pick(s, archive)
        return features_of(issue) if issue else None

    async def _pick(self, s: DigestSettings, archive: Archive) -> Issue | None:
        issues = archive.newsletter_issues
        baseline = await self._store.baseline(s.guild_id)
        if baseline is None:
            baseline = frozenset(i.id for i in issues)  # what enabling now would record
        # Issues a feed stored on its first poll are backlog for every guild: never announced as new.
        baseline |= await self._store.quiet_issues()
        pending = {r.issue_id for r in await self._store.claimed_rows(s.guild_id) if r.issue_id}
        return pick_issue(issues, s.policy, await self._store.received(s.guild_id) | pending, baseline)

    # -- posting --

    def _archive(self) -> Archive:
        return self._library.archive

    async def tick(self, poster: Poster) -> list[PostOutcome]:
        """One pass over the enabled guilds this process owns; returns what was done (not-due guilds are
        silent). One guild's failure is logged and reported; the others still post."""
        now = self._now()
        archive = self._archive()
        outcomes: list[PostOutcome] = []
        for s in await self._store.enabled_guilds():
            try:
                if s.channel_id is None or not self._owns(s.guild_id):
                    continue
                outcomes.extend(await self._tick_guild(poster, s, s.channel_id, now, archive))
            except StoreUnavailable:
                raise  # not this guild's problem: the whole tick waits for the store
            except Exception as err:  # the per-guild boundary: one guild's bug must not cost the others
                log.exception("digest for guild %s failed", s.guild_id)
                outcomes.append(PostOutcome(s.guild_id, "", "error", detail=repr(err)))
        return outcomes

    async def _tick_guild(self, poster: Poster, s: DigestSettings, channel_id: int, now: dt.datetime,
                          archive: Archive) -> list[PostOutcome]:
        slot = slot_for(now, s)
        outcomes: list[PostOutcome] = []
        for row in await self._store.claimed_rows(s.guild_id):
            if row.lease_until is not None and row.lease_until > now:
                continue  # its sender may still be at work (this or another process)
            if await self._store.take_lease(s.guild_id, row.slot, now, now + self._lease):
                outcomes.append(await self._resume(poster, s, row, slot, archive))
        if now < slot.due_at or (s.enabled_at is not None and slot.due_at < s.enabled_at):
            return outcomes  # not due yet, or enabled after this week's time: next week is the first
        if await self._store.get_post(s.guild_id, slot.id) is None:
            outcome = await self._claim_and_post(poster, s, channel_id, slot.id, archive, manual=False)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _resume(self, poster: Poster, s: DigestSettings, row: PostRecord, current: Slot,
                      archive: Archive) -> PostOutcome:
        """Finish a claim whose sender died (or gave up on 5xx): look in the channel before sending."""
        channel = row.channel_id if row.channel_id is not None else s.channel_id
        assert channel is not None
        if row.slot != current.id:
            # The week is over (or it was a one-off manual post): record it if it went out, never send late.
            try:
                found = await poster.find_existing(channel, self._mark(row.slot))
            except PostTransient as err:
                await self._store.release(s.guild_id, row.slot, self._now(), f"lookup failed: {err}")
                return PostOutcome(s.guild_id, row.slot, "retrying", row.issue_id, detail=str(err))
            except (PostForbidden, PostNotFound) as err:
                return await self._disable_for(s, row.slot, row.issue_id, err)
            if found is not None and row.issue_id is not None:
                await self._store.mark_posted(s.guild_id, row.slot, row.issue_id, found, self._now())
                return PostOutcome(s.guild_id, row.slot, "recovered", row.issue_id, found)
            await self._store.finish(s.guild_id, row.slot, "missed", "the week ended before the post was confirmed")
            return PostOutcome(s.guild_id, row.slot, "missed", row.issue_id)
        issue = archive.get(row.issue_id) if row.issue_id else None
        if issue is None:  # the claimed issue left the archive (reindex): choose again
            issue = await self._pick(s, archive)
            if issue is None:
                await self._store.finish(s.guild_id, row.slot, "failed", "the claimed issue left the archive")
                return PostOutcome(s.guild_id, row.slot, "nothing", row.issue_id)
            await self._store.set_issue(s.guild_id, row.slot, issue.id)
        return await self._deliver(poster, s, channel, row.slot, issue, manual=False, look_first=True)

    async def _claim_and_post(self, poster: Poster, s: DigestSettings, channel_id: int, slot: str,
                              archive: Archive, manual: bool) -> PostOutcome | None:
        issue = await self._pick(s, archive)
        now = self._now()
        if issue is None:
            if manual:
                return PostOutcome(s.guild_id, slot, "nothing", detail=nothing_to_post(s))
            # The week came with nothing new: close it, so a later issue waits for next week's time.
            return PostOutcome(s.guild_id, slot, "skipped") if await self._store.skip(s.guild_id, slot, now) else None
        if not await self._store.claim(s.guild_id, slot, issue.id, channel_id, now, now + self._lease):
            return None if not manual else PostOutcome(s.guild_id, slot, "busy", detail="already being posted")
        return await self._deliver(poster, s, channel_id, slot, issue, manual=manual and is_manual(slot),
                                   look_first=False)

    async def _deliver(self, poster: Poster, s: DigestSettings, channel_id: int, slot: str, issue: Issue, *,
                       manual: bool, look_first: bool) -> PostOutcome:
        """Send a claimed slot, retrying transient errors. Before any resend, look in the channel: a 5xx
        or a crash may have come after Discord created the message."""
        content = features_of(issue)
        error: PostTransient | None = None
        for attempt in range(len(self._retry_delays) + 1):
            if attempt:
                await self._sleep(self._retry_delays[attempt - 1])
            try:
                found = await poster.find_existing(channel_id, self._mark(slot)) if attempt or look_first else None
                if found is not None:
                    await self._store.mark_posted(s.guild_id, slot, issue.id, found, self._now())
                    await publish_digest(self._store, poster, s, channel_id, found)
                    await self._open_thread(poster, s, channel_id, found, issue)
                    return PostOutcome(s.guild_id, slot, "recovered", issue.id, found)
                message_id = await poster.post(channel_id, s.guild_id, self._mark(slot), content, role_id=s.role_id,
                                               locale=s.locale)
            except PostTransient as err:
                error = err
                log.warning("digest for guild %s slot %s: attempt %d failed: %s", s.guild_id, slot, attempt + 1,
                            err)
                continue
            except (PostForbidden, PostNotFound) as err:
                return await self._disable_for(s, slot, issue.id, err)
            await self._store.mark_posted(s.guild_id, slot, issue.id, message_id, self._now())
            log.info("digest for guild %s slot %s: posted %s as message %s", s.guild_id, slot, issue.id, message_id)
            await publish_digest(self._store, poster, s, channel_id, message_id)
            await self._open_thread(poster, s, channel_id, message_id, issue)
            return PostOutcome(s.guild_id, slot, "posted", issue.id, message_id)
        detail = f"gave up after {len(self._retry_delays) + 1} attempts: {error}"
        if manual:
            # A one-off request: the admin saw it fail and may ask again; no tick should post it later.
            await self._store.finish(s.guild_id, slot, "failed", detail)
        else:
            await self._store.release(s.guild_id, slot, self._now(), detail)
        return PostOutcome(s.guild_id, slot, "retrying", issue.id, detail=detail)

    async def _open_thread(self, poster: Poster, s: DigestSettings, channel_id: int, message_id: int,
                           issue: Issue) -> None:
        """The discussion thread, after the digest is recorded: its failure never costs the digest."""
        if not s.thread:
            return
        try:
            await poster.start_thread(channel_id, message_id, thread_name(issue))
        except PostError as err:
            # Only a real 403 is the permission; a 400 says what Discord disliked, in its own words.
            forbidden = isinstance(err, PostForbidden) and not isinstance(err, PostRejected)
            reason = THREAD_FORBIDDEN if forbidden else f"the digest was posted, but its thread could not be " \
                f"opened ({err})"
            log.warning("digest for guild %s: %s", s.guild_id, reason)
            await self._store.set_thread_error(s.guild_id, reason)
            return
        if s.thread_error is not None:
            await self._store.set_thread_error(s.guild_id, None)

    async def _disable_for(self, s: DigestSettings, slot: str, issue_id: str | None,
                           err: PostForbidden | PostNotFound) -> PostOutcome:
        reason = FORBIDDEN_REASON if isinstance(err, PostForbidden) else NOT_FOUND_REASON
        log.warning("digest for guild %s turned off: %s (%s)", s.guild_id, reason, err)
        # The slot stays taken (status failed): re-enabling later never replays this week twice.
        await self._store.finish(s.guild_id, slot, "failed", reason)
        await self._store.disable(s.guild_id, reason)
        return PostOutcome(s.guild_id, slot, "disabled", issue_id, detail=reason)

    async def post_now(self, guild_id: int, poster: Poster) -> PostOutcome:
        """``/newsbot digest-now``: post at once. Takes this week's slot if it is free (the weekly post then
        does not repeat it); otherwise posts under a manual slot that never blocks or repeats the weekly one.
        Exactly once per request, also when it arrives twice: within :data:`REPEAT_WINDOW` of the last claim it
        posts nothing (``busy`` or ``recent``), and two requests at the same moment race for one slot."""
        s = await self.settings(guild_id)
        if s.channel_id is None:
            raise DigestError("Choose a channel for the digest first.")
        now = self._now()
        archive = self._archive()
        # A guild that set a channel but never enabled gets its backlog recorded now, as enabling would.
        await self._store.take_baseline(guild_id, [i.id for i in archive.newsletter_issues], now)
        slot = slot_for(now, s)
        rows = await self._store.posts(guild_id)
        live = [r for r in rows if r.status in ("claimed", "posted") and now - r.claimed_at < REPEAT_WINDOW]
        if live:
            last = live[-1]
            return PostOutcome(guild_id, last.slot, "busy" if last.status == "claimed" else "recent", last.issue_id,
                               last.message_id, detail=f"claimed {(now - last.claimed_at).total_seconds():.0f} s ago")
        # The target follows from the posts seen: a request that saw the same ones names the same slot, and the
        # claim lets one of them through. Losing the claim means another request won: never fall back to another
        # slot then, or the two would both post.
        if not any(r.slot == slot.id for r in rows):
            target = slot.id
        else:
            target = manual_slot_id(slot.id, 1 + sum(r.slot.startswith(slot.id) and is_manual(r.slot) for r in rows))
        outcome = await self._claim_and_post(poster, s, s.channel_id, target, archive, manual=True)
        assert outcome is not None  # manual calls always report
        return outcome

    async def next_wakeup(self) -> dt.datetime | None:
        """The earliest instant a tick could have work: a guild's next due slot, a claim's lease running out,
        or a left-for-retry claim's next try. None when no guild this process owns has the digest on."""
        now = self._now()
        wake: list[dt.datetime] = []
        for s in await self._store.enabled_guilds():
            if s.channel_id is None or not self._owns(s.guild_id):
                continue
            wake.append(next_due_at(now, s))
            for row in await self._store.claimed_rows(s.guild_id):
                lease = row.lease_until or now
                wake.append(lease if lease > now else now + RETRY_FLOOR)
        return min(wake) if wake else None

    async def run_forever(self, poster: Poster, interval: float = 900.0) -> None:
        """Tick, then sleep until the next due slot (at most ``interval`` seconds, a safety net; a settings change
        wakes it at once), so a 09:00 digest goes out at 09:00. Nothing but cancellation ends it: a failed tick is
        logged and the next one runs (an exception must not silently stop the weekly digest)."""
        if self._running:
            log.warning("digest loop already running; not starting a second one")
            return
        self._running = True
        try:
            while True:
                self._wake.clear()
                delay = interval
                try:
                    await self.tick(poster)
                    wake = await self.next_wakeup()
                    if wake is not None:
                        delay = min(interval, max(0.0, (wake - self._now()).total_seconds()))
                except StoreUnavailable as err:
                    self._store_lost(err)
                except Exception:  # the loop's boundary: logged, and the next tick runs
                    log.exception("digest tick failed; next try in %s s", interval)
                else:
                    self._store_back()
                await self._nap(delay)
        finally:
            self._running = False

    # -- the shared store's health, for stats --

    @property
    def store_trouble(self) -> str | None:
        """None while the store answers; else since when it has not, and why (for ``/newsbot stats``)."""
        if self._store_down_since is None:
            return None
        return (f"waiting: the shared state store ({self._store.backend}) has been unreachable since "
                f"{self._store_down_since:%Y-%m-%d %H:%M} UTC; digests resume when it is back")

    def _store_lost(self, err: StoreUnavailable) -> None:
        if self._store_down_since is None:
            # Once per outage, not once per tick: a down database must not flood the log.
            log.warning("digests wait: %s", err.detail)
            self._store_down_since = dt.datetime.now(dt.UTC)  # wall time, for people: not the schedule's clock

    def _store_back(self) -> None:
        if self._store_down_since is not None:
            log.info("the shared state store answers again (down since %s); digests resume",
                     f"{self._store_down_since:%H:%M:%S} UTC")
            self._store_down_since = None

    async def _nap(self, seconds: float) -> None:
        """Sleep ``seconds`` (with the injected sleep), or less if settings change meanwhile."""
        if self._wake.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            if sleeper in done:
                await sleeper  # its exception, cancellation included, is the loop's
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)
