"""The members' side of keyword alerts: subscribe, list, remove, and the one-time notice of a pause.

Used by the service's commands (:mod:`bot.commands`). The store is opened on first use where the surface
did not open one (a console without feeds), so a console that never subscribes starts as fast as before.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.alerts import CONSOLE_USER_ID
from bot.config import AlertsConfig
from bot.errors import AlertError
from bot.results import AlertNoticeResult, AlertSub, SubscribeResult, SubscriptionsResult, UnsubscribeResult

if TYPE_CHECKING:  # bot.store loads its drivers: a console that never subscribes does not
    from bot.store.protocol import AlertStore
    from bot.store.records import Subscription

QUERY_MAX_CHARS = 200
"""The longest query a subscription keeps: words to watch for, not a question."""
def check_query(query: str) -> str:
    """The query a subscription keeps: stripped, non-empty, at most :data:`QUERY_MAX_CHARS`.

    >>> check_query("  protein folding ")
    'protein folding'
    >>> check_query("   ")
    Traceback (most recent call last):
    ...
    bot.errors.AlertError: Give the words to watch for, e.g. /subscribe protein folding.
    """
    text = query.strip()
    if not text:
        raise AlertError("Give the words to watch for, e.g. /subscribe protein folding.")
    if len(text) > QUERY_MAX_CHARS:
        raise AlertError("An alert's words may be at most {max} characters; yours are {n}.", max=QUERY_MAX_CHARS,
                         n=len(text))
    return text


def shown(subs: Sequence[Subscription]) -> tuple[AlertSub, ...]:
    """A member's subscriptions as they see them, numbered from 1 (oldest first)."""
    return tuple(AlertSub(n, s.id, s.query, s.section, s.archive, s.paused_reason) for n, s in enumerate(subs, 1))


def pick(subs: tuple[AlertSub, ...], which: str) -> AlertSub:
    """The subscription ``which`` names: its number in the list, or its id (autocomplete's value).

    >>> subs = (AlertSub(1, 9001, "a"), AlertSub(2, 9002, "b"))
    >>> pick(subs, "2").query, pick(subs, "9001").query, pick(subs, " #1 ").query
    ('b', 'a', 'a')
    >>> pick(subs, "3")
    Traceback (most recent call last):
    ...
    bot.errors.AlertError: You have no alert number 3; /subscriptions lists yours (1 to 2).
    """
    text = which.strip().lstrip("#")
    if text.isascii() and text.isdigit() and len(text) <= 20:
        value = int(text)
        for s in subs:
            if value in (s.number, s.id):
                return s
    if not subs:
        raise AlertError("You have no keyword alerts; /subscribe adds one.")
    raise AlertError("You have no alert number {which}; /subscriptions lists yours (1 to {n}).", which=text[:30],
                     n=len(subs))


class AlertBook:
    """Members' subscriptions in the shared store. ``open_store`` gives the store, opening it on first use."""

    def __init__(self, config: AlertsConfig, open_store: Callable[[], Awaitable[AlertStore]], *,
                 direct: bool, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.config = config
        self._open = open_store
        self.direct = direct
        """Whether alerts reach this surface: Discord's direct messages; the console gets none."""
        self._clock = clock

    async def subscribe(self, user_id: int | None, query: str, section: str, archive: str) -> SubscribeResult:
        """``section`` is a section key of ``archive`` ('' = every section), both resolved by the caller."""
        from bot.store.records import Subscription

        uid = CONSOLE_USER_ID if user_id is None else user_id
        # Random ids above 2**52: never a list number, and never guessable from another member's.
        sub = Subscription(secrets.randbits(52) | 1 << 52, uid, check_query(query), section,
                           archive, self._clock())
        store = await self._open()
        status, held = await store.alert_subscribe(sub, self.config.max_per_member)
        if status == "full":
            raise AlertError("You hold {max} keyword alerts, the most one member may; /unsubscribe one first.",
                             max=self.config.max_per_member)
        mine = shown(await store.alert_subscriptions(uid))
        this = next((s for s in mine if s.id == held.id), AlertSub(len(mine), held.id, held.query, held.section,
                                                                     held.archive))
        return SubscribeResult(status, this, len(mine), self.config.max_per_member, self.direct)

    async def subscriptions(self, user_id: int | None) -> SubscriptionsResult:
        uid = CONSOLE_USER_ID if user_id is None else user_id
        store = await self._open()
        return SubscriptionsResult(uid, shown(await store.alert_subscriptions(uid)), self.config.max_per_member)

    async def unsubscribe(self, user_id: int | None, which: str) -> UnsubscribeResult:
        uid = CONSOLE_USER_ID if user_id is None else user_id
        store = await self._open()
        target = pick(shown(await store.alert_subscriptions(uid)), which)
        # The store deletes by id *and* owner: an id from someone else's list removes nothing.
        if not await store.alert_unsubscribe(uid, target.id):
            raise AlertError("That alert was already removed.")
        return UnsubscribeResult(target, len(await store.alert_subscriptions(uid)))

    async def choices(self, user_id: int, current: str, limit: int = 25) -> list[tuple[str, str]]:
        """/unsubscribe's autocomplete: (shown name, id) of the member's own alerts that contain ``current``."""
        store = await self._open()
        needle = current.strip().casefold()
        out = []
        for s in shown(await store.alert_subscriptions(user_id)):
            name = f"{s.number}. {s.query}" + (f" ({s.section})" if s.section else "")
            name += " — paused" if s.paused else ""
            if not needle or needle in name.casefold():
                out.append((name, str(s.id)))
        return out[:limit]

    async def take_notice(self, user_id: int) -> AlertNoticeResult | None:
        """The one-time notice that a member's alerts were paused, or None (taken once, by one reply)."""
        store = await self._open()
        paused = await store.alert_take_notice(user_id)
        if not paused:
            return None
        numbered = {s.id: s for s in shown(await store.alert_subscriptions(user_id))}
        return AlertNoticeResult(tuple(numbered[p.id] for p in paused if p.id in numbered))
