"""Starting the real newsbot client against the fake Discord, shared by the Discord-level tests."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fake_discord import GUILD_ID, FakeDiscord, running

from bot.config import Config
from bot.digest.store import open_store
from bot.discord_adapter.client import NewsbotClient
from bot.discord_adapter.launcher import assemble


class _NoIdentifyWait:
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the default sleeps 5 s before a re-IDENTIFY; the fake has no IDENTIFY limit


class FastReconnectClient(_NoIdentifyWait, NewsbotClient):
    pass


def guild_config(config: Config, **archive: Any) -> Config:
    """Commands synced to the fake's guild, no /ask cooldown, and optionally another archive (``path=...``)."""
    config = dataclasses.replace(config, discord=dataclasses.replace(config.discord, guild_ids=(GUILD_ID,),
                                                                     ask_cooldown_seconds=0.0))
    if archive:
        config = dataclasses.replace(config, archive=dataclasses.replace(config.archive, **archive))
    return config


@contextlib.asynccontextmanager
async def bot_running(fake: FakeDiscord, config: Config, *, factory: type[NewsbotClient] = FastReconnectClient,
                      **options: Any) -> AsyncIterator[Any]:
    """The real client (``factory``), built by the launcher's composition root on the store of
    ``config.storage_url``, logged in to ``fake`` and ready. ``options`` go to
    :func:`~bot.discord_adapter.launcher.assemble` (``shards``, ``clock``, ``digest_interval``) and on to the client.

    Leaving the block closes everything, so a second block on the same config is a restart of the bot."""
    store = await open_store(config.storage_url, create=True)
    try:
        options.setdefault("guild_ready_timeout", 0.1)
        client = await assemble(config, store, client_cls=factory, **options)
        try:
            async with running(client, fake.token) as ready:
                yield ready
        finally:
            await client.newsbot.close()
    finally:
        await store.close()


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
