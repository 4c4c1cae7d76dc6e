"""Slash commands. Each handler is thin: defer if the work may be slow, call the service, render, send.

The cogs receive the service (and the digest poster), never the client. Names, descriptions and parameters
come from the command registry (:data:`bot.commands.COMMANDS`); a test compares the synced set with it.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import COMMANDS_BY_NAME, Newsbot
from bot.digest.schedule import DAY_NAMES
from bot.digest.scheduler import Poster
from bot.discord_adapter import embeds
from bot.discord_adapter.replies import answered_public, defer_public
from bot.discord_adapter.translator import described
from bot.discord_adapter.views import OpenViews
from bot.errors import DigestError
from bot.i18n import N_, Lang, lang
from bot.registry import ADMIN_GROUP, ADMIN_GROUP_DESCRIPTION, ChannelId, IssueRef, RoleId
from bot.results import DigestSettingsResult

NO_MENTIONS = discord.AllowedMentions.none()
# Every string option has a max_length, so Discord itself refuses a novel where a word is wanted.
QUESTION_MAX = 1000
ISSUE_MAX = 100
TIMEZONE_MAX = 64  # the longest IANA name is 32 characters
IssueArg = app_commands.Range[str, 1, ISSUE_MAX]
Interaction = discord.Interaction[Any]


def _describe(name: str) -> dict[str, app_commands.locale_str]:
    return {p.name: described(p.description) for p in COMMANDS_BY_NAME[name].params}


def _desc(name: str) -> app_commands.locale_str:
    return described(COMMANDS_BY_NAME[name].description)


def lang_of(interaction: Interaction) -> Lang:
    """The language of the member's Discord client (English for any locale without a catalog)."""
    return lang(interaction.locale.value)


def _ask_cooldown(interaction: Interaction) -> app_commands.Cooldown | None:
    cog = interaction.command.binding if isinstance(interaction.command, app_commands.Command) else None
    seconds = cog.ask_cooldown if isinstance(cog, ReaderCog) else 0.0
    # Two questions per window: a follow-up question right away is normal, a flood is not.
    return app_commands.Cooldown(2, seconds) if seconds > 0 else None


async def send(interaction: Interaction, reply: embeds.Reply, *, ephemeral: bool = False,
               views: OpenViews | None = None) -> None:
    """Send a rendered reply: as the interaction's response, or as its followup once deferred. A paged reply
    gets page buttons (``views``) that only the asker can turn."""
    first = reply.embeds[:1] if reply.paged else reply.embeds
    if not interaction.response.is_done():
        await interaction.response.send_message(reply.content, embeds=first, ephemeral=ephemeral,
                                                allowed_mentions=NO_MENTIONS)
        return
    if reply.paged and len(reply.embeds) > 1 and views is not None:
        view = views.open(reply.embeds, owner_id=interaction.user.id)
        view.message = await interaction.followup.send(embed=reply.embeds[0], view=view, ephemeral=ephemeral,
                                                       allowed_mentions=NO_MENTIONS, wait=True)
        return
    await interaction.followup.send(reply.content or discord.utils.MISSING, embeds=first, ephemeral=ephemeral,
                                    allowed_mentions=NO_MENTIONS)


class ReaderCog(commands.Cog):
    def __init__(self, service: Newsbot, views: OpenViews, *, ask_cooldown: float = 0.0) -> None:
        self.service = service
        self.views = views
        self.ask_cooldown = ask_cooldown

    async def issue_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name[:100], value=value[:100])
                for name, value in self.service.issue_choices(current)]

    @app_commands.command(name="ask", description=_desc("ask"))
    @app_commands.describe(**_describe("ask"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    @app_commands.checks.dynamic_cooldown(_ask_cooldown)
    async def ask(self, interaction: Interaction, question: app_commands.Range[str, 1, QUESTION_MAX],
                  issue: IssueArg | None = None, count: app_commands.Range[int, 1, 25] | None = None) -> None:
        # The answer is public, its errors are not: the ones we can name now are answered before the defer.
        self.service.check_ask(issue, count)
        await defer_public(interaction)
        result = await self.service.ask(question, IssueRef(issue) if issue else None, count,
                                        user_id=interaction.user.id)
        await send(interaction, embeds.render(result, lang_of(interaction)), views=self.views)
        answered_public(interaction)

    @app_commands.command(name="similar", description=_desc("similar"))
    @app_commands.describe(**_describe("similar"))
    async def similar(self, interaction: Interaction, item: app_commands.Range[str, 1, QUESTION_MAX],
                      count: app_commands.Range[int, 1, 25] | None = None) -> None:
        await defer_public(interaction)
        result = await self.service.similar(item, count, user_id=interaction.user.id)
        await send(interaction, embeds.render(result, lang_of(interaction)), views=self.views)
        answered_public(interaction)

    @app_commands.command(name="features", description=_desc("features"))
    @app_commands.describe(**_describe("features"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    async def features(self, interaction: Interaction, issue: IssueArg | None = None) -> None:
        result = await self.service.features(IssueRef(issue) if issue else None)
        await send(interaction, embeds.render(result, lang_of(interaction)))

    @app_commands.command(name="issue", description=_desc("issue"))
    @app_commands.describe(**_describe("issue"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    async def issue(self, interaction: Interaction, issue: IssueArg) -> None:
        await send(interaction, embeds.render(await self.service.issue(IssueRef(issue)), lang_of(interaction)))

    @app_commands.command(name="issues", description=_desc("issues"))
    @app_commands.describe(**_describe("issues"))
    async def issues(self, interaction: Interaction, page: app_commands.Range[int, 1, 10_000] | None = None) -> None:
        await send(interaction, embeds.render(await self.service.issues(page), lang_of(interaction)))

    @app_commands.command(name="latest", description=_desc("latest"))
    async def latest(self, interaction: Interaction) -> None:
        await send(interaction, embeds.render(await self.service.latest(), lang_of(interaction)))

    @app_commands.command(name="digest", description=_desc("digest"))
    async def digest(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.service.digest(guild_id=interaction.guild_id)
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    @app_commands.command(name="help", description=_desc("help"))
    async def help(self, interaction: Interaction) -> None:
        await send(interaction, embeds.render(await self.service.help(), lang_of(interaction)), ephemeral=True)


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class AdminCog(commands.GroupCog, group_name=ADMIN_GROUP, group_description=ADMIN_GROUP_DESCRIPTION):
    """Admin commands. ``default_permissions`` only hides them; :meth:`interaction_check` really enforces.
    Every reply is private, and every handler defers first (the work touches the shared store)."""

    def __init__(self, service: Newsbot, poster: Poster) -> None:
        self.service = service
        self.poster = poster
        super().__init__()

    async def interaction_check(self, interaction: Interaction) -> bool:
        # One check for the whole group, so a new admin command cannot be added without it.
        perms = interaction.permissions
        if not (perms.manage_guild or perms.administrator):
            raise app_commands.MissingPermissions(["manage_guild"])
        await interaction.response.defer(ephemeral=True, thinking=True)
        return True

    async def is_operator(self, interaction: Interaction) -> bool:
        """The bot's owners run the deployment: the application's owner or team members (discord.py asks
        Discord once and remembers), or a user listed in ``discord.operator_ids``. Manage Server is not enough."""
        user = interaction.user
        if user.id in self.service.config.discord.operator_ids:
            return True
        client = interaction.client
        # AutoShardedBot is not a subclass of Bot: both carry is_owner (from BotBase).
        return isinstance(client, commands.Bot | commands.AutoShardedBot) and await client.is_owner(user)

    @app_commands.command(name="reindex", description=_desc("reindex"))
    async def reindex(self, interaction: Interaction) -> None:
        result = await self.service.reindex(operator=await self.is_operator(interaction))
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    @app_commands.command(name="stats", description=_desc("stats"))
    async def stats(self, interaction: Interaction) -> None:
        result = await self.service.stats(guild_id=interaction.guild_id, operator=await self.is_operator(interaction))
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    @app_commands.command(name="feed-retry", description=_desc("feed-retry"))
    @app_commands.describe(**_describe("feed-retry"))
    async def feed_retry(self, interaction: Interaction, feed: app_commands.Range[str, 1, 500] | None = None) -> None:
        result = await self.service.feed_retry(feed, operator=await self.is_operator(interaction))
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    # -- weekly digest settings --

    async def _settings_reply(self, interaction: Interaction, result: DigestSettingsResult) -> None:
        channel_id = result.settings.channel_id
        lg = lang_of(interaction)
        reply = embeds.with_cannot_post(embeds.render(result, lg), cannot_post(interaction, channel_id), channel_id,
                                        lg)
        if result.settings.thread and not can_open_threads(interaction, channel_id):
            reply = embeds.with_no_threads(reply, channel_id, lg)
        await send(interaction, reply, ephemeral=True)

    @app_commands.command(name="digest-channel", description=_desc("digest-channel"))
    @app_commands.describe(**_describe("digest-channel"))
    async def digest_channel(self, interaction: Interaction, channel: discord.TextChannel) -> None:
        result = await self.service.digest_channel(ChannelId(channel.id), guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-schedule", description=_desc("digest-schedule"))
    @app_commands.describe(**_describe("digest-schedule"))
    @app_commands.choices(weekday=[app_commands.Choice(name=d, value=i) for i, d in enumerate(DAY_NAMES)])
    async def digest_schedule(self, interaction: Interaction, weekday: int, time: app_commands.Range[str, 4, 5],
                              timezone: app_commands.Range[str, 1, TIMEZONE_MAX] = "UTC") -> None:
        result = await self.service.digest_schedule(weekday, time, timezone, guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-policy", description=_desc("digest-policy"))
    @app_commands.describe(**_describe("digest-policy"))
    @app_commands.choices(policy=[app_commands.Choice(name=N_("next (replay the archive)"), value="next"),
                                  app_commands.Choice(name=N_("latest (only new issues)"), value="latest")])
    async def digest_policy(self, interaction: Interaction, policy: str) -> None:
        await self._settings_reply(interaction, await self.service.digest_policy(policy, guild_id=_guild(interaction)))

    @app_commands.command(name="digest-on", description=_desc("digest-on"))
    @app_commands.describe(**_describe("digest-on"))
    async def digest_on(self, interaction: Interaction, channel: discord.TextChannel | None = None) -> None:
        result = await self.service.digest_on(ChannelId(channel.id) if channel else None,
                                              guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-off", description=_desc("digest-off"))
    async def digest_off(self, interaction: Interaction) -> None:
        await self._settings_reply(interaction, await self.service.digest_off(guild_id=_guild(interaction)))

    @app_commands.command(name="digest-now", description=_desc("digest-now"))
    async def digest_now(self, interaction: Interaction) -> None:
        result = await self.service.digest_now(guild_id=_guild(interaction), poster=self.poster)
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    @app_commands.command(name="digest-role", description=_desc("digest-role"))
    @app_commands.describe(**_describe("digest-role"))
    async def digest_role(self, interaction: Interaction, role: discord.Role | None = None) -> None:
        if role is not None and (role.is_default() or role.managed):
            # @everyone would ping the whole server; a managed role belongs to a bot or an integration.
            raise DigestError(N_("The digest role cannot be the everyone role (it pings every member): pick a role "
                                 "that members join to get digests.") if role.is_default() else
                              N_("The digest role cannot be a bot's or an integration's own role: pick a role that "
                                 "members join to get digests."))
        me = interaction.app_permissions
        pings = role is None or role.mentionable or me.mention_everyone or me.administrator
        result = await self.service.digest_role(RoleId(role.id) if role else None, guild_id=_guild(interaction),
                                                role_pings=pings)
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-language", description=_desc("digest-language"))
    @app_commands.describe(**_describe("digest-language"))
    @app_commands.choices(language=[app_commands.Choice(name=N_("auto (the server's language)"), value="auto"),
                                    app_commands.Choice(name="English", value="en-US"),
                                    app_commands.Choice(name="简体中文", value="zh-CN"),
                                    app_commands.Choice(name="繁體中文", value="zh-TW")])
    async def digest_language(self, interaction: Interaction, language: str) -> None:
        result = await self.service.digest_language(language, guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-thread", description=_desc("digest-thread"))
    @app_commands.describe(**_describe("digest-thread"))
    @app_commands.choices(mode=[app_commands.Choice(name=N_("on"), value="on"),
                                app_commands.Choice(name=N_("off"), value="off")])
    async def digest_thread(self, interaction: Interaction, mode: str) -> None:
        await self._settings_reply(interaction, await self.service.digest_thread(mode, guild_id=_guild(interaction)))


def cannot_post(interaction: discord.Interaction[Any], channel_id: int | None) -> list[str]:
    """The permissions the bot lacks in the digest channel, by Discord's names: it knows them from its cache
    (roles and the channel's overwrites), so an admin hears at once, not at the first post."""
    guild = interaction.guild
    channel = guild.get_channel(channel_id) if guild is not None and channel_id is not None else None
    if guild is None or channel is None:
        return []
    perms = channel.permissions_for(guild.me)
    needed = (("View Channel", perms.view_channel), ("Send Messages", perms.send_messages),
              ("Embed Links", perms.embed_links), ("Read Message History", perms.read_message_history))
    return [name for name, granted in needed if not granted]


def can_open_threads(interaction: discord.Interaction[Any], channel_id: int | None) -> bool:
    """Whether the bot may open the digest's thread there (Create Public Threads), from its cache as
    :func:`cannot_post`; an unknown channel is not held against it."""
    guild = interaction.guild
    channel = guild.get_channel(channel_id) if guild is not None and channel_id is not None else None
    return guild is None or channel is None or channel.permissions_for(guild.me).create_public_threads


def _guild(interaction: discord.Interaction[Any]) -> int:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id
