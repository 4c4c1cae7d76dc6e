"""Slash commands. Each handler is thin: defer if the work may be slow, call the command layer, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import Newsbot
from bot.config import parse_time_of_day
from bot.digest import DAY_NAMES, DigestSettings
from bot.discord_adapter import embeds
from bot.discord_adapter.replies import answered_public, defer_public
from bot.discord_adapter.views import Paginator
from bot.results import COMMANDS_BY_NAME

if TYPE_CHECKING:
    from bot.discord_adapter.client import NewsbotClient

NO_MENTIONS = discord.AllowedMentions.none()
# Every string option has a max_length, so Discord itself refuses a novel where a word is wanted.
QUESTION_MAX = 1000
ISSUE_MAX = 100
TIMEZONE_MAX = 64  # the longest IANA name is 32 characters
IssueArg = app_commands.Range[str, 1, ISSUE_MAX]


def _describe(name: str) -> dict[str, str]:
    return {p.name: p.description[:100] for p in COMMANDS_BY_NAME[name].params}


def _desc(name: str) -> str:
    return COMMANDS_BY_NAME[name].description[:100]


def _ask_cooldown(interaction: discord.Interaction[Any]) -> app_commands.Cooldown | None:
    seconds = interaction.client.newsbot.config.discord.ask_cooldown_seconds
    # Two questions per window: a follow-up question right away is normal, a flood is not.
    return app_commands.Cooldown(2, seconds) if seconds > 0 else None


async def issue_autocomplete(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    newsbot: Newsbot = interaction.client.newsbot
    return [app_commands.Choice(name=name[:100], value=value[:100]) for name, value in newsbot.issue_choices(current)]


class ReaderCog(commands.Cog):
    def __init__(self, client: NewsbotClient) -> None:
        self.client = client

    @property
    def newsbot(self) -> Newsbot:
        return self.client.newsbot

    @app_commands.command(name="ask", description=_desc("ask"))
    @app_commands.describe(**_describe("ask"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    @app_commands.checks.dynamic_cooldown(_ask_cooldown)
    async def ask(self, interaction: discord.Interaction[NewsbotClient],
                  question: app_commands.Range[str, 1, QUESTION_MAX], issue: IssueArg | None = None,
                  count: app_commands.Range[int, 1, 25] | None = None) -> None:
        # The answer is public, its errors are not: the ones we can name now are answered before the defer.
        self.newsbot.check_ask(issue, count)
        await defer_public(interaction)
        result = await self.newsbot.ask(question, issue, count)
        pages = embeds.ask_pages(result)
        if len(pages) == 1:
            await interaction.followup.send(embed=pages[0], allowed_mentions=NO_MENTIONS)
            answered_public(interaction)
            return
        view = Paginator(pages, owner_id=interaction.user.id, timeout=self.client.view_timeout)
        self.client.paginators.add(view)
        view.message = await interaction.followup.send(embed=pages[0], view=view, allowed_mentions=NO_MENTIONS,
                                                       wait=True)
        answered_public(interaction)

    @app_commands.command(name="features", description=_desc("features"))
    @app_commands.describe(**_describe("features"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    async def features(self, interaction: discord.Interaction[NewsbotClient], issue: IssueArg | None = None) -> None:
        result = await self.newsbot.features(issue)
        await interaction.response.send_message(embeds=embeds.features_embeds(result), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="issue", description=_desc("issue"))
    @app_commands.describe(**_describe("issue"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    async def issue(self, interaction: discord.Interaction[NewsbotClient], issue: IssueArg) -> None:
        result = await self.newsbot.issue(issue)
        await interaction.response.send_message(embed=embeds.issue_embed(result), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="issues", description=_desc("issues"))
    @app_commands.describe(**_describe("issues"))
    async def issues(self, interaction: discord.Interaction[NewsbotClient],
                     page: app_commands.Range[int, 1, 10_000] | None = None) -> None:
        result = await self.newsbot.issues(page)
        await interaction.response.send_message(embed=embeds.issues_embed(result), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="latest", description=_desc("latest"))
    async def latest(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        result = await self.newsbot.latest()
        await interaction.response.send_message(embed=embeds.issue_embed(result), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="digest", description=_desc("digest"))
    async def digest(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.newsbot.digest(interaction.guild_id)
        await interaction.followup.send(embeds=embeds.digest_embeds(result), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="help", description=_desc("help"))
    async def help(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        result = await self.newsbot.help()
        await interaction.response.send_message(embed=embeds.help_embed(result), ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class AdminCog(commands.GroupCog, group_name="newsbot", group_description="newsbot administration"):
    """Admin commands. ``default_permissions`` only hides them; :meth:`interaction_check` really enforces."""

    def __init__(self, client: NewsbotClient) -> None:
        self.client = client
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        # One check for the whole group, so a new admin command cannot be added without it.
        perms = interaction.permissions
        if not (perms.manage_guild or perms.administrator):
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @app_commands.command(name="reindex", description=_desc("reindex"))
    async def reindex(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.client.newsbot.reindex()
        await interaction.followup.send(embed=embeds.reindex_embed(result), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="stats", description=_desc("stats"))
    async def stats(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.client.newsbot.stats(interaction.guild_id)
        await interaction.followup.send(embed=embeds.stats_embed(result), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="feed-retry", description=_desc("feed-retry"))
    @app_commands.describe(**_describe("feed-retry"))
    async def feed_retry(self, interaction: discord.Interaction[NewsbotClient],
                         feed: app_commands.Range[str, 1, 500] | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.client.newsbot.feed_retry(feed)
        await interaction.followup.send(embed=embeds.feed_retry_embed(result), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    # -- weekly digest settings --

    async def _settings_reply(self, interaction: discord.Interaction[NewsbotClient], title: str,
                              settings: DigestSettings) -> None:
        embed = embeds.digest_settings_embed(title, settings, cannot_post(interaction, settings.channel_id))
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="digest-channel", description=_desc("digest-channel"))
    @app_commands.describe(**_describe("digest-channel"))
    async def digest_channel(self, interaction: discord.Interaction[NewsbotClient],
                             channel: discord.TextChannel) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.client.scheduler.configure(_guild(interaction), channel_id=channel.id)
        await self._settings_reply(interaction, "Digest channel set", settings)

    @app_commands.command(name="digest-schedule", description=_desc("digest-schedule"))
    @app_commands.describe(**_describe("digest-schedule"))
    @app_commands.choices(weekday=[app_commands.Choice(name=d, value=i) for i, d in enumerate(DAY_NAMES)])
    async def digest_schedule(self, interaction: discord.Interaction[NewsbotClient], weekday: int,
                              time: app_commands.Range[str, 4, 5],
                              timezone: app_commands.Range[str, 1, TIMEZONE_MAX] = "UTC") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.client.scheduler.configure(_guild(interaction), weekday=weekday,
                                                         time=parse_time_of_day(time), timezone=timezone)
        await self._settings_reply(interaction, "Digest schedule set", settings)

    @app_commands.command(name="digest-policy", description=_desc("digest-policy"))
    @app_commands.describe(**_describe("digest-policy"))
    @app_commands.choices(policy=[app_commands.Choice(name="next (replay the archive)", value="next"),
                                  app_commands.Choice(name="latest (only new issues)", value="latest")])
    async def digest_policy(self, interaction: discord.Interaction[NewsbotClient], policy: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.client.scheduler.configure(_guild(interaction), policy=policy)
        await self._settings_reply(interaction, "Digest policy set", settings)

    @app_commands.command(name="digest-on", description=_desc("digest-on"))
    @app_commands.describe(**_describe("digest-on"))
    async def digest_on(self, interaction: discord.Interaction[NewsbotClient],
                        channel: discord.TextChannel | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.client.scheduler.enable(_guild(interaction), channel.id if channel else None)
        await self._settings_reply(interaction, "Weekly digest on", settings)

    @app_commands.command(name="digest-off", description=_desc("digest-off"))
    async def digest_off(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.client.scheduler.disable(_guild(interaction))
        await self._settings_reply(interaction, "Weekly digest off", settings)

    @app_commands.command(name="digest-role", description=_desc("digest-role"))
    @app_commands.describe(**_describe("digest-role"))
    async def digest_role(self, interaction: discord.Interaction[NewsbotClient],
                          role: discord.Role | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.client.scheduler.set_role(_guild(interaction), role.id if role else None)
        title = "Digest role set" if role else "Digest role cleared: digests ping no one"
        if role is not None and not role.mentionable and not (
                interaction.app_permissions.mention_everyone or interaction.app_permissions.administrator):
            title += " (the role is not mentionable: make it mentionable, or the ping will not notify anyone)"
        await self._settings_reply(interaction, title, settings)

    @app_commands.command(name="digest-thread", description=_desc("digest-thread"))
    @app_commands.describe(**_describe("digest-thread"))
    @app_commands.choices(mode=[app_commands.Choice(name="on", value="on"),
                                app_commands.Choice(name="off", value="off")])
    async def digest_thread(self, interaction: discord.Interaction[NewsbotClient], mode: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self.client.scheduler.set_thread(_guild(interaction), mode == "on")
        await self._settings_reply(interaction, f"Digest threads {'on' if mode == 'on' else 'off'}", settings)

    @app_commands.command(name="digest-now", description=_desc("digest-now"))
    async def digest_now(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.client.scheduler.post_now(_guild(interaction))
        issue = self.client.newsbot.archive.get(outcome.issue_id or "")
        # The issue's label (2020-10, #34) as everywhere else, not its internal id.
        text = {"posted": f"Posted the digest ({issue.label if issue else outcome.issue_id}).",
                "recovered": "That digest was already in the channel.",
                "nothing": outcome.detail,
                "busy": "A digest is being posted right now; nothing more was posted.",
                "recent": "A digest was posted less than a minute ago; nothing more was posted. Ask again in a minute "
                          "for another one."}.get(
            outcome.status, f"Could not post the digest: {outcome.detail or outcome.status}.")
        await interaction.followup.send(discord.utils.escape_mentions(text), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)


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


def _guild(interaction: discord.Interaction[Any]) -> int:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id
