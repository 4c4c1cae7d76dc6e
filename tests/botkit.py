"""Starting the real newsbot client against the fake Discord, shared by the Discord-level tests."""

from __future__ import annotations

import contextlib
import dataclasses
import re
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


# -- what a Discord client would act on in text the bot sent ---------------------------------------------

# What Discord turns into a ping or a rendered mention: @everyone/@here, users, roles, channels, slash commands.
MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>|</[-_\w]+(?: [-_\w]+){0,2}:\d+>|<id:\w+>")
_MASKED_TARGET = re.compile(r"\]\(https?://[^\s<>\"]+\)")
# discord.utils' URL pattern: links are matched before markdown, so markdown characters inside one are inert.
_URL = re.compile(r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]")
_MARKDOWN_CHARS = "*_~|`"


def mentions_in(text: str) -> list[str]:
    return MENTION.findall(_MASKED_TARGET.sub("](URL)", text))


def live_markdown(text: str) -> list[str]:
    """Markdown characters a Discord client would act on: not backslash-escaped (Discord escapes any
    non-alphanumeric, non-space character that way) and not inside a link; plus an active ``[..](..)``."""
    text = _URL.sub(" ", text)
    live: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and not text[i + 1].isalnum() and not text[i + 1].isspace():
            i += 2
            continue
        if c in _MARKDOWN_CHARS:
            live.append(c)
        elif c == "[" and re.match(r"\[[^\]]*\]\(", text[i:]):
            live.append("[link]")
        i += 1
    return live
