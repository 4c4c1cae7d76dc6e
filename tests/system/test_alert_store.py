"""The keyword alerts' tables against real databases: every test runs on SQLite and on a real PostgreSQL server.

Several "processes" are several stores opened on the same database, racing for the same member's alert: exactly
one must win, whatever the backend."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.store import SqlStore, Subscription, open_store

NOW = dt.datetime(2024, 3, 4, 9, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
MEMBER = 81384788765712384  # 64-bit Discord id
SUB_ID = (1 << 52) | 12345


def sub(n: int, query: str, user: int = MEMBER, section: str = "") -> Subscription:
    return Subscription(SUB_ID + n, user, query, section, "", NOW + dt.timedelta(seconds=n))


async def test_subscriptions_round_trip_bounded_and_owned(store: SqlStore) -> None:
    assert (await store.alert_subscribe(sub(1, "protein folding", section="papers"), 2))[0] == "added"
    assert (await store.alert_subscribe(sub(2, "protein folding", section="papers"), 2))[0] == "exists"
    assert (await store.alert_subscribe(sub(3, "**GPU** <@&1>"), 2))[0] == "added"
    assert (await store.alert_subscribe(sub(4, "third"), 2))[0] == "full"
    held = await store.alert_subscriptions(MEMBER)
    assert [(s.id, s.query, s.section, s.archive) for s in held] == [
        (SUB_ID + 1, "protein folding", "papers", ""), (SUB_ID + 3, "**GPU** <@&1>", "", "")]
    assert not await store.alert_unsubscribe(MEMBER + 1, SUB_ID + 1)  # someone else's id removes nothing
    assert await store.alert_unsubscribe(MEMBER, SUB_ID + 1)
    assert not await store.alert_unsubscribe(MEMBER, SUB_ID + 1)
    assert [s.id for s in await store.alert_active("")] == [SUB_ID + 3]


async def test_pause_hides_from_sending_and_notice_is_taken_once(store_url: str, store: SqlStore) -> None:
    await store.alert_subscribe(sub(1, "a"), 10)
    await store.alert_subscribe(sub(2, "b"), 10)
    await store.alert_subscribe(sub(3, "c", user=MEMBER + 1), 10)
    assert await store.alert_pause_user(MEMBER, "closed DMs") == 2
    assert [s.user_id for s in await store.alert_active("")] == [MEMBER + 1]
    others = [await open_store(store_url) for _ in range(4)]
    try:
        taken = await asyncio.gather(*(o.alert_take_notice(MEMBER) for o in others))
    finally:
        for o in others:
            await o.close()
    assert sorted(len(t) for t in taken)[-1] == 2  # someone got the notice...
    assert await store.alert_take_notice(MEMBER) == []  # ...and it is not given again
    # Subscribing to the same words again resumes the alert (and no notice is left for it).
    status, resumed = await store.alert_subscribe(sub(9, "a"), 10)
    assert (status, resumed.id, resumed.paused_reason) == ("resumed", SUB_ID + 1, None)
    assert {s.query for s in await store.alert_active("")} == {"a", "c"}


async def test_baseline_once_then_new_issues_once(store_url: str, store: SqlStore) -> None:
    racers = [await open_store(store_url) for _ in range(4)]
    try:
        won = await asyncio.gather(*(r.alert_baseline("", ["w1", "w2"], NOW + dt.timedelta(seconds=i))
                                     for i, r in enumerate(racers)))
        assert sum(won) == 1
        assert await store.alert_known("") == {"w1", "w2"}
        assert await store.alert_pending("") == []  # the baseline is no news
        await asyncio.gather(*(r.alert_add_issues("", ["w2", "w3"], NOW + dt.timedelta(minutes=i))
                               for i, r in enumerate(racers)))
        [(issue, first_seen)] = await store.alert_pending("")
        assert issue == "w3"
        assert NOW <= first_seen <= NOW + dt.timedelta(minutes=3)
        await store.alert_issue_done("", "w3", NOW)
        assert await store.alert_pending("") == []
        assert not await store.alert_baseline("", ["w9"], NOW)  # taken once per archive, for good
        assert "w9" not in await store.alert_known("")
    finally:
        for r in racers:
            await r.close()


async def test_only_one_process_claims_a_members_alert(store_url: str, store: SqlStore) -> None:
    racers = [await open_store(store_url) for _ in range(6)]
    try:
        won = await asyncio.gather(*(r.alert_claim("", "w3", MEMBER, NOW, NOW + LEASE) for r in racers))
        assert sum(won) == 1
        # a live lease is not taken over; an expired one by exactly one taker
        assert not any(await asyncio.gather(*(r.alert_take_lease("", "w3", MEMBER, NOW + LEASE / 2, NOW + LEASE)
                                              for r in racers)))
        later = NOW + LEASE + dt.timedelta(seconds=1)
        assert sum(await asyncio.gather(*(r.alert_take_lease("", "w3", MEMBER, later, later + LEASE)
                                          for r in racers))) == 1
        await store.alert_finish("", "w3", MEMBER, "sent", later, message_id=987654321098765432)
        [claim] = await store.alert_claims("", "w3")
        assert (claim.user_id, claim.status, claim.message_id, claim.lease_until) == (
            MEMBER, "sent", 987654321098765432, None)
        assert not await store.alert_claim("", "w3", MEMBER, later, later + LEASE)  # sent is final
        assert not await store.alert_take_lease("", "w3", MEMBER, later + 2 * LEASE, later + 3 * LEASE)
        assert await store.alert_claim("", "w3", MEMBER + 1, NOW, NOW + LEASE)  # another member: their own
    finally:
        for r in racers:
            await r.close()
