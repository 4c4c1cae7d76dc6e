"""Slash commands. Each handler is thin: defer if the work may be slow, call the service, render, send.

The cogs receive the service (and the digest poster), never the client. Names, descriptions and parameters
come from the command registry (:data:`bot.commands.COMMANDS`); a test compares the synced set with it.
"""

from __future__ import annotations

from typing import Any, Protocol

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import COMMANDS_BY_NAME, MESSAGE_MENUS, Newsbot
from bot.digest.schedule import DAY_NAMES
from bot.digest.transport import Poster
from bot.discord_adapter import embeds
from bot.discord_adapter.replies import answered_public, defer_public
from bot.discord_adapter.translator import described
from bot.discord_adapter.views import OpenViews, link_buttons
from bot.errors import DigestError
from bot.i18n import N_, Lang, lang
from bot.registry import (
    ADMIN_GROUP,
    ADMIN_GROUP_DESCRIPTION,
    ArchiveName,
    ChannelId,
    DateOrIssue,
    IssueRef,
    RoleId,
    SectionName,
)
from bot.results import DigestSettingsResult

NO_MENTIONS = discord.AllowedMentions.none()
# Every string option has a max_length, so Discord itself refuses a novel where a word is wanted.
QUESTION_MAX = 1000
ISSUE_MAX = 100
TIMEZONE_MAX = 64  # the longest IANA name is 32 characters
SECTION_MAX = 100
IssueArg = app_commands.Range[str, 1, ISSUE_MAX]
ArchiveArg = app_commands.Range[str, 1, 64]
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


def _archive(name: str | None) -> ArchiveName | None:
    return ArchiveName(name) if name else None


def one_archive(cog: commands.Cog, service: Newsbot) -> None:
    """With one archive, no command shows an archive option (and a server's default archive is moot): what
    members see is as before several archives. Each cog holds its own copies of its commands, so this edits only
    them."""
    if service.libraries.several:
        return
    for command in cog.walk_app_commands():
        if isinstance(command, app_commands.Command):
            command._params.pop("archive", None)  # discord.py has no public way to drop an option
    group = cog.app_command
    if isinstance(group, app_commands.Group):
        group.remove_command("archive-default")


async def archive_autocomplete(cog: HasService, interaction: Interaction,
                               current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=name, value=name) for name in cog.service.libraries.choices(current)]


async def section_autocomplete(cog: HasService, interaction: Interaction,
                               current: str) -> list[app_commands.Choice[str]]:
    """The sections of the archive the command's archive option names, as far as typed (else the server's)."""
    archive = getattr(interaction.namespace, "archive", None)
    choices = await cog.service.section_choices(current, archive=archive if isinstance(archive, str) else None,
                                                guild_id=interaction.guild_id)
    return [app_commands.Choice(name=name[:100], value=value[:100]) for name, value in choices]


class HasService(Protocol):
    service: Newsbot


class ReaderCog(commands.Cog):
    def __init__(self, service: Newsbot, views: OpenViews, *, ask_cooldown: float = 0.0) -> None:
        self.service = service
        self.views = views
        self.ask_cooldown = ask_cooldown
        one_archive(self, service)

    async def issue_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        # In the archive the command's archive option names, as far as typed (else the server's default).
        archive = getattr(interaction.namespace, "archive", None)
        choices = await self.service.issue_choices(current, archive=archive if isinstance(archive, str) else None,
                                                   guild_id=interaction.guild_id)
        return [app_commands.Choice(name=name[:100], value=value[:100]) for name, value in choices]

    async def archive_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await archive_autocomplete(self, interaction, current)

    async def section_autocomplete(self, interaction: Interaction,
                                   current: str) -> list[app_commands.Choice[str]]:
        return await section_autocomplete(self, interaction, current)

    @app_commands.command(name="ask", description=_desc("ask"))
    @app_commands.describe(**_describe("ask"))
    @app_commands.autocomplete(issue=issue_autocomplete, since=issue_autocomplete, until=issue_autocomplete,
                               section=section_autocomplete, archive=archive_autocomplete)
    @app_commands.checks.dynamic_cooldown(_ask_cooldown)
    async def ask(self, interaction: Interaction, question: app_commands.Range[str, 1, QUESTION_MAX],
                  issue: IssueArg | None = None, count: app_commands.Range[int, 1, 25] | None = None,
                  since: IssueArg | None = None, until: IssueArg | None = None,
                  section: app_commands.Range[str, 1, SECTION_MAX] | None = None,
                  archive: ArchiveArg | None = None) -> None:
        # The answer is public, its errors are not: the ones we can name now are answered before the defer.
        await self.service.check_ask(issue, count, since, until, section, archive, guild_id=interaction.guild_id)
        await defer_public(interaction)
        result = await self.service.ask(question, IssueRef(issue) if issue else None, count,
                                        DateOrIssue(since) if since else None, DateOrIssue(until) if until else None,
                                        SectionName(section) if section else None, _archive(archive),
                                        user_id=interaction.user.id, guild_id=interaction.guild_id)
        await send(interaction, embeds.render(result, lang_of(interaction)), views=self.views)
        answered_public(interaction)

    @app_commands.command(name="similar", description=_desc("similar"))
    @app_commands.describe(**_describe("similar"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def similar(self, interaction: Interaction, item: app_commands.Range[str, 1, QUESTION_MAX],
                      count: app_commands.Range[int, 1, 25] | None = None, archive: ArchiveArg | None = None) -> None:
        await defer_public(interaction)
        result = await self.service.similar(item, count, _archive(archive), user_id=interaction.user.id,
                                            guild_id=interaction.guild_id)
        await send(interaction, embeds.render(result, lang_of(interaction)), views=self.views)
        answered_public(interaction)

    @app_commands.command(name="features", description=_desc("features"))
    @app_commands.describe(**_describe("features"))
    @app_commands.autocomplete(issue=issue_autocomplete, archive=archive_autocomplete)
    async def features(self, interaction: Interaction, issue: IssueArg | None = None,
                       archive: ArchiveArg | None = None) -> None:
        result = await self.service.features(IssueRef(issue) if issue else None, _archive(archive),
                                             guild_id=interaction.guild_id)
        await send(interaction, embeds.render(result, lang_of(interaction)))

    @app_commands.command(name="issue", description=_desc("issue"))
    @app_commands.describe(**_describe("issue"))
    @app_commands.autocomplete(issue=issue_autocomplete, archive=archive_autocomplete)
    async def issue(self, interaction: Interaction, issue: IssueArg, archive: ArchiveArg | None = None) -> None:
        result = await self.service.issue(IssueRef(issue), _archive(archive), guild_id=interaction.guild_id)
        await send(interaction, embeds.render(result, lang_of(interaction)))

    @app_commands.command(name="issues", description=_desc("issues"))
    @app_commands.describe(**_describe("issues"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def issues(self, interaction: Interaction, page: app_commands.Range[int, 1, 10_000] | None = None,
                     archive: ArchiveArg | None = None) -> None:
        result = await self.service.issues(page, _archive(archive), guild_id=interaction.guild_id)
        await send(interaction, embeds.render(result, lang_of(interaction)))

    @app_commands.command(name="latest", description=_desc("latest"))
    @app_commands.describe(**_describe("latest"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def latest(self, interaction: Interaction, archive: ArchiveArg | None = None) -> None:
        result = await self.service.latest(_archive(archive), guild_id=interaction.guild_id)
        await send(interaction, embeds.render(result, lang_of(interaction)))

    @app_commands.command(name="digest", description=_desc("digest"))
    @app_commands.describe(**_describe("digest"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def digest(self, interaction: Interaction, archive: ArchiveArg | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.service.digest(_archive(archive), guild_id=interaction.guild_id)
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
        one_archive(self, service)

    async def archive_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await archive_autocomplete(self, interaction, current)

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
    @app_commands.describe(**_describe("reindex"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def reindex(self, interaction: Interaction, archive: ArchiveArg | None = None) -> None:
        result = await self.service.reindex(_archive(archive), operator=await self.is_operator(interaction))
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    @app_commands.command(name="stats", description=_desc("stats"))
    @app_commands.describe(**_describe("stats"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def stats(self, interaction: Interaction, archive: ArchiveArg | None = None) -> None:
        result = await self.service.stats(_archive(archive), guild_id=interaction.guild_id,
                                          operator=await self.is_operator(interaction))
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    @app_commands.command(name="archive-default", description=_desc("archive-default"))
    @app_commands.describe(**_describe("archive-default"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def archive_default(self, interaction: Interaction, archive: ArchiveArg | None = None) -> None:
        result = await self.service.archive_default(_archive(archive), guild_id=_guild(interaction))
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
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def digest_channel(self, interaction: Interaction, channel: discord.TextChannel,
                             archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_channel(ChannelId(channel.id), _archive(archive),
                                                   guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-schedule", description=_desc("digest-schedule"))
    @app_commands.describe(**_describe("digest-schedule"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    @app_commands.choices(weekday=[app_commands.Choice(name=d, value=i) for i, d in enumerate(DAY_NAMES)])
    async def digest_schedule(self, interaction: Interaction, weekday: int, time: app_commands.Range[str, 4, 5],
                              timezone: app_commands.Range[str, 1, TIMEZONE_MAX] = "UTC",
                              archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_schedule(weekday, time, timezone, _archive(archive),
                                                    guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-policy", description=_desc("digest-policy"))
    @app_commands.describe(**_describe("digest-policy"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    @app_commands.choices(policy=[app_commands.Choice(name=N_("next (replay the archive)"), value="next"),
                                  app_commands.Choice(name=N_("latest (only new issues)"), value="latest")])
    async def digest_policy(self, interaction: Interaction, policy: str, archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_policy(policy, _archive(archive), guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-on", description=_desc("digest-on"))
    @app_commands.describe(**_describe("digest-on"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def digest_on(self, interaction: Interaction, channel: discord.TextChannel | None = None,
                        archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_on(ChannelId(channel.id) if channel else None, _archive(archive),
                                              guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-off", description=_desc("digest-off"))
    @app_commands.describe(**_describe("digest-off"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def digest_off(self, interaction: Interaction, archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_off(_archive(archive), guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-now", description=_desc("digest-now"))
    @app_commands.describe(**_describe("digest-now"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def digest_now(self, interaction: Interaction, archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_now(_archive(archive), guild_id=_guild(interaction), poster=self.poster)
        await send(interaction, embeds.render(result, lang_of(interaction)), ephemeral=True)

    @app_commands.command(name="digest-role", description=_desc("digest-role"))
    @app_commands.describe(**_describe("digest-role"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def digest_role(self, interaction: Interaction, role: discord.Role | None = None,
                          archive: ArchiveArg | None = None) -> None:
        if role is not None and (role.is_default() or role.managed):
            # @everyone would ping the whole server; a managed role belongs to a bot or an integration.
            raise DigestError(N_("The digest role cannot be the everyone role (it pings every member): pick a role "
                                 "that members join to get digests.") if role.is_default() else
                              N_("The digest role cannot be a bot's or an integration's own role: pick a role that "
                                 "members join to get digests."))
        me = interaction.app_permissions
        pings = role is None or role.mentionable or me.mention_everyone or me.administrator
        result = await self.service.digest_role(RoleId(role.id) if role else None, _archive(archive),
                                                guild_id=_guild(interaction), role_pings=pings)
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-language", description=_desc("digest-language"))
    @app_commands.describe(**_describe("digest-language"))
    @app_commands.choices(language=[app_commands.Choice(name=N_("auto (the server's language)"), value="auto"),
                                    app_commands.Choice(name="English", value="en-US"),
                                    app_commands.Choice(name="简体中文", value="zh-CN"),
                                    app_commands.Choice(name="繁體中文", value="zh-TW")])
    @app_commands.autocomplete(archive=archive_autocomplete)
    async def digest_language(self, interaction: Interaction, language: str, archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_language(language, _archive(archive), guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)

    @app_commands.command(name="digest-thread", description=_desc("digest-thread"))
    @app_commands.describe(**_describe("digest-thread"))
    @app_commands.autocomplete(archive=archive_autocomplete)
    @app_commands.choices(mode=[app_commands.Choice(name=N_("on"), value="on"),
                                app_commands.Choice(name=N_("off"), value="off")])
    async def digest_thread(self, interaction: Interaction, mode: str, archive: ArchiveArg | None = None) -> None:
        result = await self.service.digest_thread(mode, _archive(archive), guild_id=_guild(interaction))
        await self._settings_reply(interaction, result)


def message_menus(service: Newsbot) -> list[app_commands.ContextMenu]:
    """The message commands (:data:`bot.commands.MESSAGE_MENUS`): "Search the archive" on a message answers
    the one who used it alone (ephemeral), with link buttons to each item and its issue."""
    spec = next(m for m in MESSAGE_MENUS if m.method == "search_message")

    async def search_message(interaction: Interaction, message: discord.Message) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await service.search_message(message_text(message), user_id=interaction.user.id,
                                              guild_id=interaction.guild_id)
        reply = embeds.render(result, lang_of(interaction))
        buttons = link_buttons(embeds.hit_links(result))
        await interaction.followup.send(embeds=reply.embeds[:1], view=buttons or discord.utils.MISSING,
                                        ephemeral=True, allowed_mentions=NO_MENTIONS)

    return [app_commands.ContextMenu(name=spec.name, callback=search_message)]


def message_text(message: discord.Message) -> str:
    """What a message says: its content, or (a bot's message, a digest) its embeds' titles and descriptions."""
    if message.content.strip():
        return message.content
    return "\n".join(part for e in message.embeds for part in (e.title, e.description) if part)


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
