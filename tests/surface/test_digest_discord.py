"""The weekly digest through the real discord.py client and the fake Discord: real POSTs, restarts, 403, shards."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import msgspec
from botkit import bot_running, guild_config
from clock import Clock
from fake_discord import (
    DIGEST_CHANNEL_ID,
    GUILD_ID,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeRole,
    FakeUser,
    point_discord_py_at,
)
from fake_discord.payloads import MEMBER_PERMISSIONS

from bot.config import Config
from bot.digest.schedule import shard_owner
from bot.discord_adapter import embeds
from bot.discord_adapter.poster import digest_footer, digest_nonce

MANAGE_GUILD = 1 << 5
ADMIN = MEMBER_PERMISSIONS | MANAGE_GUILD
TICK = 0.02


MONDAY_0800 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)  # ISO week 2024-W10; the default digest is Mon 09:00 UTC


async def wait_for(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll the fake's records: the bot's own loop, not the test, decides when to post."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the state is the fake server's, no event to wait on
            await asyncio.sleep(TICK)


def digests(fake: FakeDiscord, channel: int = DIGEST_CHANNEL_ID) -> list[dict[str, Any]]:
    return [m for m in fake.channel_messages.get(channel, []) if m.get("embeds")]


async def test_digest_posts_once_per_week_through_restarts(fake: FakeDiscord, sample_config: Config) -> None:
    clock = Clock(MONDAY_0800)
    config = guild_config(sample_config)

    async with bot_running(fake, config, clock=clock, digest_interval=TICK) as client:
        await client.scheduler.configure(GUILD_ID, channel_id=DIGEST_CHANNEL_ID)
        on = await fake.interact("newsbot digest-on", permissions=ADMIN)
        await on.response()
        [reply] = await on.followups(1)
        assert "Monday at 09:00 UTC" in reply.data["embeds"][0]["description"]
        preview = await fake.interact("digest")
        await preview.response()
        [shown] = await preview.followups(1)
        first_issue_title = shown.data["embeds"][0]["title"]

        await asyncio.sleep(TICK * 10)
        assert digests(fake) == []  # enabled before the due time: nothing until 09:00
        clock.now = MONDAY_0800 + dt.timedelta(hours=1, minutes=1)
        await wait_for(lambda: len(digests(fake)) == 1)
        await asyncio.sleep(TICK * 10)
        assert len(digests(fake)) == 1

    [post] = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{DIGEST_CHANNEL_ID}/messages"]
    assert post.status == 200
    sent = post.json["embeds"]
    assert 1 < len(sent) <= embeds.EMBEDS_MAX
    assert sent[0]["title"] == first_issue_title
    assert sent[0]["footer"]["text"] == digest_footer("2024-W10")
    assert post.json["allowed_mentions"] == {"parse": []}

    # A crash between the POST and recording its id: the claim is left without a message id.
    with sqlite3.connect(config.db_path) as db:
        db.execute("UPDATE digest_posts SET status = 'claimed', message_id = NULL, lease_until = ?",
                   ("2000-01-01T00:00:00+00:00",))
    clock.now += dt.timedelta(hours=2)
    async with bot_running(fake, config, clock=clock, digest_interval=TICK) as client:
        await wait_for(lambda: _status(config, "2024-W10") == "posted")
        assert len(digests(fake)) == 1  # found in the channel, not posted again

        clock.now = MONDAY_0800 + dt.timedelta(days=7, hours=1, minutes=1)  # next week, after 09:00
        await wait_for(lambda: len(digests(fake)) == 2)
        await asyncio.sleep(TICK * 10)
        assert len(digests(fake)) == 2
    titles = [m["embeds"][0]["title"] for m in digests(fake)]
    assert titles[0] != titles[1]
    footers = [m["embeds"][0]["footer"]["text"] for m in digests(fake)]
    assert footers == [digest_footer("2024-W10"), digest_footer("2024-W11")]


def _status(config: Config, slot: str) -> str | None:
    with sqlite3.connect(config.db_path) as db:
        row = db.execute("SELECT status FROM digest_posts WHERE slot = ? AND message_id IS NOT NULL",
                         (slot,)).fetchone()
    return None if row is None else str(row[0])


async def test_a_403_turns_the_digest_off_and_stats_says_why(fake: FakeDiscord, sample_config: Config) -> None:
    clock = Clock(MONDAY_0800)
    config = guild_config(sample_config)
    async with bot_running(fake, config, clock=clock, digest_interval=TICK) as client:
        await client.scheduler.enable(GUILD_ID, DIGEST_CHANNEL_ID)
        fake.fail_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages", 403, count=5,
                       json={"message": "Missing Permissions", "code": 50013})
        clock.now = MONDAY_0800 + dt.timedelta(hours=1, minutes=1)
        await wait_for(lambda: not _enabled(config))
        stats = await fake.interact("newsbot stats", permissions=ADMIN)
        await stats.response()
        [answer] = await stats.followups(1)
        digest_field = next(f for f in answer.data["embeds"][0]["fields"] if f["name"] == "Weekly digest")
        assert "403" in digest_field["value"]
        assert digests(fake) == []


def _enabled(config: Config) -> bool:
    with sqlite3.connect(config.db_path) as db:
        row = db.execute("SELECT enabled FROM digest_settings WHERE guild_id = ?", (GUILD_ID,)).fetchone()
    return bool(row and row[0])


async def test_admin_digest_commands_and_digest_now(fake: FakeDiscord, sample_config: Config) -> None:
    clock = Clock(MONDAY_0800)
    config = guild_config(sample_config)
    async with bot_running(fake, config, clock=clock, digest_interval=TICK) as client:
        await client.scheduler.configure(GUILD_ID, channel_id=DIGEST_CHANNEL_ID)
        schedule = await fake.interact("newsbot digest-schedule",
                                       {"weekday": 4, "time": "18:30", "timezone": "Europe/Berlin"},
                                       permissions=ADMIN)
        await schedule.response()
        [reply] = await schedule.followups(1)
        # Not enabled yet, so the reply says "off"; the stored schedule is checked below.
        assert reply.data["embeds"][0]["title"] == "Digest schedule set"
        stored = await client.scheduler.settings(GUILD_ID)
        assert (stored.weekday, stored.time, stored.timezone) == (4, dt.time(18, 30), "Europe/Berlin")
        bad = await fake.interact("newsbot digest-schedule", {"weekday": 0, "time": "25:99", "timezone": "UTC"},
                                  permissions=ADMIN)
        await bad.response()
        [error] = await bad.followups(1)
        assert "HH:MM" in error.data["content"]
        refused = await fake.interact("newsbot digest-now", permissions=MEMBER_PERMISSIONS & ~MANAGE_GUILD)
        answer = await refused.response()
        assert "admin" in answer.data["content"].lower()
        assert digests(fake) == []
        now = await fake.interact("newsbot digest-now", permissions=ADMIN)
        await now.response()
        [done] = await now.followups(1)
        assert done.data["content"].startswith("Posted the digest")
        assert len(digests(fake)) == 1
        # Named by its label, as everywhere a person reads it, not by its file slug.
        assert re.search(r"Posted the digest \((#\d+|\d{4}-W\d{2}|\d{4}-\d{2})\)", done.data["content"]), done.data


def _guilds_for_two_shards() -> tuple[FakeGuild, FakeGuild]:
    ids: dict[int, int] = {}
    candidate = GUILD_ID
    while len(ids) < 2:
        ids.setdefault(shard_owner(candidate, 2), candidate)
        candidate += 1 << 22
    guilds = []
    for shard in (0, 1):
        gid = ids[shard]
        guilds.append(FakeGuild(gid, f"guild-{shard}", channels=(FakeChannel(gid + 1, f"digest-{shard}"),),
                                roles=(FakeRole(gid, "@everyone", permissions=MEMBER_PERMISSIONS),)))
    return guilds[0], guilds[1]


async def test_two_shard_processes_never_both_post(sample_config: Config) -> None:
    g0, g1 = _guilds_for_two_shards()
    async with FakeDiscord(guilds=[g0, g1]) as fake:
        with point_discord_py_at(fake):
            clock = Clock(MONDAY_0800)
            config = msgspec.structs.replace(sample_config, discord=msgspec.structs.replace(sample_config.discord,
                                                                                     guild_ids=()))
            shard = {"clock": clock, "digest_interval": TICK}
            async with bot_running(fake, config, shards=([1], 2), **shard) as b:
                # Commands are synced once per deployment, by shard 0: shard 1 never syncs, even on a fresh store.
                assert b.synced is False
                assert fake.command_syncs == []
                async with bot_running(fake, config, shards=([0], 2), **shard) as a:
                    assert a.synced is True
                    assert len(fake.command_syncs) == 1
                    for guild in (g0, g1):
                        await a.scheduler.enable(guild.id, guild.channels[0].id)
                    clock.now = MONDAY_0800 + dt.timedelta(hours=1, minutes=1)
                    await wait_for(lambda: all(len(digests(fake, g.channels[0].id)) == 1 for g in (g0, g1)))
                    await asyncio.sleep(TICK * 20)
                    outcomes_a = await a.scheduler.tick(a.poster)
                    outcomes_b = await b.scheduler.tick(b.poster)
            assert {o.guild_id for o in outcomes_a} <= {g0.id}
            assert {o.guild_id for o in outcomes_b} <= {g1.id}
            for g in (g0, g1):
                assert len(digests(fake, g.channels[0].id)) == 1
            posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
            assert len(posts) == 2


async def test_a_repeated_digest_post_returns_the_first_message(sample_config: Config) -> None:
    """The poster's nonce (guild + slot) with discord.py's enforce_nonce: a resend within Discord's window (a
    retry, or a second process after a takeover) gets the first message back; another slot or guild does not."""
    async with FakeDiscord() as fake:
        with point_discord_py_at(fake):
            async with bot_running(fake, guild_config(sample_config)) as client:
                content = await client.newsbot.features(None)
                poster = client.poster
                first = await poster.post(DIGEST_CHANNEL_ID, GUILD_ID, "2024-W10", content)
                again = await poster.post(DIGEST_CHANNEL_ID, GUILD_ID, "2024-W10", content)
                other_week = await poster.post(DIGEST_CHANNEL_ID, GUILD_ID, "2024-W11", content)
            posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
            assert [r.json["nonce"] for r in posts] == [digest_nonce(GUILD_ID, "2024-W10")] * 2 + [
                digest_nonce(GUILD_ID, "2024-W11")]
            assert all(r.json["enforce_nonce"] is True for r in posts)
            assert again == first
            assert other_week != first
            assert len(digests(fake)) == 2
            assert fake.nonce_replays == 1


async def test_the_fake_forgets_a_nonce_after_its_window(sample_config: Config) -> None:
    """Past Discord's nonce window a resend is a new message: the fake enforces the window, which is why the
    scheduler still looks in the channel before any resend (tests/system/test_faults.py, SIGKILL mid-post)."""
    async with FakeDiscord(nonce_window=0.0) as fake:
        with point_discord_py_at(fake):
            async with bot_running(fake, guild_config(sample_config)) as client:
                content = await client.newsbot.features(None)
                poster = client.poster
                first = await poster.post(DIGEST_CHANNEL_ID, GUILD_ID, "2024-W10", content)
                await asyncio.sleep(0.01)
                again = await poster.post(DIGEST_CHANNEL_ID, GUILD_ID, "2024-W10", content)
            assert again != first
            assert fake.nonce_replays == 0


async def test_digest_now_from_two_admins_at_once_or_twice_in_a_row_posts_once(fake: FakeDiscord,
                                                                              sample_config: Config) -> None:
    clock = Clock(MONDAY_0800)
    async with bot_running(fake, guild_config(sample_config), clock=clock, digest_interval=TICK) as client:
        await client.scheduler.configure(GUILD_ID, channel_id=DIGEST_CHANNEL_ID)
        # The first admin's digest is on its way (Discord has it, the answer is held) when the second asks.
        held = fake.pause_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages")
        first = await fake.interact("newsbot digest-now", permissions=ADMIN, user=FakeUser(5101, "admin-a"))
        await asyncio.wait_for(held.arrived.wait(), 10)
        second = await fake.interact("newsbot digest-now", permissions=ADMIN, user=FakeUser(5102, "admin-b"))
        with contextlib.suppress(TimeoutError):  # a second post would wait behind the first one's, not answer
            await second.followups(1)
        held.release()
        [busy] = await second.followups(1)
        [posted] = await first.followups(1)
        # A double submit of a request that is done.
        again = await fake.interact("newsbot digest-now", permissions=ADMIN, user=FakeUser(5101, "admin-a"))
        [repeat] = await again.followups(1)
        # Both at once, before either has claimed anything: one wins the claim.
        clock.now += dt.timedelta(minutes=5)
        together = [await fake.interact("newsbot digest-now", permissions=ADMIN, user=FakeUser(5100 + n, "admin"))
                    for n in (1, 2)]
        replies = [(await h.followups(1))[0].data["content"] for h in together]
    assert posted.data["content"].startswith("Posted the digest")
    assert "being posted" in busy.data["content"]
    assert "less than a minute ago" in repeat.data["content"]
    assert sum(r.startswith("Posted the digest") for r in replies) == 1
    assert len(digests(fake)) == 2  # the first request's, and the later pair's one
    posts = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{DIGEST_CHANNEL_ID}/messages"]
    assert len(posts) == 2
