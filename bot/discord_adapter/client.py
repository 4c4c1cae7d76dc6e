"""The discord.py client: one ``commands.AutoShardedBot`` subclass, everything passed in, cogs and sync in
``setup_hook``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.app import App
from bot.commands import Newsbot
from bot.digest.scheduler import DigestScheduler
from bot.discord_adapter import markup
from bot.discord_adapter.alerts_cog import AlertsCog, paused_notice
from bot.discord_adapter.cogs import AdminCog, ReaderCog, message_menus
from bot.discord_adapter.dm import DMSender
from bot.discord_adapter.poster import DiscordPoster
from bot.discord_adapter.replies import EXPIRED_AUTOCOMPLETE, expired, send_private
from bot.discord_adapter.translator import CatalogTranslator
from bot.discord_adapter.views import OpenViews, RemoveAlert
from bot.i18n import EN, Lang, catalogs_fingerprint, lang
from bot.store import Store
from retrieval.errors import ConfigError, NewsbotError, UnknownIssueError

if TYPE_CHECKING:
    from bot.alerts.service import AlertService

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
SYNC_KEY = "command_sync_hash"
SCOPES_KEY = "command_sync_scopes"
"""Where the last sync put the commands: ``["global"]`` or guild ids, so the next one can clear what it leaves."""


def _scopes(guild_ids: Sequence[int]) -> list[str]:
    """
    >>> _scopes(()), _scopes((5, 7))
    (['global'], ['5', '7'])
    """
    return [str(g) for g in guild_ids] if guild_ids else ["global"]


IDENTIFY_QUEUE_WAIT = 300.0
"""Seconds to wait for the gateway-queue's answer. A queue holds a request while other shards identify
(5 s per bucket), so long waits are normal; a queue that never answers must not hang the process."""


def point_at(api_base: str | None, gateway_url: str | None) -> None:
    """Send discord.py's REST calls and gateway connection elsewhere (a proxy, or a fake Discord in tests).

    These are class attributes in discord.py; there is no per-client option.
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class NewsbotTree(app_commands.CommandTree["NewsbotClient"]):
    """Turns every error into one friendly message for the asker alone, and logs what a person cannot fix."""

    async def on_error(self, interaction: discord.Interaction[NewsbotClient],
                       error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        if expired(error):
            # The token died before we answered (a reconnect, a slow start): no one is waiting for a reply.
            log.info("interaction for /%s expired before it was answered (10062)", command)
            return
        lg = lang(interaction.locale.value)
        message = error_message(error, lg)
        if message is None:
            log.error("command /%s failed", command, exc_info=error)
            message = lg.gettext("Sorry, something went wrong on my side. The error has been logged; please try again.")
        try:
            await send_private(interaction, message)
        except discord.HTTPException as err:
            # The interaction may have expired meanwhile; nothing more can be said to this user.
            log.info("could not deliver an error message for /%s: %s", command, err)


def error_message(error: app_commands.AppCommandError, lg: Lang = EN) -> str | None:
    """The user-facing text for an error, or None when it is our fault (then it is logged).

    Messages may repeat what the person typed: :func:`embeds.error_text` shows it literally and clipped."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, UnknownIssueError):
        return markup.error_text(lg.error(original), original.suggestions, lg)
    if isinstance(original, NewsbotError):
        return markup.error_text(lg.error(original), lg=lg)
    if isinstance(error, app_commands.CommandOnCooldown):
        return lg.gettext("Slow down a little: try again in {seconds} s.", seconds=f"{error.retry_after:.0f}")
    if isinstance(error, app_commands.MissingPermissions | app_commands.BotMissingPermissions):
        return lg.gettext("Sorry, this command is for server admins (Manage Server permission).")
    if isinstance(error, app_commands.NoPrivateMessage):
        return lg.gettext("This command only works in a server.")
    if isinstance(error, app_commands.CheckFailure):
        return lg.gettext("You can't use this command here.")
    if isinstance(error, app_commands.TransformerError):
        return lg.gettext("I couldn't understand “{value}”.", value=markup.user_text(str(error.value)))
    return None


class NewsbotClient(commands.AutoShardedBot):
    """The bot: all shards of a deployment (``shard_ids=None``) or some of them. Sharded or not, one class:
    discord.py's AutoShardedBot runs one gateway connection per shard, so a small bot is just ``shard_count=1``.

    Everything it uses is built by :func:`bot.app.build_app` and passed in as ``app``; the client builds only
    what needs it (the digest poster, the cogs) in ``setup_hook``, where the digest loop and the command sync
    start too. The app is closed by whoever built it, after the client."""

    def __init__(self, app: App, *, shard_ids: Sequence[int] | None = None, shard_count: int | None = None,
                 digest_interval: float = 900.0, sync_commands: bool = True, identify_queue_url: str = "",
                 **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        if shard_ids is not None:
            options["shard_ids"] = list(shard_ids)  # None (all shards) is discord.py's default, not typed as such
        # No text commands, so no prefix: with one, every "@newsbot help" in a channel logged CommandNotFound at
        # ERROR. An empty prefix list never matches, and discord.py then ignores the message silently.
        super().__init__(command_prefix=(), tree_cls=NewsbotTree,
                         allowed_mentions=NO_MENTIONS, help_command=None, shard_count=shard_count, **options)
        if app.store is None or app.scheduler is None:
            raise ValueError("the Discord client needs an app built for the discord surface")
        self.app = app
        self.newsbot: Newsbot = app.service
        self.store: Store = app.store
        self.scheduler: DigestScheduler = app.scheduler
        self.poster = DiscordPoster(self)
        """The digest poster, built around this client: the scheduler posts through it."""
        self.digest_interval = digest_interval
        self.sync_on_start = sync_commands
        """False for a process that is not shard 0: the deploy (``newsbot migrate`` or shard 0) syncs once."""
        self.synced: bool | None = None
        """After setup: True when commands were synced this start, False when the stored hash matched (or this
        process does not sync), None before setup."""
        self._digest_task: asyncio.Task[None] | None = None
        self.views = OpenViews()
        """Live page buttons; :meth:`close` disables them."""
        self.feeds = app.feeds
        """Polls the default archive's feeds and watches its folder (reindexing on change); None: no feed loop.
        Every archive with feeds has its own (``app.feed_services``)."""
        self._feed_tasks: list[asyncio.Task[None]] = []
        self.dms = DMSender(self, app.config.alerts.send_interval_seconds)
        """Keyword alerts' direct messages, paced; the alert loop sends through it."""
        self._alert_tasks: list[asyncio.Task[None]] = []
        # discord.py answers autocomplete itself and logs a late answer's 10062 as an ERROR traceback.
        logging.getLogger("discord.app_commands.tree").addFilter(EXPIRED_AUTOCOMPLETE)
        self.identify_queue_url = identify_queue_url
        """A gateway-queue asked before each IDENTIFY, shared by every process of the deployment; empty: local."""

    @property
    def view_timeout(self) -> float:
        """Seconds before pagination buttons are disabled."""
        return self.views.timeout

    @view_timeout.setter
    def view_timeout(self, seconds: float) -> None:
        self.views.timeout = seconds

    async def setup_hook(self) -> None:
        cooldown = self.newsbot.config.discord.ask_cooldown_seconds
        await self.tree.set_translator(CatalogTranslator())
        await self.add_cog(ReaderCog(self.newsbot, self.views, ask_cooldown=cooldown))
        await self.add_cog(AdminCog(self.newsbot, self.poster))
        for menu in message_menus(self.newsbot):
            self.tree.add_command(menu)
        await self.add_cog(AlertsCog(self.newsbot))
        self.add_dynamic_items(RemoveAlert)  # /subscriptions' remove buttons, still live after a restart
        self.synced = await self.sync_commands() if self.sync_on_start else False
        if self.store.read_only:
            return  # every claim would fail; the launcher has said so once at start
        # Started here, not in on_ready: on_ready fires again after every failed RESUME.
        self._digest_task = asyncio.create_task(self._digest_loop(), name="newsbot-digest")
        for name, feeds in (self.app.feed_services or ({"": self.feeds} if self.feeds else {})).items():
            # Independent of the gateway: new issues become searchable even while Discord reconnects.
            self._feed_tasks.append(asyncio.create_task(feeds.run_forever(), name=f"newsbot-feeds-{name}"))
        for name, alerts in self.app.alerts.items():
            self._alert_tasks.append(asyncio.create_task(self._alert_loop(alerts), name=f"newsbot-alerts-{name}"))

    async def _alert_loop(self, alerts: AlertService) -> None:
        await self.wait_until_ready()
        await alerts.run_forever(self.dms)

    async def on_app_command_completion(self, interaction: discord.Interaction[NewsbotClient],
                                        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
                                        ) -> None:
        """Every answered command: a member whose alerts were paused hears it once, after their reply."""
        await paused_notice(self.newsbot, interaction)

    async def _digest_loop(self) -> None:
        await self.wait_until_ready()
        log.info("digest loop running (shards %s of %s)", self.shard_ids or "all", self.shard_count)
        # One loop per archive: a guild's digest is per archive, each exactly once through its own claims.
        schedulers = list(self.app.schedulers.values()) or [self.scheduler]
        await asyncio.gather(*(s.run_forever(self.poster, self.digest_interval) for s in schedulers))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """With ``discord.identify_queue_url``, wait for the gateway-queue's go-ahead (``GET url?shard=N``, answered
        when the shard may IDENTIFY), so processes on several hosts share ``max_concurrency`` and the daily
        IDENTIFY budget. Without one, or when the queue fails, discord.py's own pacing."""
        if not self.identify_queue_url:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        try:
            timeout = aiohttp.ClientTimeout(total=IDENTIFY_QUEUE_WAIT)
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.get(self.identify_queue_url, params={"shard": str(shard_id or 0)}) as resp:
                resp.raise_for_status()
        except (aiohttp.ClientError, TimeoutError) as err:
            log.warning("identify queue did not answer for shard %s (%s); pacing this IDENTIFY locally",
                        shard_id, err or type(err).__name__)
            await super().before_identify_hook(shard_id, initial=initial)
            return
        log.debug("identify queue let shard %s through", shard_id)

    async def close(self) -> None:
        # While the HTTP session is still open: disable the page buttons of answers still on screen.
        await self.views.shut_down()
        for task in (self._digest_task, *self._alert_tasks, *self._feed_tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._digest_task, self._alert_tasks, self._feed_tasks = None, [], []
        await super().close()

    def command_payload(self) -> list[dict[str, Any]]:
        return sorted((c.to_dict(self.tree) for c in self.tree.get_commands()), key=lambda c: str(c["name"]))

    async def sync_commands(self) -> bool:
        """Sync only when the command set changed, so restarts never burn Discord's 200 creates a day. The hash
        is kept in the shared store, so one sync serves every process of a deployment."""
        tree = self.tree
        guild_ids = self.newsbot.config.discord.guild_ids
        # The catalogs give the commands their zh-CN and zh-TW names: a new translation is a new command set.
        blob = json.dumps({"guilds": list(guild_ids), "commands": self.command_payload(),
                           "catalogs": catalogs_fingerprint()}, sort_keys=True)
        digest = hashlib.sha256(blob.encode()).hexdigest()
        if await self.store.get_value(SYNC_KEY) == digest:
            log.info("command set unchanged; not syncing")
            return False
        await self._clear_old_scopes(guild_ids)
        if guild_ids:
            for gid in guild_ids:
                guild = discord.Object(id=gid)
                tree.copy_global_to(guild=guild)
                try:
                    await tree.sync(guild=guild)
                except (discord.Forbidden, discord.NotFound) as err:
                    raise ConfigError(f"discord.guild_ids: {gid}: the bot is not in this guild, or was invited "
                                      f"without the applications.commands scope (Discord: {err.text})") from None
            log.info("synced %d commands to %d guilds", len(tree.get_commands()), len(guild_ids))
        else:
            await tree.sync()
            log.info("synced %d global commands", len(tree.get_commands()))
        if not self.store.read_only:  # else the next start syncs again; harmless, and said at start
            await self.store.set_value(SYNC_KEY, digest)
            await self.store.set_value(SCOPES_KEY, json.dumps(_scopes(guild_ids)))
        return True

    async def _clear_old_scopes(self, guild_ids: Sequence[int]) -> None:
        """Empty the scopes the last sync used and this one does not: moving from guild to global sync (or back)
        would otherwise leave the old copies, and Discord lists every command twice."""
        stored = await self.store.get_value(SCOPES_KEY)
        try:
            previous = [str(x) for x in json.loads(stored)] if stored else []
        except ValueError:
            previous = []
        app_id = self.application_id
        if app_id is None:
            return
        for scope in sorted(set(previous) - set(_scopes(guild_ids))):
            try:
                if scope == "global":
                    await self.http.bulk_upsert_global_commands(app_id, [])
                else:
                    await self.http.bulk_upsert_guild_commands(app_id, int(scope), [])
            except (discord.Forbidden, discord.NotFound) as err:  # a guild the bot has left: nothing to clear
                log.info("could not clear the old commands of %s: %s", scope, err)
                continue
            log.info("removed the commands synced to %s before", scope)
