"""The weekly digest: when to post, what to post, and posting it exactly once per guild and week.

Transport-free: the Discord adapter implements :class:`Poster`; tests use an in-memory one. Time comes
from an injected clock, so weeks of schedule run in milliseconds.

How a weekly post stays exactly-once across crashes, reconnects, restarts and shards:

1. The slot is the guild's ISO week in its own time zone (``2021-W13``). A row in ``digest_posts``
   keyed ``(guild_id, slot)`` is *claimed* (inserted and committed) before anything is sent, so a
   second tick, a second process or a second ``on_ready`` finds the row and posts nothing.
2. After the send, the message id is recorded and the row becomes ``posted``.
3. A ``claimed`` row without a message id means the sender died in between, or is still sending.
   Each claim carries a lease; once it has run out, a tick asks the channel
   (:meth:`Poster.find_existing`) whether the message went out, records it if so, and sends it
   otherwise. A claim for a week that is over is only looked up, never sent late.

Errors, as a tree::

    NewsbotError (retrieval.errors)
    └── DigestError        a digest request cannot be done as asked (no channel, bad weekday); for a person
    PostError              raised by a Poster; handled here, never shown to a person
    ├── PostForbidden      403: the bot may not post there; the guild's digest is turned off
    ├── PostNotFound       404: the channel is gone; the guild's digest is turned off
    └── PostTransient      5xx or network; retried with back-off, then left claimed for the next tick
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple, Protocol, cast

import aiosqlite

from bot.config import DIGEST_POLICIES, WEEKDAYS, DigestConfig, parse_time_of_day, parse_timezone
from bot.results import FeaturesResult, features_of
from retrieval.errors import NewsbotError
from retrieval.models import Archive, Issue

log = logging.getLogger(__name__)

Policy = Literal["next", "latest"]
POLICIES = cast(tuple[Policy, ...], DIGEST_POLICIES)
PostStatus = Literal["claimed", "posted", "skipped", "failed", "missed"]
"""``claimed``: being sent (or the sender died); ``posted``: done, message id known; ``skipped``: the slot
came and there was nothing to post; ``failed``: 403/404, or a manual post that gave up; ``missed``: a
crashed claim whose week ended without the message ever appearing."""
OutcomeStatus = Literal["posted", "recovered", "skipped", "retrying", "disabled", "missed", "error", "busy",
                        "nothing"]
"""``posted``: sent now; ``recovered``: found already in the channel and recorded; ``skipped``: due, nothing to
post; ``retrying``: 5xx outlasted the back-off, the claim waits for the next tick; ``disabled``: 403/404;
``missed``: a crashed claim of a past week that never went out; ``error``: an unexpected exception (logged).
Only ``post_now``: ``busy`` (the same request is already being posted), ``nothing`` (no issue to post)."""

DEFAULT_LEASE = dt.timedelta(minutes=10)
"""How long a claim is left to its sender before another tick may finish it. Longer than a post plus
the retry back-off (1 + 5 + 30 s), so a live sender is never second-guessed."""

FORBIDDEN_REASON = "missing permissions in the channel (403)"
NOT_FOUND_REASON = "the channel no longer exists (404)"


# -- errors ----------------------------------------------------------------------------------------

class DigestError(NewsbotError):
    """A digest request cannot be done as asked; the message is for the admin who asked."""


class PostError(Exception):
    """Raised by a :class:`Poster` when a digest could not be sent."""


class PostForbidden(PostError):
    """403: the bot lacks permission to post in the channel."""


class PostNotFound(PostError):
    """404: the channel (or guild) no longer exists."""


class PostTransient(PostError):
    """5xx or a network error: worth trying again."""


# -- values ----------------------------------------------------------------------------------------

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

    @classmethod
    def from_config(cls, guild_id: int, config: DigestConfig) -> DigestSettings:
        """A guild's settings before it changed anything.

        >>> DigestSettings.from_config(7, DigestConfig(weekday="fri", time="18:30", timezone="Asia/Tokyo"))
        ... # doctest: +ELLIPSIS
        DigestSettings(guild_id=7, channel_id=None, weekday=4, time=datetime.time(18, 30), timezone='Asia/Tokyo', ...)
        """
        return cls(guild_id=guild_id, weekday=WEEKDAYS.index(config.weekday), time=parse_time_of_day(config.time),
                   timezone=config.timezone, policy=_policy(config.policy))


class Slot(NamedTuple):
    """One weekly posting opportunity of one guild."""

    id: str
    """The ISO week in the guild's time zone, e.g. ``2021-W13``; the claim key."""
    due_at: dt.datetime
    """Aware UTC instant of that week's weekday and time, in local time."""


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """What one tick (or ``post_now``) did for one guild and slot."""

    guild_id: int
    slot: str
    status: OutcomeStatus
    issue_id: str | None = None
    message_id: int | None = None
    detail: str = ""


class PostRecord(NamedTuple):
    """One row of ``digest_posts``."""

    guild_id: int
    slot: str
    issue_id: str | None
    status: PostStatus
    channel_id: int | None
    message_id: int | None
    claimed_at: dt.datetime
    lease_until: dt.datetime | None
    posted_at: dt.datetime | None
    detail: str | None


class Poster(Protocol):
    """What the scheduler needs from a transport. The Discord adapter marks each digest with its slot
    (in the embed footer) so :meth:`find_existing` can recognise it after a crash."""

    async def post(self, channel_id: int, guild_id: int, slot: str, content: FeaturesResult) -> int:
        """Send the digest; return the message id. Raise :class:`PostError` subclasses on failure."""
        ...

    async def find_existing(self, channel_id: int, slot: str) -> int | None:
        """The id of our own digest for ``slot`` among the channel's recent messages, if any."""
        ...


# -- pure schedule and content functions -----------------------------------------------------------

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


def manual_slot_id(week: str, now: dt.datetime) -> str:
    """The slot of a ``digest-now`` post when the week's slot is taken: distinct from every weekly slot,
    and equal for two requests in the same second, so a double click posts once.

    >>> manual_slot_id("2021-W13", dt.datetime(2021, 3, 31, 10, 15, 2, 999, tzinfo=dt.UTC))
    '2021-W13-manual-20210331T101502Z'
    """
    return f"{week}-manual-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def is_manual(slot: str) -> bool:
    """
    >>> is_manual("2021-W13"), is_manual("2021-W13-manual-20210331T101502Z")
    (False, True)
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


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # not strftime: locale


def describe(settings: DigestSettings) -> str:
    """The schedule in words, for stats and settings replies.

    >>> describe(DigestSettings(1, 5, weekday=0, time=dt.time(9), timezone="Europe/Berlin", enabled=True))
    'every Monday at 09:00 Europe/Berlin in <#5>, policy “next”'
    >>> describe(DigestSettings(1, 5, disabled_reason="missing permissions in the channel (403)"))
    'off (missing permissions in the channel (403))'
    """
    if not settings.enabled:
        return f"off ({settings.disabled_reason})" if settings.disabled_reason else "off"
    day = DAY_NAMES[settings.weekday]
    where = f" in <#{settings.channel_id}>" if settings.channel_id is not None else ""
    return f"every {day} at {settings.time:%H:%M} {settings.timezone}{where}, policy “{settings.policy}”"


def _policy(value: str) -> Policy:
    if value not in POLICIES:
        raise DigestError(f"The digest policy must be one of {', '.join(POLICIES)}, not {value!r}.")
    return value


# -- storage ---------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest_settings (
    guild_id INTEGER PRIMARY KEY,
    channel_id INTEGER,
    weekday INTEGER NOT NULL,
    time TEXT NOT NULL,
    timezone TEXT NOT NULL,
    policy TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    enabled_at TEXT,
    disabled_reason TEXT,
    baseline_at TEXT
);
CREATE TABLE IF NOT EXISTS digest_posts (
    guild_id INTEGER NOT NULL,
    slot TEXT NOT NULL,
    issue_id TEXT,
    status TEXT NOT NULL,
    channel_id INTEGER,
    message_id INTEGER,
    claimed_at TEXT NOT NULL,
    lease_until TEXT,
    posted_at TEXT,
    detail TEXT,
    PRIMARY KEY (guild_id, slot)
);
CREATE TABLE IF NOT EXISTS digest_received (
    guild_id INTEGER NOT NULL,
    issue_id TEXT NOT NULL,
    slot TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, issue_id)
);
CREATE TABLE IF NOT EXISTS digest_baseline (
    guild_id INTEGER NOT NULL,
    issue_id TEXT NOT NULL,
    PRIMARY KEY (guild_id, issue_id)
);
"""

_POST_COLUMNS = ("guild_id, slot, issue_id, status, channel_id, message_id, claimed_at, lease_until, posted_at, "
                 "detail")
_SETTINGS_COLUMNS = "guild_id, channel_id, weekday, time, timezone, policy, enabled, enabled_at, disabled_reason"


def _ts(value: dt.datetime) -> str:
    # Fixed width, always UTC: the text sorts like the instant, so SQL can compare leases.
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _parse_ts(value: object) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(str(value))


def _opt_int(value: object) -> int | None:
    return None if value is None else int(cast(int, value))


class DigestStore:
    """Digest state in the bot's SQLite database (the :class:`bot.state.StateStore` connection).

    Call :meth:`setup` once after opening; it only creates missing tables.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        # One connection, one transaction at a time: without this, a tick and a digest-now running
        # together could commit (or roll back) each other's half-done writes.
        self._write_lock = asyncio.Lock()

    async def setup(self) -> None:
        await self.db.executescript(_SCHEMA)
        await self.db.commit()

    async def _write(self, *statements: tuple[str, tuple[object, ...]]) -> int:
        """Run statements as one transaction; return the rows changed by the first."""
        async with self._write_lock:
            try:
                changed = -1
                for sql, params in statements:
                    async with self.db.execute(sql, params) as cur:
                        if changed < 0:
                            changed = cur.rowcount
                await self.db.commit()
            except BaseException:
                # Never leave a write transaction open: it would hold the database lock for every other process.
                await self.db.rollback()
                raise
            return changed

    async def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        async with self.db.execute(sql, params) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    # settings

    @staticmethod
    def _settings(row: tuple[object, ...]) -> DigestSettings:
        return DigestSettings(
            guild_id=int(cast(int, row[0])), channel_id=_opt_int(row[1]), weekday=int(cast(int, row[2])),
            time=dt.time.fromisoformat(str(row[3])), timezone=str(row[4]), policy=_policy(str(row[5])),
            enabled=bool(row[6]), enabled_at=_parse_ts(row[7]),
            disabled_reason=None if row[8] is None else str(row[8]),
        )

    async def get_settings(self, guild_id: int) -> DigestSettings | None:
        rows = await self._rows(f"SELECT {_SETTINGS_COLUMNS} FROM digest_settings WHERE guild_id = ?", (guild_id,))
        return self._settings(rows[0]) if rows else None

    async def enabled_guilds(self) -> list[DigestSettings]:
        rows = await self._rows(f"SELECT {_SETTINGS_COLUMNS} FROM digest_settings WHERE enabled = 1 "
                                "ORDER BY guild_id", ())
        return [self._settings(r) for r in rows]

    async def put_settings(self, s: DigestSettings) -> None:
        await self._write((
            f"INSERT INTO digest_settings ({_SETTINGS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(guild_id) DO UPDATE SET channel_id = excluded.channel_id, weekday = excluded.weekday, "
            "time = excluded.time, timezone = excluded.timezone, policy = excluded.policy, "
            "enabled = excluded.enabled, enabled_at = excluded.enabled_at, "
            "disabled_reason = excluded.disabled_reason",
            (s.guild_id, s.channel_id, s.weekday, s.time.isoformat("minutes"), s.timezone, s.policy, int(s.enabled),
             None if s.enabled_at is None else _ts(s.enabled_at), s.disabled_reason),
        ))

    async def disable(self, guild_id: int, reason: str) -> None:
        await self._write(("UPDATE digest_settings SET enabled = 0, disabled_reason = ? WHERE guild_id = ?",
                           (reason, guild_id)))

    # what the guild has seen

    async def take_baseline(self, guild_id: int, issue_ids: Collection[str], now: dt.datetime) -> bool:
        """Record the issues that exist now as the guild's backlog, once; False if already taken."""
        taken = await self._write(
            ("UPDATE digest_settings SET baseline_at = ? WHERE guild_id = ? AND baseline_at IS NULL",
             (_ts(now), guild_id)),
            *(("INSERT INTO digest_baseline (guild_id, issue_id) SELECT ?, ? WHERE "
               "(SELECT baseline_at FROM digest_settings WHERE guild_id = ?) = ? ON CONFLICT DO NOTHING",
               (guild_id, i, guild_id, _ts(now))) for i in issue_ids),
        )
        return taken == 1

    async def baseline(self, guild_id: int) -> frozenset[str] | None:
        """The backlog recorded at enabling, or None if the guild never enabled."""
        rows = await self._rows("SELECT baseline_at FROM digest_settings WHERE guild_id = ?", (guild_id,))
        if not rows or rows[0][0] is None:
            return None
        ids = await self._rows("SELECT issue_id FROM digest_baseline WHERE guild_id = ?", (guild_id,))
        return frozenset(str(r[0]) for r in ids)

    async def received(self, guild_id: int) -> frozenset[str]:
        rows = await self._rows("SELECT issue_id FROM digest_received WHERE guild_id = ?", (guild_id,))
        return frozenset(str(r[0]) for r in rows)

    # the claim table

    @staticmethod
    def _post(row: tuple[object, ...]) -> PostRecord:
        claimed_at = _parse_ts(row[6])
        assert claimed_at is not None  # NOT NULL in the schema
        return PostRecord(
            guild_id=int(cast(int, row[0])), slot=str(row[1]), issue_id=None if row[2] is None else str(row[2]),
            status=cast(PostStatus, str(row[3])), channel_id=_opt_int(row[4]), message_id=_opt_int(row[5]),
            claimed_at=claimed_at, lease_until=_parse_ts(row[7]), posted_at=_parse_ts(row[8]),
            detail=None if row[9] is None else str(row[9]),
        )

    async def posts(self, guild_id: int) -> list[PostRecord]:
        """Every slot row of a guild, oldest claim first."""
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? "
                                "ORDER BY claimed_at, slot", (guild_id,))
        return [self._post(r) for r in rows]

    async def get_post(self, guild_id: int, slot: str) -> PostRecord | None:
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? AND slot = ?",
                                (guild_id, slot))
        return self._post(rows[0]) if rows else None

    async def claim(self, guild_id: int, slot: str, issue_id: str, channel_id: int, now: dt.datetime,
                    lease_until: dt.datetime) -> bool:
        """Claim a slot; True only for the one caller whose insert won."""
        return await self._write((
            "INSERT INTO digest_posts (guild_id, slot, issue_id, status, channel_id, claimed_at, lease_until) "
            "VALUES (?, ?, ?, 'claimed', ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, slot, issue_id, channel_id, _ts(now), _ts(lease_until)),
        )) == 1

    async def skip(self, guild_id: int, slot: str, now: dt.datetime) -> bool:
        """Mark a slot as come and gone with nothing to post."""
        return await self._write((
            "INSERT INTO digest_posts (guild_id, slot, status, claimed_at) VALUES (?, ?, 'skipped', ?) "
            "ON CONFLICT DO NOTHING", (guild_id, slot, _ts(now)),
        )) == 1

    async def claimed_rows(self, guild_id: int) -> list[PostRecord]:
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? AND "
                                "status = 'claimed' ORDER BY slot", (guild_id,))
        return [self._post(r) for r in rows]

    async def take_lease(self, guild_id: int, slot: str, now: dt.datetime, lease_until: dt.datetime) -> bool:
        """Take over a claim whose lease ran out; True only for one taker."""
        return await self._write((
            "UPDATE digest_posts SET lease_until = ? WHERE guild_id = ? AND slot = ? AND status = 'claimed' "
            "AND (lease_until IS NULL OR lease_until <= ?)",
            (_ts(lease_until), guild_id, slot, _ts(now)),
        )) == 1

    async def release(self, guild_id: int, slot: str, now: dt.datetime, detail: str) -> None:
        """Keep the claim but let the next tick (of any process) retry it at once."""
        await self._write(("UPDATE digest_posts SET lease_until = ?, detail = ? WHERE guild_id = ? AND slot = ? "
                           "AND status = 'claimed'", (_ts(now), detail, guild_id, slot)))

    async def set_issue(self, guild_id: int, slot: str, issue_id: str) -> None:
        await self._write(("UPDATE digest_posts SET issue_id = ? WHERE guild_id = ? AND slot = ?",
                           (issue_id, guild_id, slot)))

    async def mark_posted(self, guild_id: int, slot: str, issue_id: str, message_id: int, now: dt.datetime) -> None:
        """Record the message and the issue as received, in one transaction."""
        await self._write(
            ("UPDATE digest_posts SET status = 'posted', message_id = ?, posted_at = ?, lease_until = NULL "
             "WHERE guild_id = ? AND slot = ?", (message_id, _ts(now), guild_id, slot)),
            ("INSERT INTO digest_received (guild_id, issue_id, slot, received_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT DO NOTHING", (guild_id, issue_id, slot, _ts(now))),
        )

    async def finish(self, guild_id: int, slot: str, status: Literal["failed", "missed"], detail: str) -> None:
        """Close a claim without a message; the slot stays taken."""
        await self._write(("UPDATE digest_posts SET status = ?, lease_until = NULL, detail = ? "
                           "WHERE guild_id = ? AND slot = ?", (status, detail, guild_id, slot)))


# -- the scheduler ---------------------------------------------------------------------------------

def _always(guild_id: int) -> bool:
    return True


class DigestScheduler:
    """Decides, for every guild this process owns, whether a digest is due, and posts it once.

    Drive it with :meth:`run_forever` (started once, from ``setup_hook``), or call :meth:`tick`.
    """

    def __init__(self, store: DigestStore, archive_provider: Callable[[], Archive], poster: Poster,
                 clock: Callable[[], dt.datetime], owns_guild: Callable[[int], bool] = _always,
                 retry_delays: Sequence[float] = (1, 5, 30),
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, *,
                 lease: dt.timedelta = DEFAULT_LEASE, defaults: DigestConfig | None = None) -> None:
        self._store = store
        self._archive = archive_provider
        self._poster = poster
        self._clock = clock
        self._owns = owns_guild
        self._retry_delays = tuple(retry_delays)
        self._sleep = sleep
        self._lease = lease
        self._defaults = defaults or DigestConfig()
        self._running = False

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the digest clock must return aware datetimes")
        return now.astimezone(dt.UTC)

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
            raise DigestError(f"The weekday must be 0 (Monday) to 6 (Sunday), not {weekday}.")
        if timezone is not None:
            parse_timezone(timezone)  # raises ConfigError with a hint
        new = replace(s, channel_id=s.channel_id if channel_id is None else channel_id,
                      weekday=s.weekday if weekday is None else weekday, time=s.time if time is None else time,
                      timezone=s.timezone if timezone is None else timezone,
                      policy=s.policy if policy is None else _policy(policy))
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
        pending = {r.issue_id for r in await self._store.claimed_rows(s.guild_id) if r.issue_id}
        return pick_issue(issues, s.policy, await self._store.received(s.guild_id) | pending, baseline)

    # -- posting --

    async def tick(self) -> list[PostOutcome]:
        """One pass over the enabled guilds this process owns; returns what was done (not-due guilds are
        silent). One guild's failure is logged and reported; the others still post."""
        now = self._now()
        archive = self._archive()
        outcomes: list[PostOutcome] = []
        for s in await self._store.enabled_guilds():
            try:
                if s.channel_id is None or not self._owns(s.guild_id):
                    continue
                outcomes.extend(await self._tick_guild(s, s.channel_id, now, archive))
            except Exception as err:  # the per-guild boundary: one guild's bug must not cost the others
                log.exception("digest for guild %s failed", s.guild_id)
                outcomes.append(PostOutcome(s.guild_id, "", "error", detail=repr(err)))
        return outcomes

    async def _tick_guild(self, s: DigestSettings, channel_id: int, now: dt.datetime,
                          archive: Archive) -> list[PostOutcome]:
        slot = slot_for(now, s)
        outcomes: list[PostOutcome] = []
        for row in await self._store.claimed_rows(s.guild_id):
            if row.lease_until is not None and row.lease_until > now:
                continue  # its sender may still be at work (this or another process)
            if await self._store.take_lease(s.guild_id, row.slot, now, now + self._lease):
                outcomes.append(await self._resume(s, row, slot, archive))
        if now < slot.due_at or (s.enabled_at is not None and slot.due_at < s.enabled_at):
            return outcomes  # not due yet, or enabled after this week's time: next week is the first
        if await self._store.get_post(s.guild_id, slot.id) is None:
            outcome = await self._claim_and_post(s, channel_id, slot.id, archive, manual=False)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _resume(self, s: DigestSettings, row: PostRecord, current: Slot, archive: Archive) -> PostOutcome:
        """Finish a claim whose sender died (or gave up on 5xx): look in the channel before sending."""
        channel = row.channel_id if row.channel_id is not None else s.channel_id
        assert channel is not None
        if row.slot != current.id:
            # The week is over (or it was a one-off manual post): record it if it went out, never send late.
            try:
                found = await self._poster.find_existing(channel, row.slot)
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
        return await self._deliver(s, channel, row.slot, issue, manual=False, look_first=True)

    async def _claim_and_post(self, s: DigestSettings, channel_id: int, slot: str, archive: Archive,
                              manual: bool) -> PostOutcome | None:
        issue = await self._pick(s, archive)
        now = self._now()
        if issue is None:
            if manual:
                return PostOutcome(s.guild_id, slot, "nothing", detail="no issue the server has not received")
            # The week came with nothing new: close it, so a later issue waits for next week's time.
            return PostOutcome(s.guild_id, slot, "skipped") if await self._store.skip(s.guild_id, slot, now) else None
        if not await self._store.claim(s.guild_id, slot, issue.id, channel_id, now, now + self._lease):
            return None if not manual else PostOutcome(s.guild_id, slot, "busy", detail="already being posted")
        return await self._deliver(s, channel_id, slot, issue, manual=manual and is_manual(slot), look_first=False)

    async def _deliver(self, s: DigestSettings, channel_id: int, slot: str, issue: Issue, *, manual: bool,
                       look_first: bool) -> PostOutcome:
        """Send a claimed slot, retrying transient errors. Before any resend, look in the channel: a 5xx
        or a crash may have come after Discord created the message."""
        content = features_of(issue)
        error: PostTransient | None = None
        for attempt in range(len(self._retry_delays) + 1):
            if attempt:
                await self._sleep(self._retry_delays[attempt - 1])
            try:
                found = await self._poster.find_existing(channel_id, slot) if attempt or look_first else None
                if found is not None:
                    await self._store.mark_posted(s.guild_id, slot, issue.id, found, self._now())
                    return PostOutcome(s.guild_id, slot, "recovered", issue.id, found)
                message_id = await self._poster.post(channel_id, s.guild_id, slot, content)
            except PostTransient as err:
                error = err
                log.warning("digest for guild %s slot %s: attempt %d failed: %s", s.guild_id, slot, attempt + 1,
                            err)
                continue
            except (PostForbidden, PostNotFound) as err:
                return await self._disable_for(s, slot, issue.id, err)
            await self._store.mark_posted(s.guild_id, slot, issue.id, message_id, self._now())
            log.info("digest for guild %s slot %s: posted %s as message %s", s.guild_id, slot, issue.id, message_id)
            return PostOutcome(s.guild_id, slot, "posted", issue.id, message_id)
        detail = f"gave up after {len(self._retry_delays) + 1} attempts: {error}"
        if manual:
            # A one-off request: the admin saw it fail and may ask again; no tick should post it later.
            await self._store.finish(s.guild_id, slot, "failed", detail)
        else:
            await self._store.release(s.guild_id, slot, self._now(), detail)
        return PostOutcome(s.guild_id, slot, "retrying", issue.id, detail=detail)

    async def _disable_for(self, s: DigestSettings, slot: str, issue_id: str | None,
                           err: PostForbidden | PostNotFound) -> PostOutcome:
        reason = FORBIDDEN_REASON if isinstance(err, PostForbidden) else NOT_FOUND_REASON
        log.warning("digest for guild %s turned off: %s (%s)", s.guild_id, reason, err)
        # The slot stays taken (status failed): re-enabling later never replays this week twice.
        await self._store.finish(s.guild_id, slot, "failed", reason)
        await self._store.disable(s.guild_id, reason)
        return PostOutcome(s.guild_id, slot, "disabled", issue_id, detail=reason)

    async def post_now(self, guild_id: int) -> PostOutcome:
        """``/newsbot digest-now``: post at once. Takes this week's slot if it is free (the weekly post then
        does not repeat it); otherwise posts under a manual slot that never blocks or repeats the weekly one."""
        s = await self.settings(guild_id)
        if s.channel_id is None:
            raise DigestError("Choose a channel for the digest first.")
        now = self._now()
        archive = self._archive()
        # A guild that set a channel but never enabled gets its backlog recorded now, as enabling would.
        await self._store.take_baseline(guild_id, [i.id for i in archive.newsletter_issues], now)
        slot = slot_for(now, s)
        if await self._store.get_post(guild_id, slot.id) is None:
            outcome = await self._claim_and_post(s, s.channel_id, slot.id, archive, manual=True)
            if outcome is not None and outcome.status != "busy":
                return outcome
        outcome = await self._claim_and_post(s, s.channel_id, manual_slot_id(slot.id, now), archive, manual=True)
        assert outcome is not None  # manual calls always report
        return outcome

    async def run_forever(self, interval: float = 60.0) -> None:
        """Tick every ``interval`` seconds until cancelled. Nothing but cancellation ends it: a failed tick is
        logged and the next one runs (an exception must not silently stop the weekly digest)."""
        if self._running:
            log.warning("digest loop already running; not starting a second one")
            return
        self._running = True
        try:
            while True:
                try:
                    await self.tick()
                except Exception:  # the loop's boundary: logged, and the next tick runs
                    log.exception("digest tick failed; next try in %s s", interval)
                await self._sleep(interval)
        finally:
            self._running = False
