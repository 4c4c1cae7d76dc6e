"""Pure calendar and policy rules of the weekly digest: no I/O, no clock, no store.

Everything here is a function of its arguments (a settings value, an instant, the archive's issues), so
the doctests below are the specification of when a guild's digest is due and what it gets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, cast

from bot.config import DIGEST_POLICIES, WEEKDAYS, DigestConfig
from bot.errors import DigestError
from bot.i18n import EN, N_, Lang
from bot.timeparse import parse_time_of_day, parse_timezone
from retrieval.models import Issue

Policy = Literal["next", "latest"]
POLICIES = cast(tuple[Policy, ...], DIGEST_POLICIES)


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """One guild's digest settings. Defaults match :class:`bot.config.DigestConfig`."""

    guild_id: int
    channel_id: int | None = None
    weekday: int = 0
    """0 = Monday … 6 = Sunday."""
    time: dt.time = dt.time(9, 0)
    """Local wall-clock time in :attr:`timezone`."""
    timezone: str = "UTC"
    """An IANA zone name."""
    enabled: bool = False
    policy: Policy = "next"
    disabled_reason: str | None = None
    """Why the bot turned the digest off (403/404), or an admin's reason; shown by stats."""
    enabled_at: dt.datetime | None = None
    """When the digest was last turned on (aware UTC). A slot due before this is not posted."""
    role_id: int | None = None
    """``/newsbot digest-role``: the one role each digest pings (None: no ping)."""
    thread: bool = False
    """``/newsbot digest-thread on``: open a discussion thread on each digest message."""
    thread_error: str | None = None
    """Why the last thread could not be opened (e.g. a 403), for stats; None when it was."""
    publish_error: str | None = None
    """Why the last digest could not be published to the servers following its announcement channel (e.g. a 403),
    for stats; None when it was, or when the channel is not an announcement channel."""
    locale: str | None = None
    """``/newsbot digest-language``: the digest's language (``zh-CN``, ``zh-TW``, ``en-US``); None follows the
    server's preferred locale (its Community setting)."""

    @classmethod
    def from_config(cls, guild_id: int, config: DigestConfig) -> DigestSettings:
        """A guild's settings before it changed anything.

        >>> DigestSettings.from_config(7, DigestConfig(weekday="fri", time="18:30", timezone="Asia/Tokyo"))
        ... # doctest: +ELLIPSIS
        DigestSettings(guild_id=7, channel_id=None, weekday=4, time=datetime.time(18, 30), timezone='Asia/Tokyo', ...)
        """
        return cls(guild_id=guild_id, weekday=WEEKDAYS.index(config.weekday), time=parse_time_of_day(config.time),
                   timezone=config.timezone, policy=parse_policy(config.policy))


class Slot(NamedTuple):
    """One weekly posting opportunity of one guild."""

    id: str
    """The ISO week in the guild's time zone, e.g. ``2021-W13``; the claim key."""
    due_at: dt.datetime
    """Aware UTC instant of that week's weekday and time, in local time."""




def slot_for(now: dt.datetime, settings: DigestSettings) -> Slot:
    """The slot of the week containing ``now``, as the guild's local calendar sees it.

    The due time is built in local wall-clock time and only then converted to UTC, so a daylight-saving
    switch moves the UTC instant, never the local time. A local time that does not exist (inside a
    spring-forward gap) is moved forward by the gap, and an ambiguous one (a fall-back hour) takes its
    first occurrence: both are what zoneinfo does with ``fold=0`` (PEP 495).

    >>> berlin = DigestSettings(1, weekday=0, time=dt.time(9), timezone="Europe/Berlin")
    >>> slot_for(dt.datetime(2021, 1, 6, 12, tzinfo=dt.UTC), berlin)  # winter: 09:00 CET is 08:00 UTC
    Slot(id='2021-W01', due_at=datetime.datetime(2021, 1, 4, 8, 0, tzinfo=datetime.timezone.utc))
    >>> slot_for(dt.datetime(2021, 7, 7, 12, tzinfo=dt.UTC), berlin).due_at  # summer: 09:00 CEST is 07:00 UTC
    datetime.datetime(2021, 7, 5, 7, 0, tzinfo=datetime.timezone.utc)

    Sunday 02:30 on the spring-forward day does not exist and becomes 03:30 CEST; on the fall-back day it
    happens twice and the first (CEST) one is used:

    >>> gap = DigestSettings(1, weekday=6, time=dt.time(2, 30), timezone="Europe/Berlin")
    >>> slot_for(dt.datetime(2021, 3, 24, tzinfo=dt.UTC), gap).due_at
    datetime.datetime(2021, 3, 28, 1, 30, tzinfo=datetime.timezone.utc)
    >>> slot_for(dt.datetime(2021, 10, 27, tzinfo=dt.UTC), gap).due_at
    datetime.datetime(2021, 10, 31, 0, 30, tzinfo=datetime.timezone.utc)

    The week is the local one: Sunday 23:30 UTC is already Monday in Tokyo.

    >>> tokyo = DigestSettings(1, timezone="Asia/Tokyo")
    >>> slot_for(dt.datetime(2021, 4, 4, 23, 30, tzinfo=dt.UTC), tokyo).id
    '2021-W14'
    >>> slot_for(dt.datetime(2021, 4, 4, 23, 30), tokyo)
    Traceback (most recent call last):
    ...
    ValueError: now must be an aware datetime
    """
    if now.tzinfo is None or now.utcoffset() is None:
        # A naive time would be read as the host's local time: the classic source of drift.
        raise ValueError("now must be an aware datetime")
    iso = now.astimezone(parse_timezone(settings.timezone)).isocalendar()
    return _slot_in_week(iso.year, iso.week, settings)


def next_due_at(now: dt.datetime, settings: DigestSettings) -> dt.datetime:
    """The next due instant strictly after ``now`` (for "next digest at …" in stats).

    >>> s = DigestSettings(1, weekday=0, time=dt.time(9), timezone="Europe/Berlin")
    >>> next_due_at(dt.datetime(2021, 3, 22, 7, 59, tzinfo=dt.UTC), s)  # still winter
    datetime.datetime(2021, 3, 22, 8, 0, tzinfo=datetime.timezone.utc)
    >>> next_due_at(dt.datetime(2021, 3, 22, 8, 0, tzinfo=dt.UTC), s)  # the next Monday is in summer time
    datetime.datetime(2021, 3, 29, 7, 0, tzinfo=datetime.timezone.utc)
    """
    slot = slot_for(now, settings)
    if slot.due_at > now:
        return slot.due_at
    # Step a week on the local calendar, not by 7 x 24 h, which a DST switch would skew.
    local = now.astimezone(parse_timezone(settings.timezone)).date()
    iso = (local + dt.timedelta(days=7)).isocalendar()
    return _slot_in_week(iso.year, iso.week, settings).due_at


def _slot_in_week(iso_year: int, iso_week: int, settings: DigestSettings) -> Slot:
    day = dt.date.fromisocalendar(iso_year, iso_week, settings.weekday + 1)
    local = dt.datetime.combine(day, settings.time, tzinfo=parse_timezone(settings.timezone))
    return Slot(f"{iso_year}-W{iso_week:02d}", local.astimezone(dt.UTC))


def manual_slot_id(week: str, n: int) -> str:
    """The slot of the ``n``-th ``digest-now`` post of a week whose own slot is taken: distinct from every
    weekly slot. Numbered, not timed: two requests that saw the same posts name the same slot, so only one of
    them can claim it, whenever each arrives.

    >>> manual_slot_id("2021-W13", 1)
    '2021-W13-manual-1'
    """
    return f"{week}-manual-{n}"


def is_manual(slot: str) -> bool:
    """
    >>> is_manual("2021-W13"), is_manual("2021-W13-manual-2"), is_manual("2021-W13-manual-20210331T101502Z")
    (False, True, True)
    """
    return "-manual-" in slot


def shard_owner(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: Discord's ``(guild_id >> 22) % shard_count``.

    >>> shard_owner(81384788765712384, 1), shard_owner(81384788765712384, 2), shard_owner(81384788765712384, 16)
    (0, 0, 2)
    """
    return (guild_id >> 22) % shard_count


def owned_by(shard_ids: Collection[int], shard_count: int) -> Callable[[int], bool]:
    """An ``owns_guild`` for a process running ``shard_ids`` out of ``shard_count``.

    >>> owns = owned_by({2}, 16)
    >>> owns(81384788765712384), owns(81384788765712384 + (1 << 22))
    (True, False)
    """
    shards = frozenset(shard_ids)
    return lambda guild_id: shard_owner(guild_id, shard_count) in shards


def pick_issue(issues: Sequence[Issue], policy: Policy, taken: Collection[str],
               baseline: Collection[str]) -> Issue | None:
    """The issue a guild gets next, or None.

    ``issues`` is the archive oldest-first, ``taken`` what the guild has received (or is being sent),
    ``baseline`` the issues that existed when it turned the digest on. ``next`` replays the archive one
    issue a week, issues published since enabling first; ``latest`` posts only an issue newer than
    everything the guild has received or saw at enabling.

    >>> from retrieval.models import Issue
    >>> a, b, c, d = (Issue(x, x, None, "issue", ()) for x in "abcd")
    >>> pick_issue((a, b, c), "next", taken={"a"}, baseline={"a", "b", "c"}).id
    'b'
    >>> pick_issue((a, b, c, d), "next", taken={"a"}, baseline={"a", "b", "c"}).id  # d is new: it jumps the queue
    'd'
    >>> pick_issue((a, b, c), "latest", taken=(), baseline={"a", "b", "c"}) is None  # nothing new since enabling
    True
    >>> pick_issue((a, b, c, d), "latest", taken=(), baseline={"a", "b", "c"}).id
    'd'
    """
    if policy == "latest":
        newest = issues[-1] if issues else None
        if newest is None or newest.id in taken or newest.id in baseline:
            return None
        return newest
    fresh = [i for i in issues if i.id not in baseline and i.id not in taken]
    if fresh:
        return fresh[0]
    return next((i for i in issues if i.id not in taken), None)


DAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
             N_("Sunday"))  # not strftime: locale; translated where shown


def describe(settings: DigestSettings) -> str:
    """The schedule in words, for stats and settings replies: everything that is set, and whether it is on.

    >>> describe(DigestSettings(1, 5, weekday=0, time=dt.time(9), timezone="Europe/Berlin", enabled=True))
    'every Monday at 09:00 Europe/Berlin in <#5>, policy “next”'
    >>> describe(DigestSettings(1, 5, weekday=4, disabled_reason="missing permissions in the channel (403)"))
    'every Friday at 09:00 UTC in <#5>, policy “next” (off: missing permissions in the channel (403))'
    >>> describe(DigestSettings(1, policy="latest"))
    'every Monday at 09:00 UTC, no channel yet, policy “latest” (off)'
    >>> describe(DigestSettings(1, 5, enabled=True, policy="latest", role_id=7, thread=True,
    ...                         thread_error="no thread (403)"))
    'every Monday at 09:00 UTC in <#5>, policy “latest”, pings <@&7>, opens a thread; last time: no thread (403)'
    >>> describe(DigestSettings(1, 5, enabled=True, publish_error="not published (403)"))
    'every Monday at 09:00 UTC in <#5>, policy “next”; last time: not published (403)'
    """
    where = f" in <#{settings.channel_id}>" if settings.channel_id is not None else ", no channel yet"
    text = f"every {when(settings)}{where}, policy “{settings.policy}”"
    if settings.role_id is not None:
        text += f", pings <@&{settings.role_id}>"
    if settings.thread:
        text += ", opens a thread"
    if not settings.enabled:
        text += f" (off: {settings.disabled_reason})" if settings.disabled_reason else " (off)"
    if settings.thread_error:
        text += f"; last time: {settings.thread_error}"
    if settings.publish_error:
        text += f"; last time: {settings.publish_error}"
    return text


def when(settings: DigestSettings, lg: Lang = EN) -> str:
    """
    >>> when(DigestSettings(1, weekday=6, time=dt.time(18, 30), timezone="Asia/Tokyo"))
    'Sunday at 18:30 Asia/Tokyo'
    >>> from bot.i18n import lang
    >>> when(DigestSettings(1, weekday=6, time=dt.time(18, 30), timezone="Asia/Tokyo"), lang("zh-CN"))
    '每星期日 18:30 Asia/Tokyo'
    """
    return lg.gettext("{day} at {time} {timezone}", day=lg.gettext(DAY_NAMES[settings.weekday]),
                      time=f"{settings.time:%H:%M}", timezone=settings.timezone)


def nothing_to_post(settings: DigestSettings) -> str:
    """Why a digest has nothing to post, in the words of the guild's policy.

    >>> nothing_to_post(DigestSettings(1, policy="latest"))
    'Nothing new to post: no issue newer than when the digest was turned on is waiting (policy “latest”).'
    """
    if settings.policy == "latest":
        return N_("Nothing new to post: no issue newer than when the digest was turned on is waiting "
                  "(policy “latest”).")
    return N_("Nothing new to post: this server has received every issue (policy “next”).")


def parse_policy(value: str) -> Policy:
    if value not in POLICIES:
        raise DigestError("The digest policy must be one of {policies}, not {value}.", policies=', '.join(POLICIES),
                          value=repr(value))
    return value




THREAD_NAME_MAX = 100
"""Discord's limit for a channel (thread) name."""


def thread_name(issue: Issue) -> str:
    """The discussion thread of a digest, named after its issue (Discord allows 100 characters).

    >>> from retrieval.models import Issue
    >>> thread_name(Issue("w13", "Akira 的机器学习新闻—2021 年第 13 周", None, "issue", ()))
    'Akira 的机器学习新闻—2021 年第 13 周'
    >>> len(thread_name(Issue("x", "长" * 300, None, "issue", ())))
    100
    """
    title = " ".join(issue.title.split()) or issue.id
    return title if len(title) <= THREAD_NAME_MAX else title[:THREAD_NAME_MAX - 1] + "…"
