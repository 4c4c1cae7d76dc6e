"""``newsbot run``: build the app (:func:`bot.app.build_app`), the client around its service, run until SIGINT
or SIGTERM, and close what was opened."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl

from bot.app import App, Shards, build_app
from bot.config import Config
from bot.discord_adapter.client import NewsbotClient, point_at
from bot.store import describe_url
from retrieval.errors import ConfigError

log = logging.getLogger("newsbot.run")

def token_from_env(env: dict[str, str] | None = None) -> str:
    """The bot token, only ever from ``DISCORD_TOKEN``."""
    token = (env if env is not None else dict(os.environ)).get("DISCORD_TOKEN", "").strip()
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set; export the bot token to run the Discord bot.")
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        # It would go into an HTTP header and fail there with a traceback; never echo it.
        raise ConfigError("DISCORD_TOKEN: contains a space, a line break or a non-ASCII character; "
                          "export the token alone")
    return token


DEFAULT_GATEWAY = "wss://gateway.discord.gg"


def backoff(budget: float, first: float = 1.0, cap: float = 30.0) -> Iterator[float]:
    """Delays before each retry: doubling from ``first`` up to ``cap``, summing to at most ``budget``.

    >>> list(backoff(20))
    [1.0, 2.0, 4.0, 8.0]
    >>> list(backoff(0))
    []
    """
    delay, spent = first, 0.0
    while spent + delay <= budget:
        yield delay
        spent += delay
        delay = min(delay * 2, cap)


async def _reach(key: str, url: str) -> str | None:
    """None when ``url`` answers (REST: any HTTP status below 500; gateway: a TCP connection), else why not."""
    try:
        async with asyncio.timeout(10):
            if key == "discord.api_base":
                async with aiohttp.ClientSession() as session, session.get(f"{url}/gateway") as resp:
                    return None if resp.status < 500 else f"HTTP {resp.status}"
            parsed = yarl.URL(url)
            _reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return None
    except TimeoutError:
        return "no answer in 10 s"
    except (OSError, aiohttp.ClientError) as err:
        return str(err) or type(err).__name__


async def wait_for_discord(config: Config) -> None:
    """Wait, with back-off and one warning line per retry, until Discord's REST base and gateway answer.

    discord.py would otherwise fail the login with a traceback, or retry an unreachable gateway every 5 s with a
    traceback each time and never give up. Bounded by ``discord.start_retry_seconds``, then a ConfigError."""
    targets = [("discord.api_base", discord.http.Route.BASE),
               ("discord.gateway_url", config.discord.gateway_url.rstrip("/") or DEFAULT_GATEWAY)]
    started = time.monotonic()
    delays = backoff(config.discord.start_retry_seconds)
    for key, url in targets:
        while (problem := await _reach(key, url)) is not None:
            delay = next(delays, None)
            if delay is None:
                raise ConfigError(f"{key}: {url}: Discord cannot be reached ({problem}); gave up after "
                                  f"{time.monotonic() - started:.0f} s")
            log.warning("cannot reach Discord at %s (%s); retrying in %.0f s", url, problem, delay)
            await asyncio.sleep(delay)


def test_clock(env: Mapping[str, str]) -> Callable[[], dt.datetime] | None:
    """The tests' hook for running weeks of schedule in seconds across real processes: with
    ``NEWSBOT_TEST_CLOCK=FILE``, the digest scheduler's "now" is the ISO instant written in FILE (read on each
    call, so the test moves time for every process at once). Never set in production; the launcher logs a
    warning when it is. Only the digest schedule reads it: Discord, the cache and the logs keep real time.

    >>> test_clock({}) is None
    True
    """
    path = env.get("NEWSBOT_TEST_CLOCK")
    if not path:
        return None
    file = Path(path)

    def now() -> dt.datetime:
        value = dt.datetime.fromisoformat(file.read_text(encoding="utf-8").strip())
        if value.tzinfo is None:
            raise ValueError("NEWSBOT_TEST_CLOCK must hold an aware ISO datetime")
        return value

    return now


def make_client(app: App, *, shards: Shards | None = None, digest_interval: float = 900.0,
                client_cls: type[NewsbotClient] = NewsbotClient, **options: Any) -> NewsbotClient:
    """The client around a built app: only shard 0's process (or an unsharded one) syncs the commands."""
    return client_cls(app, shard_ids=shards[0] if shards else None, shard_count=shards[1] if shards else None,
                      digest_interval=digest_interval, sync_commands=shards is None or 0 in shards[0],
                      identify_queue_url=app.config.discord.identify_queue_url, **options)


async def run_bot(config: Config, *, token: str, shards: Shards | None = None,
                  client_options: dict[str, Any] | None = None) -> int:
    point_at(config.discord.api_base or None, config.discord.gateway_url or None)
    options = {"digest_interval": config.digest.tick_seconds, **(client_options or {})}
    clock = options.pop("clock", None)
    if clock is None:
        clock = test_clock(os.environ)
        if clock is not None:
            log.warning("NEWSBOT_TEST_CLOCK is set: the digest schedule follows %s, not the real time",
                        os.environ["NEWSBOT_TEST_CLOCK"])
    async with build_app(config, "discord", shards=shards, clock=clock) as app:
        assert app.store is not None  # the discord surface always opens it
        if app.store.read_only:
            log.warning("%s is read-only: digest settings cannot be saved and no digest is posted until it is "
                        "writable; answering questions works", describe_url(config.storage_url))
        client = make_client(app, shards=shards, **options)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        waiting = asyncio.ensure_future(wait_for_discord(config))

        def _stop(signame: str) -> None:
            if not stopping.is_set():
                log.info("received %s; shutting down", signame)
                stopping.set()
                if not waiting.done():
                    # Not connected yet: closing an AutoShardedClient that never started raises inside discord.py.
                    waiting.cancel()
                    return
                tasks.add(loop.create_task(client.close()))

        for sig in (signal.SIGINT, signal.SIGTERM):
            # Not the main thread (tests) or no signal support: Ctrl-C still ends asyncio.run.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, _stop, sig.name)
        try:
            try:
                await waiting
            except asyncio.CancelledError:
                if not stopping.is_set():
                    raise
                return 0  # stopped while Discord was still out of reach
            async with client:
                await client.start(token)
        except discord.LoginFailure:
            log.error("Discord refused the token (401). Check DISCORD_TOKEN.")
            return 1
    return 0


def run(config: Config, *, shards: Shards | None = None) -> int:
    token = token_from_env()
    discord.utils.setup_logging(level=getattr(logging, config.logging.level.upper()), root=True)
    return asyncio.run(run_bot(config, token=token, shards=shards))
