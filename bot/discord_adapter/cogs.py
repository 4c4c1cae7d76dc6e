"""Slash commands. Each handler is thin: defer if the work may be slow, call the command layer, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import COMMANDS_BY_NAME, Newsbot
from bot.discord_adapter import embeds
from bot.discord_adapter.views import Paginator

if TYPE_CHECKING:
    from bot.discord_adapter.client import NewsbotClient

NO_MENTIONS = discord.AllowedMentions.none()


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
    async def ask(self, interaction: discord.Interaction[NewsbotClient], question: app_commands.Range[str, 1, 1000],
                  issue: str | None = None, count: app_commands.Range[int, 1, 25] | None = None) -> None:
        await interaction.response.defer(thinking=True)
        result = await self.newsbot.ask(question, issue, count)
        pages = embeds.ask_pages(result)
        if len(pages) == 1:
            await interaction.followup.send(embed=pages[0], allowed_mentions=NO_MENTIONS)
            return
        view = Paginator(pages, owner_id=interaction.user.id)
        view.message = await interaction.followup.send(embed=pages[0], view=view, allowed_mentions=NO_MENTIONS,
                                                       wait=True)

    @app_commands.command(name="features", description=_desc("features"))
    @app_commands.describe(**_describe("features"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    async def features(self, interaction: discord.Interaction[NewsbotClient], issue: str | None = None) -> None:
        result = await self.newsbot.features(issue)
        await interaction.response.send_message(embeds=embeds.features_embeds(result), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="issue", description=_desc("issue"))
    @app_commands.describe(**_describe("issue"))
    @app_commands.autocomplete(issue=issue_autocomplete)
    async def issue(self, interaction: discord.Interaction[NewsbotClient], issue: str) -> None:
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
        result = await self.newsbot.digest()
        await interaction.response.send_message(embeds=embeds.digest_embeds(result), ephemeral=True,
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
    @app_commands.checks.has_permissions(manage_guild=True)
    async def reindex(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.client.newsbot.reindex()
        await interaction.followup.send(embed=embeds.reindex_embed(result), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="stats", description=_desc("stats"))
    @app_commands.checks.has_permissions(manage_guild=True)
    async def stats(self, interaction: discord.Interaction[NewsbotClient]) -> None:
        result = await self.client.newsbot.stats()
        await interaction.response.send_message(embed=embeds.stats_embed(result), ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)
