"""The real discord.py client against the fake Discord in ``tests/support/fake_discord``.

The bot here is a stand-in defined in this file (the real bot does not exist yet). Every wait has
a generous deadline so a broken fake fails instead of hanging; the only timing assertions are
Discord's own 3 s interaction rule.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

with warnings.catch_warnings():
    # discord.py 2.7.1 imports audioop, deprecated since Python 3.11; warnings are errors here.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    from discord import app_commands
    from discord.ext import commands
    from fake_discord import (
        DIGEST_CHANNEL_ID,
        DIGEST_ROLE_ID,
        GENERAL_CHANNEL_ID,
        GUILD_ID,
        MODS_ROLE_ID,
        FakeDiscord,
        point_discord_py_at,
        running,
    )

    from bot.discord_adapter.poster import DiscordPoster
    from bot.errors import PostForbidden, PostRejected

INTERACTION_DEADLINE = 3.0  # Discord: "you must send an initial response within 3 seconds"
TITLES = ("Issue 12: 机器翻译 roundup", "Issue 13: RLHF notes", "Issue 14: 机器学习 tooling")


class PagerView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.page = 1

    @discord.ui.button(label="Next", custom_id="pager:next")
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[PagerView]) -> None:
        self.page += 1
        await interaction.response.edit_message(content=f"page {self.page}", view=self)


async def title_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=t, value=t) for t in TITLES if current.lower() in t.lower()][:25]


def build_commands() -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    # Fresh objects per bot: app_commands objects keep per-tree state such as a group's parent.
    @app_commands.command(description="Repeat the text back")
    @app_commands.describe(text="What to repeat")
    async def echo(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text, allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(description="Answer after thinking")
    async def slow(interaction: discord.Interaction, question: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"answer to {question}", wait=True)

    @app_commands.command(description="Think privately, then edit the placeholder")
    async def think(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="done thinking")

    @app_commands.command(description="Ask about the archive")
    @app_commands.autocomplete(question=title_choices)
    async def ask(interaction: discord.Interaction, question: str) -> None:
        await interaction.response.send_message(f"you asked {question}")

    @app_commands.command(description="A paginated reply")
    async def pager(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("page 1", view=PagerView())

    digest = app_commands.Group(name="digest", description="Weekly digest settings")
    channel = app_commands.Group(name="channel", description="Where the digest goes", parent=digest)

    @channel.command(name="set", description="Set the digest channel")
    async def channel_set(interaction: discord.Interaction, name: str, week: int) -> None:
        await interaction.response.send_message(f"digest to #{name} from week {week}", ephemeral=True)

    return [echo, slow, think, ask, pager, digest]


class StandInBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.1,  # on_ready waits this long after the last GUILD_CREATE
            help_command=None,
        )
        self.synced: list[app_commands.AppCommand] = []
        self.ready_count = 0
        self.resumed_count = 0

    async def setup_hook(self) -> None:
        guild = discord.Object(id=GUILD_ID)
        for command in build_commands():
            self.tree.add_command(command, guild=guild)
        self.synced = await self.tree.sync(guild=guild)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # The default sleeps 5 s before every re-IDENTIFY; the fake has no IDENTIFY rate limit.
        return None

    async def on_ready(self) -> None:
        self.ready_count += 1

    async def on_resumed(self) -> None:
        self.resumed_count += 1


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        with point_discord_py_at(server):
            yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[StandInBot]:
    async with running(StandInBot(), fake.token) as client:
        yield client


async def test_login_syncs_guild_commands_and_gets_ready(fake: FakeDiscord, bot: StandInBot) -> None:
    assert [(s.guild_id, s.status) for s in fake.command_syncs] == [(GUILD_ID, 200)]
    synced = {c["name"]: c for c in fake.commands[GUILD_ID]}
    assert sorted(synced) == ["ask", "digest", "echo", "pager", "slow", "think"]
    assert None not in fake.commands  # nothing synced globally
    assert [(o["name"], o["type"], o["required"]) for o in synced["echo"]["options"]] == [("text", 3, True)]
    assert synced["ask"]["options"][0]["autocomplete"] is True
    group = synced["digest"]["options"][0]
    assert (group["name"], group["type"]) == ("channel", 2)
    assert [(o["name"], o["type"]) for o in group["options"][0]["options"]] == [("name", 3), ("week", 4)]
    # The client parsed our echo: ids round-trip into AppCommand objects.
    assert {c.name: str(c.id) for c in bot.synced} == {n: c["id"] for n, c in synced.items()}

    assert bot.user is not None
    assert bot.user.id == fake.application_id
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None
    assert not guild.unavailable
    assert {c.name for c in guild.text_channels} == {"general", "digest"}
    assert bot.ready_count == 1

    first = fake.gateway_connections[0]
    assert first.identified
    assert first.heartbeats >= 1  # discord.py heartbeats as soon as HELLO arrives
    assert first.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert first.intents == discord.Intents.default().value
    assert fake.unhandled == []


async def test_echo_reply_arrives_within_three_seconds(fake: FakeDiscord, bot: StandInBot) -> None:
    handle = await fake.interact("echo", {"text": "hello @everyone"})
    callback = await handle.response()

    assert (callback.type, callback.status) == (4, 200)
    assert callback.data["content"] == "hello @everyone"
    assert callback.data["allowed_mentions"] == {"parse": []}
    assert callback.elapsed < INTERACTION_DEADLINE
    synced = fake.find_command("echo", GUILD_ID)
    assert synced is not None
    assert handle.payload["data"]["id"] == synced["id"]
    assert [m["content"] for m in fake.channel_messages[GENERAL_CHANNEL_ID]] == ["hello @everyone"]
    assert fake.token_leaks() == []


async def test_deferred_command_then_followup(fake: FakeDiscord, bot: StandInBot) -> None:
    handle = await fake.interact("slow", {"question": "what is RLHF?"})
    callback = await handle.response()
    assert callback.type == 5
    assert callback.elapsed < INTERACTION_DEADLINE

    [followup] = await handle.followups(1)
    assert (followup.method, followup.kind, followup.status) == ("POST", "followup", 200)
    assert followup.data["content"] == "answer to what is RLHF?"
    # The first followup after a defer fills in the "thinking" placeholder.
    original = handle.original_message
    assert original is not None
    assert original["content"] == "answer to what is RLHF?"
    assert original["flags"] & 128 == 0  # no longer LOADING
    assert fake.token_leaks() == []


async def test_ephemeral_defer_then_edit_original(fake: FakeDiscord, bot: StandInBot) -> None:
    handle = await fake.interact("think")
    callback = await handle.response()
    assert (callback.type, callback.data) == (5, {"flags": 64})

    [edit] = await handle.followups(1)
    assert (edit.method, edit.kind, edit.message_id) == ("PATCH", "edit", handle.original_message_id)
    original = handle.original_message
    assert original is not None
    assert (original["content"], original["flags"]) == ("done thinking", 64)  # ephemeral, not LOADING
    assert fake.channel_messages[GENERAL_CHANNEL_ID] == []


async def test_autocomplete_returns_choices(fake: FakeDiscord, bot: StandInBot) -> None:
    handle = await fake.interact("ask", {"question": "机器"}, type=4, focused="question")
    callback = await handle.response()

    assert (callback.type, callback.status) == (8, 200)
    assert [c["value"] for c in callback.data["choices"]] == [TITLES[0], TITLES[2]]


async def test_subcommand_group_is_routed_and_ephemeral(fake: FakeDiscord, bot: StandInBot) -> None:
    handle = await fake.interact("digest channel set", {"name": "digest", "week": 3})
    callback = await handle.response()

    assert callback.data == {"content": "digest to #digest from week 3", "flags": 64, "tts": False}
    assert fake.channel_messages[GENERAL_CHANNEL_ID] == []  # ephemeral replies are not in the channel


async def test_button_click_is_answered_with_an_edit(fake: FakeDiscord, bot: StandInBot) -> None:
    reply = await fake.interact("pager")
    sent = await reply.response()
    assert sent.data["components"][0]["components"][0]["custom_id"] == "pager:next"
    assert reply.original_message_id is not None

    click = await fake.interact(type=3, custom_id="pager:next", message=reply.original_message_id)
    update = await click.response()

    assert (update.type, update.status) == (7, 200)
    assert update.data["content"] == "page 2"
    assert update.elapsed < INTERACTION_DEADLINE
    assert reply.original_message is not None
    assert reply.original_message["content"] == "page 2"


async def test_channel_send_keeps_embeds(fake: FakeDiscord, bot: StandInBot) -> None:
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="Weekly digest", description="三篇新文章")
    embed.add_field(name="Issue 14", value="机器学习 tooling", inline=False)

    message = await channel.send(embed=embed)
    edited = await message.edit(content="see below")

    [stored] = fake.channel_messages[DIGEST_CHANNEL_ID]
    assert stored["embeds"][0]["fields"] == [{"name": "Issue 14", "value": "机器学习 tooling", "inline": False}]
    assert message.embeds[0].description == "三篇新文章"
    assert (edited.content, stored["content"]) == ("see below", "see below")
    assert edited.edited_at is not None
    [post] = [r for r in fake.requests if r.method == "POST" and r.path.startswith("/channels/")]
    assert post.authorized
    assert "Authorization" not in post.headers
    later = await channel.send("second")
    history = [m.id async for m in channel.history(limit=5)]
    assert history == [later.id, message.id]  # newest first
    fetched = await bot.fetch_channel(DIGEST_CHANNEL_ID)
    assert isinstance(fetched, discord.TextChannel)
    assert fetched.name == "digest"


async def test_rate_limited_send_is_retried_once(fake: FakeDiscord, bot: StandInBot) -> None:
    fake.fail_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages", 429, retry_after=0.05)
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    await channel.send("digest")

    posts = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{DIGEST_CHANNEL_ID}/messages"]
    assert [(r.status, r.injected) for r in posts] == [(429, True), (200, False)]
    assert [m["content"] for m in fake.channel_messages[DIGEST_CHANNEL_ID]] == ["digest"]


async def test_429_without_via_is_not_retried(fake: FakeDiscord, bot: StandInBot) -> None:
    # discord.py reads a 429 without a Via header as a Cloudflare ban and raises at once.
    fake.fail_next("POST", r"/channels/\d+/messages", 429, via=False)
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("digest")

    assert caught.value.status == 429
    assert fake.channel_messages[DIGEST_CHANNEL_ID] == []


async def test_forbidden_send_raises_with_discord_code(fake: FakeDiscord, bot: StandInBot) -> None:
    fake.fail_next("POST", r"/channels/\d+/messages", 403)
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("digest")

    assert (caught.value.status, caught.value.code, caught.value.text) == (403, 50013, "Missing Permissions")


async def test_server_errors_on_channel_send(fake: FakeDiscord, bot: StandInBot) -> None:
    # discord.py's HTTPClient retries only 500/502/504/524 (after 1 s); 503 is raised at once.
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    path = rf"/channels/{DIGEST_CHANNEL_ID}/messages"

    fake.fail_next("POST", path, 503)
    with pytest.raises(discord.DiscordServerError):
        await channel.send("first try")
    assert fake.channel_messages[DIGEST_CHANNEL_ID] == []

    fake.fail_next("POST", path, 500)
    await channel.send("second try")
    statuses = [r.status for r in fake.requests if r.method == "POST" and r.path == path]
    assert statuses == [503, 500, 200]
    assert [m["content"] for m in fake.channel_messages[DIGEST_CHANNEL_ID]] == ["second try"]


async def test_interaction_callback_503_is_retried(fake: FakeDiscord, bot: StandInBot) -> None:
    # The webhook adapter (callbacks, followups) retries every 5xx after 1 s, 503 included.
    fake.fail_next("POST", r"/interactions/\d+/[^/]+/callback", 503)
    handle = await fake.interact("echo", {"text": "again"})

    callback = await handle.response()

    assert callback.accepted
    assert callback.elapsed < INTERACTION_DEADLINE
    attempts = [r.status for r in fake.requests if r.path.endswith("/callback")]
    assert attempts == [503, 200]


async def test_late_callback_is_rejected_like_discord(bot: StandInBot, fake: FakeDiscord) -> None:
    fake.interaction_deadline = 0.0  # every callback is late
    handle = await fake.interact("echo", {"text": "too late"})

    callback = await handle.response()

    assert (callback.status, callback.accepted) == (404, False)
    assert fake.channel_messages[GENERAL_CHANNEL_ID] == []


@pytest.mark.parametrize("close_code", [4000, None], ids=["close-4000", "abrupt"])
async def test_dropped_gateway_resumes_and_keeps_answering(
    fake: FakeDiscord, bot: StandInBot, close_code: int | None
) -> None:
    session = fake.session_id
    await fake.drop_gateway(close_code)
    # Sent while the client is away: buffered and replayed on RESUME.
    missed = await fake.interact("echo", {"text": "sent during the outage"})

    await fake.wait_until(lambda: bot.resumed_count == 1, timeout=10.0, what="on_resumed")
    resumed = fake.gateway_connections[-1]
    assert resumed.resumed
    assert not resumed.identified
    assert resumed.path == "/resume/"  # READY's resume_gateway_url
    assert fake.session_id == session
    assert bot.ready_count == 1  # a RESUME does not fire on_ready again
    assert (await missed.response()).data["content"] == "sent during the outage"
    assert resumed.replayed  # the INTERACTION_CREATE came by replay

    later = await fake.interact("echo", {"text": "after the outage"})
    callback = await later.response()
    assert callback.accepted
    assert callback.elapsed < INTERACTION_DEADLINE


async def test_invalidated_session_identifies_again(fake: FakeDiscord, bot: StandInBot) -> None:
    old_session = fake.session_id
    await fake.invalidate_session()

    await fake.wait_until(lambda: bot.ready_count == 2, timeout=10.0, what="a second on_ready")
    assert fake.session_id not in (None, old_session)
    again = fake.gateway_connections[-1]
    assert again.identified
    assert again.path == "/"  # back to DEFAULT_GATEWAY, not the resume URL

    handle = await fake.interact("echo", {"text": "new session"})
    assert (await handle.response()).accepted


async def test_unknown_route_is_recorded(fake: FakeDiscord, bot: StandInBot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(GUILD_ID)

    assert [(r.method, r.path, r.status) for r in fake.unhandled] == [("GET", f"/guilds/{GUILD_ID}", 404)]


async def test_token_leak_scan_finds_a_leak(fake: FakeDiscord, bot: StandInBot) -> None:
    channel = bot.get_channel(GENERAL_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    await channel.send(f"oops {fake.token}")

    assert fake.token_leaks() == [f"POST /channels/{GENERAL_CHANNEL_ID}/messages: body"]


async def test_raw_rest_contract(fake: FakeDiscord) -> None:
    # The parts of the contract discord.py does not show directly, checked with a bare client.
    auth = {"Authorization": f"Bot {fake.token}"}
    messages = f"{fake.api_base}/channels/{DIGEST_CHANNEL_ID}/messages"
    fake.fail_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages", 502, count=2)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.api_base}/nowhere", headers=auth) as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"  # verbatim, no charset
            assert await response.json() == {"message": "404: Not Found", "code": 0}
        async with http.get(messages) as response:
            assert response.status == 401  # bot routes need the token
        statuses = []
        for n in range(4):
            async with http.post(messages, json={"content": f"m{n}"}, headers=auth) as response:
                statuses.append(response.status)
        async with http.get(messages, params={"limit": "2"}, headers=auth) as response:
            newest = [m["content"] for m in await response.json()]

    assert statuses == [502, 502, 200, 200]
    assert newest == ["m3", "m2"]
    assert [(r.method, r.path) for r in fake.unhandled] == [("GET", "/nowhere")]


async def test_bad_token_fails_login(fake: FakeDiscord) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running(StandInBot(), "not-the-token"):
            pass  # pragma: no cover - never ready

    assert [(r.path, r.status) for r in fake.requests] == [("/users/@me", 401)]


async def test_clean_shutdown_closes_gateway_and_http(fake: FakeDiscord) -> None:
    client = StandInBot()
    async with running(client, fake.token):
        handle = await fake.interact("echo", {"text": "bye"})
        await handle.response()

    assert client.is_closed()
    await fake.wait_until(lambda: fake.gateway_connections[-1].closed, timeout=5.0, what="gateway close")
    # Client.close() asks for 1000, but its own receive loop wakes first and closes with 4000
    # (aiohttp feeds CLOSING to the pending receive(); gateway.py poll_event closes with 4000).
    assert fake.gateway_connections[-1].close_code in (1000, 4000)
    assert fake.unhandled == []


async def test_role_mentions_as_discord_computes_them(fake: FakeDiscord, bot: StandInBot) -> None:
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    role = channel.guild.get_role(DIGEST_ROLE_ID)
    assert role is not None
    assert role.mentionable
    text = f"{role.mention} <@&{MODS_ROLE_ID}> @everyone <@{fake.owner.id}>"
    # Only the named role: the other role, @everyone and the user are in the text but ping no one.
    only = await channel.send(text, allowed_mentions=discord.AllowedMentions(everyone=False, users=False,
                                                                            roles=[role], replied_user=False))
    assert ([r.id for r in only.role_mentions], only.mentions, only.mention_everyone) == ([DIGEST_ROLE_ID], [], False)
    # Everything allowed: the mentionable role and the user ping; the non-mentionable role and @everyone
    # need MENTION_EVERYONE, which the bot lacks.
    loose = await channel.send(text, allowed_mentions=discord.AllowedMentions.all())
    assert [r.id for r in loose.role_mentions] == [DIGEST_ROLE_ID]
    assert [u.id for u in loose.mentions] == [fake.owner.id]
    assert not loose.mention_everyone
    none = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
    assert (none.role_mentions, none.mentions, none.mention_everyone) == ([], [], False)
    stored = fake.channel_messages[DIGEST_CHANNEL_ID]
    assert [m["mention_roles"] for m in stored] == [[str(DIGEST_ROLE_ID)], [str(DIGEST_ROLE_ID)], []]


async def test_thread_from_a_message(fake: FakeDiscord, bot: StandInBot) -> None:
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("digest")
    thread = await message.create_thread(name="2021 年第 13 周", auto_archive_duration=10080)
    assert (thread.id, thread.parent_id, thread.name) == (message.id, DIGEST_CHANNEL_ID, "2021 年第 13 周")
    assert fake.threads[message.id]["thread_metadata"]["auto_archive_duration"] == 10080
    assert fake.message(message.id)["thread"]["id"] == str(message.id)  # type: ignore[index]
    with pytest.raises(discord.HTTPException) as again:
        await message.create_thread(name="twice")
    assert (again.value.status, again.value.code) == (400, 160004)
    with pytest.raises(discord.HTTPException) as long_name:
        await (await channel.send("x")).create_thread(name="长" * 101)
    assert long_name.value.status == 400
    fake.fail_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages/\d+/threads", 403,
                   json={"message": "Missing Permissions", "code": 50013})
    with pytest.raises(discord.Forbidden):
        await (await channel.send("y")).create_thread(name="no rights")


async def test_the_poster_names_a_400_on_the_thread_by_discords_words_and_only_a_403_as_forbidden(
        fake: FakeDiscord, bot: StandInBot) -> None:
    poster = DiscordPoster(bot)
    channel = bot.get_channel(DIGEST_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    threads = rf"/channels/{DIGEST_CHANNEL_ID}/messages/\d+/threads"
    fake.fail_next("POST", threads, 400, json={"message": "Invalid Form Body", "code": 50035})
    with pytest.raises(PostRejected, match=r"Discord rejected the thread \(400: Invalid Form Body\)"):
        await poster.start_thread(DIGEST_CHANNEL_ID, (await channel.send("a")).id, "name")
    fake.fail_next("POST", threads, 403, json={"message": "Missing Permissions", "code": 50013})
    with pytest.raises(PostForbidden) as forbidden:
        await poster.start_thread(DIGEST_CHANNEL_ID, (await channel.send("b")).id, "name")
    assert not isinstance(forbidden.value, PostRejected)
