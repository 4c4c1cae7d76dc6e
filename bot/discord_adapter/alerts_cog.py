"""The keyword alerts' slash commands (/subscribe, /subscriptions, /unsubscribe), and the one-time notice of
paused alerts, given with a member's next reply. Every reply is private: a member's alerts are their own."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.alerts.book import QUERY_MAX_CHARS
from bot.commands import COMMANDS_BY_NAME, Newsbot
from bot.discord_adapter import embeds
from bot.discord_adapter.cogs import ArchiveArg, archive_autocomplete, lang_of, one_archive, section_autocomplete
from bot.discord_adapter.views import alerts_view
from bot.errors import StoreError
from bot.registry import ArchiveName, SectionName

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
NO_MENTIONS = discord.AllowedMentions.none()


def _desc(name: str) -> str:
    return COMMANDS_BY_NAME[name].description[:100]


def _describe(name: str) -> dict[str, str]:
    return {p.name: p.description[:100] for p in COMMANDS_BY_NAME[name].params}


class AlertsCog(commands.Cog):
    def __init__(self, service: Newsbot) -> None:
        self.service = service
        one_archive(self, service)

    async def alert_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        book = self.service.alerts
        if book is None:
            return []
        return [app_commands.Choice(name=name[:100], value=value)
                for name, value in await book.choices(interaction.user.id, current)]

    async def archive_autocomplete_of(self, interaction: Interaction,
                                      current: str) -> list[app_commands.Choice[str]]:
        return await archive_autocomplete(self, interaction, current)

    async def section_autocomplete(self, interaction: Interaction,
                                   current: str) -> list[app_commands.Choice[str]]:
        return await section_autocomplete(self, interaction, current)

    @app_commands.command(name="subscribe", description=_desc("subscribe"))
    @app_commands.describe(**_describe("subscribe"))
    @app_commands.autocomplete(section=section_autocomplete, archive=archive_autocomplete_of)
    async def subscribe(self, interaction: Interaction, query: app_commands.Range[str, 1, QUERY_MAX_CHARS],
                        section: app_commands.Range[str, 1, 100] | None = None,
                        archive: ArchiveArg | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.service.subscribe(query, SectionName(section) if section else None,
                                              ArchiveName(archive) if archive else None,
                                              user_id=interaction.user.id, guild_id=interaction.guild_id)
        await interaction.followup.send(embeds.render(result, lang_of(interaction)).content or "", ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="subscriptions", description=_desc("subscriptions"))
    async def subscriptions(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.service.subscriptions(user_id=interaction.user.id)
        lg = lang_of(interaction)
        reply = embeds.render(result, lg)
        await interaction.followup.send(embeds=reply.embeds, view=alerts_view(result, lg), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="unsubscribe", description=_desc("unsubscribe"))
    @app_commands.describe(**_describe("unsubscribe"))
    @app_commands.autocomplete(alert=alert_autocomplete)
    async def unsubscribe(self, interaction: Interaction, alert: app_commands.Range[str, 1, 30]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.service.unsubscribe(alert, user_id=interaction.user.id)
        await interaction.followup.send(embeds.render(result, lang_of(interaction)).content or "", ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)


async def paused_notice(service: Newsbot, interaction: Interaction) -> None:
    """After a member's command was answered: if their alerts were paused since they last heard, say so, once,
    to them alone (a private follow-up to the reply)."""
    book = service.alerts
    if book is None or not interaction.response.is_done():
        return
    try:
        notice = await book.take_notice(interaction.user.id)
        if notice is not None:
            await interaction.followup.send(embeds.render(notice, lang_of(interaction)).content or "", ephemeral=True,
                                            allowed_mentions=NO_MENTIONS)
    except (StoreError, discord.HTTPException) as err:  # the notice waits for the next command
        log.info("could not give member %s the paused-alerts notice: %s", interaction.user.id, err)
