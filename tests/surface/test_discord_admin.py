"""What an admin sees, through the real discord.py client against the fake Discord: the digest settings as set
(channel as a clickable mention), a warning for a channel the bot cannot post in, the `latest` policy's empty
digest, one set of commands after a switch between guild and global sync, and page buttons at shutdown."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest
from botkit import bot_running, guild_config
from fake_discord import DIGEST_CHANNEL_ID, DIGEST_ROLE_ID, GENERAL_CHANNEL_ID, GUILD_ID, FakeDiscord, FakeOverwrite
from fake_discord.payloads import EMBED_LINKS, MEMBER_PERMISSIONS, SEND_MESSAGES
from fake_discord.server import BOT_ROLE_ID, default_guild

from bot.config import Config

ADMIN = MEMBER_PERMISSIONS | (1 << 5)
CREATE_PUBLIC_THREADS = 1 << 35


def text_of(embed: dict[str, Any]) -> str:
    return "\n".join([embed.get("description") or "", *(f"{f['name']}: {f['value']}" for f in embed.get("fields", []))])


async def admin(fake: FakeDiscord, command: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``/newsbot <command>`` as an admin; the ephemeral reply (embed or text)."""
    handle = await fake.interact(f"newsbot {command}", options or {}, permissions=ADMIN)
    await handle.response()
    [reply] = await handle.followups(1)
    assert reply.status == 200, reply
    return dict(reply.data)


def guild_where_the_digest_channel_is_closed_to_the_bot() -> Any:
    guild = default_guild()
    closed = dataclasses.replace(guild.channels[1], overwrites=(
        FakeOverwrite(BOT_ROLE_ID, type=0, deny=SEND_MESSAGES | EMBED_LINKS),))
    return dataclasses.replace(guild, channels=(guild.channels[0], closed))


async def test_settings_replies_and_stats_show_what_is_set(sample_config: Config) -> None:
    async with FakeDiscord(guilds=[guild_where_the_digest_channel_is_closed_to_the_bot()]) as fake:
        from fake_discord import point_discord_py_at

        with point_discord_py_at(fake):
            async with bot_running(fake, guild_config(sample_config)):
                schedule = await admin(fake, "digest-schedule",
                                       {"weekday": 4, "time": "18:30", "timezone": "America/Los_Angeles"})
                closed = await admin(fake, "digest-channel", {"channel": str(DIGEST_CHANNEL_ID)})
                open_ = await admin(fake, "digest-channel", {"channel": str(GENERAL_CHANNEL_ID)})
                policy = await admin(fake, "digest-policy", {"policy": "latest"})
                on = await admin(fake, "digest-on")
                stats = await admin(fake, "stats")
                on_closed = await admin(fake, "digest-on", {"channel": str(DIGEST_CHANNEL_ID)})
                preview = await fake.interact("digest", {})
                await preview.response()
                [empty] = await preview.followups(1)
                now = await admin(fake, "digest-now")

    first = text_of(schedule["embeds"][0])
    assert "Friday at 18:30 America/Los\\_Angeles" in first  # the escape keeps the zone's _ literal
    assert "no channel yet" in first
    assert "**off**" in first
    warned = text_of(closed["embeds"][0])
    assert f"<#{DIGEST_CHANNEL_ID}>" in warned  # a clickable mention, not escaped
    assert "I cannot post there" in warned
    assert "Send Messages" in warned
    assert "Embed Links" in warned
    assert "cannot post" not in text_of(open_["embeds"][0])
    assert "policy “latest”" in text_of(policy["embeds"][0])
    turned_on = text_of(on["embeds"][0])
    assert f"<#{GENERAL_CHANNEL_ID}> · Friday at 18:30" in turned_on
    assert "**on**" in turned_on
    [digest_field] = [f for f in stats["embeds"][0]["fields"] if f["name"] == "Weekly digest"]
    assert f"<#{GENERAL_CHANNEL_ID}>" in digest_field["value"]
    assert "Friday at 18:30" in digest_field["value"]
    assert "Missing Send Messages, Embed Links" in text_of(on_closed["embeds"][0])
    # Under "latest" nothing is new yet: it says so in those words, not "received every issue".
    for text in (empty.data["content"], now["content"]):
        assert "no issue newer than when the digest was turned on" in text
        assert "received every issue" not in text


@pytest.mark.parametrize("may_thread", [False, True])
async def test_digest_thread_on_warns_at_once_without_create_public_threads(sample_config: Config,
                                                                            may_thread: bool) -> None:
    guild = default_guild()
    extra = CREATE_PUBLIC_THREADS if may_thread else 0
    guild = dataclasses.replace(guild, roles=tuple(
        dataclasses.replace(r, permissions=r.permissions | extra) if r.id == BOT_ROLE_ID else r for r in guild.roles))
    async with FakeDiscord(guilds=[guild]) as fake:
        from fake_discord import point_discord_py_at

        with point_discord_py_at(fake):
            async with bot_running(fake, guild_config(sample_config)):
                await admin(fake, "digest-channel", {"channel": str(DIGEST_CHANNEL_ID)})
                reply = text_of((await admin(fake, "digest-thread", {"mode": "on"}))["embeds"][0])
    assert "cannot post" not in reply  # the channel itself is fine
    if may_thread:
        assert "cannot open threads" not in reply
    else:
        assert f"I cannot open threads there: Missing Create Public Threads in <#{DIGEST_CHANNEL_ID}>" in reply


async def test_digest_role_refuses_everyone_and_managed_roles(fake: FakeDiscord, sample_config: Config) -> None:
    from fake_discord import point_discord_py_at

    with point_discord_py_at(fake):
        async with bot_running(fake, guild_config(sample_config)):
            everyone = await admin(fake, "digest-role", {"role": str(GUILD_ID)})
            managed = await admin(fake, "digest-role", {"role": str(BOT_ROLE_ID)})
            readers = await admin(fake, "digest-role", {"role": str(DIGEST_ROLE_ID)})
    assert "cannot be the everyone role" in everyone["content"]
    assert "cannot be a bot's or an integration's own role" in managed["content"]
    assert readers["embeds"][0]["title"].startswith("Digest role set")


async def test_switching_between_guild_and_global_sync_leaves_one_set(fake: FakeDiscord,
                                                                      sample_config: Config) -> None:
    in_guild = guild_config(sample_config)
    everywhere = msgspec.structs.replace(in_guild, discord=msgspec.structs.replace(in_guild.discord, guild_ids=()))
    async with bot_running(fake, in_guild):
        assert fake.commands[GUILD_ID]
    async with bot_running(fake, everywhere):
        pass
    assert fake.commands[GUILD_ID] == []  # the guild copies are gone, so nothing is listed twice
    assert {c["name"] for c in fake.commands[None]} >= {"ask", "newsbot"}
    async with bot_running(fake, in_guild):
        pass
    assert fake.commands[None] == []
    assert {c["name"] for c in fake.commands[GUILD_ID]} >= {"ask", "newsbot"}


async def test_page_buttons_are_disabled_at_shutdown(fake: FakeDiscord, sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config)):
        handle = await fake.interact("ask", {"question": "变压器 模型 论文", "count": 10})
        await handle.response()
        await handle.followups(1)
        message_id = int(fake.channel_messages[GENERAL_CHANNEL_ID][-1]["id"])
        stored = fake.message(message_id)
        assert stored is not None
        assert any(not b.get("disabled") for row in stored["components"] for b in row["components"])
    stored = fake.message(message_id)
    assert stored is not None
    assert all(b.get("disabled") for row in stored["components"] for b in row["components"])
