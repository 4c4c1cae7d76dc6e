"""The keyword alerts' :class:`~bot.alerts.service.AlertSender` for Discord: one direct message per alert, paced.

Sends go through one queue per process (a lock and a pause of ``alerts.send_interval_seconds`` between two), so a
new issue that matches many members never bursts past Discord's limits; discord.py itself waits out a 429 and
retries. Only the alert task waits for the queue: commands and the gateway never do.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import discord

from bot.discord_adapter.alert_embeds import alert_embed
from bot.discord_adapter.poster import post_error
from bot.errors import DMClosed, PostTransient
from bot.results import AlertResult

log = logging.getLogger(__name__)

CANNOT_DM = 50007
"""Discord's "Cannot send messages to this user": DMs closed, the bot blocked, or no server in common."""
HISTORY_LIMIT = 20
"""How far back a member's DMs are read to find an alert that was sent but not recorded."""
NO_MENTIONS = discord.AllowedMentions.none()


class DMSender:
    """Direct messages through ``client``; built by the client around itself."""

    def __init__(self, client: discord.Client, interval: float) -> None:
        self.client = client
        self.interval = interval
        self._lock = asyncio.Lock()
        self._last = float("-inf")

    async def _channel(self, user_id: int) -> discord.DMChannel:
        try:
            return await self.client.create_dm(discord.Object(user_id))  # cached after the first
        except discord.HTTPException as err:
            raise _map(err) from err
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise PostTransient(f"network error: {err}") from err

    async def send_alert(self, user_id: int, alert: AlertResult) -> int:
        async with self._lock:  # the queue: one send at a time, spaced
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                channel = await self._channel(user_id)
                message = await channel.send(embed=alert_embed(alert), allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as err:
                raise _map(err) from err
            except (TimeoutError, aiohttp.ClientError, OSError) as err:
                raise PostTransient(f"network error: {err}") from err
            finally:
                self._last = time.monotonic()
            return message.id

    async def find_alert(self, user_id: int, marker: str) -> int | None:
        channel = await self._channel(user_id)
        me = self.client.user
        try:
            async for message in channel.history(limit=HISTORY_LIMIT):
                if me is not None and message.author.id == me.id and any(
                        e.footer.text == marker for e in message.embeds):
                    return message.id
        except discord.HTTPException as err:
            raise _map(err) from err
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise PostTransient(f"network error: {err}") from err
        return None


def _map(err: discord.HTTPException) -> Exception:
    """The sender's error for Discord's answer: 50007 is a member's closed DMs, not a missing permission."""
    if err.code == CANNOT_DM:
        return DMClosed(f"cannot send messages to this user ({err.status}, {CANNOT_DM})")
    return post_error(err, "alert", forbidden="forbidden", gone="no such user")
