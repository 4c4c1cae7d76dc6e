"""The discord.py client: one ``commands.Bot`` subclass, resources passed in, cogs and sync in ``setup_hook``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.commands import Newsbot
from bot.digest import DigestScheduler, DigestStore, owned_by
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


class _NewsbotMixin:
    """What the plain and the sharded client share. Resources are created by the launcher and passed in."""

    newsbot: Newsbot
    state: StateStore
    scheduler: DigestScheduler
    digest_store: DigestStore
    synced: bool | None
    digest_interval: float
    view_timeout: float
    """Seconds before pagination buttons are disabled (discord.py's default is 180)."""
    _digest_task: asyncio.Task[None] | None

    def _init_newsbot(self, newsbot: Newsbot, state: StateStore, *, clock: Callable[[], dt.datetime] | None,
                      digest_interval: float, owns_guild: Callable[[int], bool]) -> None:
        from bot.discord_adapter.poster import DiscordPoster

        self.newsbot = newsbot
        self.state = state
        self.synced = None
        """After setup: True when commands were synced this start, False when the stored hash matched."""
        self.digest_interval = digest_interval
        self.view_timeout = 180.0
        self.digest_store = DigestStore(state.db)
        self.scheduler = DigestScheduler(
            self.digest_store, lambda: self.newsbot.archive, DiscordPoster(self),  # type: ignore[arg-type]
            clock=clock or (lambda: dt.datetime.now(dt.UTC)), owns_guild=owns_guild,
            defaults=newsbot.config.digest,
        )
        newsbot.scheduler = self.scheduler
        self._digest_task = None

    async def _setup_newsbot(self) -> None:
        from bot.discord_adapter.cogs import AdminCog, ReaderCog

        bot: commands.Bot = self  # type: ignore[assignment]
        await self.digest_store.setup()
        await bot.add_cog(ReaderCog(self))  # type: ignore[arg-type]
        await bot.add_cog(AdminCog(self))  # type: ignore[arg-type]
        self.synced = await self.sync_commands()
        # Started here, not in on_ready: on_ready fires again after every failed RESUME.
        self._digest_task = asyncio.create_task(self._digest_loop(), name="newsbot-digest")

    async def _digest_loop(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        await bot.wait_until_ready()
        await self.scheduler.run_forever(self.digest_interval)

    async def _stop_digest(self) -> None:
        task, self._digest_task = self._digest_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def command_payload(self) -> list[dict[str, Any]]:
        tree: app_commands.CommandTree[Any] = self.tree  # type: ignore[attr-defined]
        return sorted((c.to_dict(tree) for c in tree.get_commands()), key=lambda c: str(c["name"]))

    async def sync_commands(self) -> bool:
        """Sync only when the command set changed, so restarts never burn Discord's 200 creates a day."""
        tree: app_commands.CommandTree[Any] = self.tree  # type: ignore[attr-defined]
        guild_ids = self.newsbot.config.discord.guild_ids
        blob = json.dumps({"guilds": list(guild_ids), "commands": self.command_payload()}, sort_keys=True)
        digest = hashlib.sha256(blob.encode()).hexdigest()
        if await self.state.get(SYNC_KEY) == digest:
            log.info("command set unchanged; not syncing")
            return False
        if guild_ids:
            for gid in guild_ids:
                guild = discord.Object(id=gid)
                tree.copy_global_to(guild=guild)
                await tree.sync(guild=guild)
            log.info("synced %d commands to %d guilds", len(tree.get_commands()), len(guild_ids))
        else:
            await tree.sync()
            log.info("synced %d global commands", len(tree.get_commands()))
        await self.state.set(SYNC_KEY, digest)
        return True


class NewsbotClient(_NewsbotMixin, commands.Bot):
    """The bot, one gateway connection."""

    def __init__(self, newsbot: Newsbot, state: StateStore, *, clock: Callable[[], dt.datetime] | None = None,
                 digest_interval: float = 60.0, **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        super().__init__(command_prefix=commands.when_mentioned, tree_cls=NewsbotTree,
                         allowed_mentions=NO_MENTIONS, help_command=None, **options)
        self._init_newsbot(newsbot, state, clock=clock, digest_interval=digest_interval,
                           owns_guild=lambda _guild_id: True)

    async def setup_hook(self) -> None:
        await self._setup_newsbot()

    async def close(self) -> None:
        await self._stop_digest()
        await super().close()


class ShardedNewsbotClient(_NewsbotMixin, commands.AutoShardedBot):
    """The bot running some shards of a larger deployment; it posts digests only for guilds it owns."""

    def __init__(self, newsbot: Newsbot, state: StateStore, *, shard_ids: Sequence[int], shard_count: int,
                 clock: Callable[[], dt.datetime] | None = None, digest_interval: float = 60.0,
                 **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        super().__init__(command_prefix=commands.when_mentioned, tree_cls=NewsbotTree,
                         allowed_mentions=NO_MENTIONS, help_command=None, shard_ids=list(shard_ids),
                         shard_count=shard_count, **options)
        self._init_newsbot(newsbot, state, clock=clock, digest_interval=digest_interval,
                           owns_guild=owned_by(shard_ids, shard_count))

    async def setup_hook(self) -> None:
        await self._setup_newsbot()

    async def close(self) -> None:
        await self._stop_digest()
        await super().close()
