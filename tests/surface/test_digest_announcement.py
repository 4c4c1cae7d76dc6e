"""A digest in an announcement channel is published (crossposted) to the servers that follow it: the real
discord.py client against the fake Discord, whose crosspost endpoint answers as Discord does (403 where the bot
may not publish)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from botkit import bot_running, guild_config
from clock import Clock
from fake_discord import DIGEST_CHANNEL_ID, GUILD_ID, FakeDiscord, point_discord_py_at
from fake_discord.payloads import MEMBER_PERMISSIONS
from fake_discord.server import ANNOUNCEMENT_CHANNEL, CROSSPOSTED, default_guild

from bot.config import Config

ADMIN = MEMBER_PERMISSIONS | (1 << 5)
TICK = 0.02
MONDAY_0800 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
async def news_fake() -> AsyncIterator[FakeDiscord]:
    """The default guild, with its digest channel an announcement channel (type 5)."""
    guild = default_guild()
    channels = tuple(dataclasses.replace(c, type=ANNOUNCEMENT_CHANNEL) if c.id == DIGEST_CHANNEL_ID else c
                     for c in guild.channels)
    async with FakeDiscord(guilds=[dataclasses.replace(guild, channels=channels)]) as server:
        with point_discord_py_at(server):
            yield server


async def wait_for(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the state is the fake server's, no event to wait on
            await asyncio.sleep(TICK)


def digests(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [m for m in fake.channel_messages.get(DIGEST_CHANNEL_ID, []) if m.get("embeds")]


async def test_a_digest_in_an_announcement_channel_is_published(news_fake: FakeDiscord,
                                                                 sample_config: Config) -> None:
    fake = news_fake
    async with bot_running(fake, guild_config(sample_config), clock=Clock(MONDAY_0800), digest_interval=TICK):
        on = await fake.interact("newsbot digest-on", {"channel": str(DIGEST_CHANNEL_ID)}, permissions=ADMIN)
        await on.response()
        [reply] = await on.followups(1)
        assert reply.data.get("embeds"), reply.data
        assert reply.data["embeds"][0]["title"] == "Weekly digest on"  # an announcement channel is accepted
        now = await fake.interact("newsbot digest-now", permissions=ADMIN)
        await now.response()
        [done] = await now.followups(1)
        assert done.data["content"].startswith("Posted the digest")
    [message] = digests(fake)
    assert fake.crossposts == [int(message["id"])]
    assert message["flags"] & CROSSPOSTED
    [call] = [r for r in fake.requests if r.path.endswith("/crosspost")]
    assert (call.method, call.path, call.status) == ("POST", f"/channels/{DIGEST_CHANNEL_ID}/messages/"
                                                             f"{message['id']}/crosspost", 200)


async def test_a_plain_text_channel_is_never_crossposted(fake: FakeDiscord, sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config), clock=Clock(MONDAY_0800), digest_interval=TICK) as bot:
        await bot.scheduler.enable(GUILD_ID, DIGEST_CHANNEL_ID)
        now = await fake.interact("newsbot digest-now", permissions=ADMIN)
        await now.response()
        await now.followups(1)
    assert len(digests(fake)) == 1
    assert fake.crossposts == []
    assert not [r for r in fake.requests if r.path.endswith("/crosspost")]


async def test_a_403_on_publishing_keeps_the_digest_posted_once_and_stats_say_so(
        news_fake: FakeDiscord, sample_config: Config, caplog: pytest.LogCaptureFixture) -> None:
    fake = news_fake
    fake.crosspost_forbidden.add(DIGEST_CHANNEL_ID)
    caplog.set_level(logging.INFO)
    clock = Clock(MONDAY_0800)
    async with bot_running(fake, guild_config(sample_config), clock=clock, digest_interval=TICK) as bot:
        await bot.scheduler.enable(GUILD_ID, DIGEST_CHANNEL_ID)
        clock.now = MONDAY_0800 + dt.timedelta(hours=1, minutes=1)  # the weekly post is due
        await wait_for(lambda: len(digests(fake)) == 1)
        await wait_for(lambda: any(r.path.endswith("/crosspost") for r in fake.requests))
        await wait_for(lambda: any("may not publish" in r.getMessage() for r in caplog.records))
        for _ in range(3):  # more ticks within the week: not sent again
            clock.now += dt.timedelta(minutes=20)
            await asyncio.sleep(TICK * 5)
        assert len(digests(fake)) == 1
        settings = await bot.scheduler.settings(GUILD_ID)
        assert settings.enabled  # the digest goes on; only publishing failed
        stats = await fake.interact("newsbot stats", permissions=ADMIN)
        await stats.response()
        [answer] = await stats.followups(1)
    field = next(f for f in answer.data["embeds"][0]["fields"] if f["name"] == "Weekly digest")
    assert "may not publish it to the servers following the announcement channel (403" in field["value"]
    assert fake.crossposts == []
    [call] = [r for r in fake.requests if r.path.endswith("/crosspost")]
    assert call.status == 403
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert fake.token not in logged
    assert fake.token.split(".")[0] not in logged
