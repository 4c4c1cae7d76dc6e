"""Starting the real newsbot client against the fake Discord, shared by the Discord-level tests."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fake_discord import GUILD_ID, FakeDiscord, running

from bot.commands import Newsbot
from bot.config import Config
from bot.discord_adapter.client import NewsbotClient, ShardedNewsbotClient
from bot.state import StateStore


class _NoIdentifyWait:
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the default sleeps 5 s before a re-IDENTIFY; the fake has no IDENTIFY limit


class FastReconnectClient(_NoIdentifyWait, NewsbotClient):
    pass


class FastReconnectShardedClient(_NoIdentifyWait, ShardedNewsbotClient):
    pass


def guild_config(config: Config, **archive: Any) -> Config:
    """Commands synced to the fake's guild, no /ask cooldown, and optionally another archive (``path=...``)."""
    config = dataclasses.replace(config, discord=dataclasses.replace(config.discord, guild_ids=(GUILD_ID,),
                                                                     ask_cooldown_seconds=0.0))
    if archive:
        config = dataclasses.replace(config, archive=dataclasses.replace(config.archive, **archive))
    return config


@contextlib.asynccontextmanager
async def bot_running(fake: FakeDiscord, config: Config, *, factory: type[Any] = FastReconnectClient,
                      **options: Any) -> AsyncIterator[Any]:
    """The real client (``factory``) with a real Newsbot and state database, logged in to ``fake`` and ready.

    Leaving the block closes everything, so a second block on the same config is a restart of the bot."""
    newsbot = await Newsbot.create(config)
    state = StateStore(config.db_path)
    await state.open()
    try:
        options.setdefault("guild_ready_timeout", 0.1)
        async with running(factory(newsbot, state, **options), fake.token) as client:
            yield client
    finally:
        await newsbot.close()
        await state.close()


def bot_env(fake: FakeDiscord, db_path: Path, cache_dir: Path, *, log_level: str = "INFO") -> dict[str, str]:
    """Environment for ``newsbot run`` as a subprocess talking to ``fake``."""
    import os

    return {
        **os.environ,
        "DISCORD_TOKEN": fake.token,
        "NEWSBOT_API_BASE": fake.api_base,
        "NEWSBOT_GATEWAY_URL": fake.gateway_url,
        "NEWSBOT_DB": str(db_path),
        "NEWSBOT_STORAGE_CACHE_DIR": str(cache_dir),
        "NEWSBOT_DISCORD_GUILD_IDS": str(GUILD_ID),
        "NEWSBOT_LOG_LEVEL": log_level,
    }
