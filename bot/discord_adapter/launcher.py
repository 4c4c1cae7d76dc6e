"""``newsbot run``: create the resources, pass them into the client, run until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

import discord

from bot.commands import Newsbot
from bot.config import Config
from bot.discord_adapter.client import NewsbotClient, ShardedNewsbotClient, point_at
from bot.state import StateStore
from retrieval.errors import ConfigError

log = logging.getLogger("newsbot.run")


def token_from_env(env: dict[str, str] | None = None) -> str:
    """The bot token, only ever from ``DISCORD_TOKEN``."""
    token = (env if env is not None else dict(os.environ)).get("DISCORD_TOKEN", "").strip()
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set; export the bot token to run the Discord bot.")
    return token


async def run_bot(config: Config, *, token: str, shards: tuple[list[int], int] | None = None,
                  client_options: dict[str, Any] | None = None) -> int:
    point_at(config.discord.api_base or None, config.discord.gateway_url or None)
    async with contextlib.AsyncExitStack() as resources:
        # Each resource is closed on the way out, whatever fails after it was opened.
        newsbot = await Newsbot.create(config)
        resources.push_async_callback(newsbot.close)
        state = StateStore(config.db_path)
        await state.open()
        resources.push_async_callback(state.close)
        options = client_options or {}
        client: NewsbotClient | ShardedNewsbotClient
        if shards is None:
            client = NewsbotClient(newsbot, state, **options)
        else:
            client = ShardedNewsbotClient(newsbot, state, shard_ids=shards[0], shard_count=shards[1], **options)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        def _stop(signame: str) -> None:
            if not stopping.is_set():
                log.info("received %s; shutting down", signame)
                stopping.set()
                tasks.add(loop.create_task(client.close()))

        for sig in (signal.SIGINT, signal.SIGTERM):
            # Not the main thread (tests) or no signal support: Ctrl-C still ends asyncio.run.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, _stop, sig.name)
        try:
            async with client:
                await client.start(token)
        except discord.LoginFailure:
            log.error("Discord refused the token (401). Check DISCORD_TOKEN.")
            return 1
    return 0


def run(config: Config, *, shards: tuple[list[int], int] | None = None) -> int:
    token = token_from_env()
    discord.utils.setup_logging(level=getattr(logging, config.logging.level.upper()), root=True)
    return asyncio.run(run_bot(config, token=token, shards=shards))
