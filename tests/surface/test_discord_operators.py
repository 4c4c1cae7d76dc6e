"""Who runs the deployment on Discord: the application's owner (or its team's admins and developers) and the users
in ``discord.operator_ids`` may reindex, retry feeds and see them in stats; a guild admin who is none of these gets
a refusal and a stats view of their own guild. A feed-retry never fetches a feed before its server's Retry-After.
Through the real client against the fake Discord and a real feed server that counts requests."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from botkit import bot_running, guild_config
from fake_discord import DEFAULT_USER, FakeDiscord, FakeUser, point_discord_py_at
from feed_server import SAMPLE, FeedServer

from bot.commands import OPERATORS_ONLY
from bot.config import Config, FeedConfig

pytestmark = pytest.mark.timeout(120)

ADMIN = (1 << 5) | (1 << 10) | (1 << 11) | (1 << 31)  # Manage Server, View Channel, Send Messages, Use Commands
OPERATOR = FakeUser(1_180_000_000_000_000_300, "operator")
DEVELOPER = FakeUser(1_180_000_000_000_000_301, "developer")
READ_ONLY = FakeUser(1_180_000_000_000_000_302, "read-only")


def text_of(reply: dict[str, Any]) -> str:
    parts = [reply.get("content") or ""]
    for embed in reply.get("embeds", []):
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def admin(fake: FakeDiscord, command: str, user: FakeUser, options: dict[str, Any] | None = None) -> str:
    handle = await fake.interact(f"newsbot {command}", options or {}, permissions=ADMIN, user=user)
    await handle.response()
    [reply] = await handle.followups(1, timeout=15.0)
    return text_of(dict(reply.data))


def feed_config(sample_config: Config, tmp_path: Path, server: FeedServer) -> Config:
    archive = tmp_path / "archive"
    archive.mkdir()
    hand_saved = sorted(SAMPLE.glob("*.md"))[0]
    shutil.copy(hand_saved, archive / hand_saved.name)
    config = guild_config(sample_config, path=str(archive), feeds=(FeedConfig(server.url("/busy"), "busy"),),
                          feed_timeout_seconds=5.0)
    return msgspec.structs.replace(config, discord=msgspec.structs.replace(config.discord,
                                                                           operator_ids=(OPERATOR.id,)))


async def wait_for_requests(server: FeedServer, path: str, n: int) -> None:
    for _ in range(200):
        if len(server.requests(path)) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} was not requested {n} times")


async def test_guild_admins_cannot_drive_the_deployment_and_retry_after_holds(sample_config: Config,
                                                                             tmp_path: Path) -> None:
    async with FeedServer() as server, FakeDiscord() as fake:
        server.fail("/busy", "status", status=503, headers={"Retry-After": "3600"})
        config = feed_config(sample_config, tmp_path, server)
        with point_discord_py_at(fake):
            async with bot_running(fake, config):
                await wait_for_requests(server, "/busy", 1)  # the poller's first poll: 503, come back in an hour
                # Ten guild admins who are not operators: refused, and the feed is not fetched again.
                for _ in range(10):
                    assert await admin(fake, "feed-retry", DEFAULT_USER, {"feed": "busy"}) == OPERATORS_ONLY
                assert await admin(fake, "reindex", DEFAULT_USER) == OPERATORS_ONLY
                guild_stats = await admin(fake, "stats", DEFAULT_USER)
                # The operators: the application's owner and a configured operator id.
                owner_stats = await admin(fake, "stats", fake.owner)
                retried = await admin(fake, "feed-retry", fake.owner, {"feed": "busy"})
                retried_again = await admin(fake, "feed-retry", OPERATOR)
                reindexed = await admin(fake, "reindex", OPERATOR)
                await asyncio.sleep(1.0)  # the poller was woken by each retry; give it time to (not) fetch
        assert len(server.requests("/busy")) == 1
    assert "Index" in guild_stats
    assert "busy" not in guild_stats
    assert "Feeds" not in guild_stats
    assert "Feeds (1)" in owner_stats
    assert "busy" in owner_stats
    assert "Feed “busy” enabled again" in retried  # the reply names the feed it retried
    assert "busy" in retried
    assert "Feed “busy” enabled again" in retried_again
    assert "Reindexed" in reindexed


async def test_a_team_owned_application_admits_its_admins_and_developers(sample_config: Config,
                                                                         tmp_path: Path) -> None:
    team = [(FakeUser(1_180_000_000_000_000_303, "team-owner"), "admin"), (DEVELOPER, "developer"),
            (READ_ONLY, "read_only")]
    async with FakeDiscord(team=team) as fake:
        with point_discord_py_at(fake):
            async with bot_running(fake, guild_config(sample_config)):
                developer = await admin(fake, "reindex", DEVELOPER)
                read_only = await admin(fake, "reindex", READ_ONLY)
                former_owner = await admin(fake, "reindex", fake.owner)  # the team owns it now, not a person
    assert "Reindexed" in developer
    assert read_only == former_owner == OPERATORS_ONLY
