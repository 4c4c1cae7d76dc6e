"""The discord.py client: one ``commands.Bot`` subclass, resources passed in, cogs and sync in ``setup_hook``."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.commands import Newsbot
from bot.state import StateStore
from retrieval.errors import NewsbotError, UnknownIssueError

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
SYNC_KEY = "command_sync_hash"


def point_at(api_base: str | None, gateway_url: str | None) -> None:
    """Send discord.py's REST calls and gateway connection elsewhere (a proxy, or a fake Discord in tests).

    These are class attributes in discord.py; there is no per-client option.
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class NewsbotTree(app_commands.CommandTree["NewsbotClient"]):
    """Turns every error into one friendly ephemeral message, and logs what a person cannot fix."""

    async def on_error(self, interaction: discord.Interaction[NewsbotClient],
                       error: app_commands.AppCommandError) -> None:
        message = error_message(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("command /%s failed", command, exc_info=error)
            message = "Sorry, something went wrong on my side. The error has been logged; please try again."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            # The interaction may have expired (10062); nothing more can be said to this user.
            log.warning("could not deliver an error message: %s", err)


def error_message(error: app_commands.AppCommandError) -> str | None:
    """The user-facing text for an error, or None when it is our fault (then it is logged)."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, UnknownIssueError):
        text = str(original)
        if original.suggestions:
            text += "\nDid you mean: " + "; ".join(original.suggestions[:5])
        return discord.utils.escape_mentions(text)
    if isinstance(original, NewsbotError):
        return discord.utils.escape_mentions(str(original))
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.MissingPermissions | app_commands.BotMissingPermissions):
        return "Sorry, this command is for server admins (Manage Server permission)."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand “{discord.utils.escape_mentions(str(error.value))}”."
    return None


class NewsbotClient(commands.Bot):
    """The bot. The command layer and the state store are created by the launcher and passed in."""

    def __init__(self, newsbot: Newsbot, state: StateStore, **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        super().__init__(command_prefix=commands.when_mentioned, tree_cls=NewsbotTree,
                         allowed_mentions=NO_MENTIONS, help_command=None, **options)
        self.newsbot = newsbot
        self.state = state
        self.synced: bool | None = None
        """After setup: True when commands were synced this start, False when the stored hash matched."""

    async def setup_hook(self) -> None:
        from bot.discord_adapter.cogs import AdminCog, ReaderCog

        await self.add_cog(ReaderCog(self))
        await self.add_cog(AdminCog(self))
        self.synced = await self.sync_commands()

    def command_payload(self) -> list[dict[str, Any]]:
        return sorted((c.to_dict(self.tree) for c in self.tree.get_commands()), key=lambda c: str(c["name"]))

    async def sync_commands(self) -> bool:
        """Sync only when the command set changed, so restarts never burn Discord's 200 creates a day."""
        guild_ids = self.newsbot.config.discord.guild_ids
        blob = json.dumps({"guilds": list(guild_ids), "commands": self.command_payload()}, sort_keys=True)
        digest = hashlib.sha256(blob.encode()).hexdigest()
        if await self.state.get(SYNC_KEY) == digest:
            log.info("command set unchanged; not syncing")
            return False
        if guild_ids:
            for gid in guild_ids:
                guild = discord.Object(id=gid)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            log.info("synced %d commands to %d guilds", len(self.tree.get_commands()), len(guild_ids))
        else:
            await self.tree.sync()
            log.info("synced %d global commands", len(self.tree.get_commands()))
        await self.state.set(SYNC_KEY, digest)
        return True
