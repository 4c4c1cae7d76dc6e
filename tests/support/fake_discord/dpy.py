"""The two discord.py hooks the fake needs, and a runner that starts a client against it."""

# Waits take a `timeout=` deadline: it reads better in tests than asyncio.timeout() at every call.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import yarl

with warnings.catch_warnings():
    # discord.py 2.7.1 imports audioop (discord/player.py), deprecated since Python 3.11; the
    # project's "warnings are errors" would otherwise fail the import itself.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    import discord.gateway
    import discord.http

from .server import FakeDiscord

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.contextmanager
def point_discord_py_at(fake: FakeDiscord) -> Iterator[None]:
    """Send discord.py's REST and gateway traffic to ``fake``; restore both on exit.

    ``Route.BASE`` is read per request (webhooks and interaction callbacks included), and
    ``DEFAULT_GATEWAY`` is used for the first connect and after a non-resumable
    INVALID_SESSION; a plain ``Client`` never asks ``GET /gateway/bot``.
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def running(client: ClientT, token: str, *, timeout: float = 10.0) -> AsyncIterator[ClientT]:
    """Start ``client`` (login, ``setup_hook``, gateway), yield once it is ready, close it after.

    A login or gateway failure is raised here instead of leaving the test waiting, and a failure
    of the client's run loop after the test body is raised on exit.
    """
    async with client:  # sets up the client's loop-bound state, so wait_until_ready() works now
        start = asyncio.create_task(client.start(token), name="fake-discord-client")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait({start, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
        if ready not in done:
            await _stop(client, start, timeout)  # re-raises LoginFailure, ConnectionClosed, ...
            raise TimeoutError(f"client not ready within {timeout}s")
        try:
            yield client
        finally:
            await _stop(client, start, timeout)


async def _stop(client: discord.Client, start: asyncio.Task[None], timeout: float) -> None:
    await client.close()
    # start() returns once its gateway loop sees the close.
    await asyncio.wait_for(start, timeout)
