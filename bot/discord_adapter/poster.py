"""The digest :class:`~bot.digest.scheduler.Poster` for Discord: posts with the same renderer as ``/features``."""

from __future__ import annotations

import hashlib
import logging
from typing import Literal

import aiohttp
import discord

from bot.discord_adapter.embeds import features_embeds
from bot.errors import PostForbidden, PostNotFound, PostRejected, PostTransient
from bot.i18n import N_, lang
from bot.results import FeaturesResult

log = logging.getLogger(__name__)

DIGEST_MARK = "newsbot weekly digest ·"
HISTORY_LIMIT = 50
"""How far back the channel is read to find a digest that was sent but not recorded."""
THREAD_EXISTS = 160004
"""Discord's "a thread has already been created for this message" (a retry after a crash)."""
ALREADY_CROSSPOSTED = 40033
"""Discord's "this message has already been crossposted" (a recovered digest published before a crash)."""
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080
"""A week: the discussion stays open until the next digest."""


def role_ping(role_id: int | None) -> tuple[str | None, discord.AllowedMentions]:
    """The content and ``allowed_mentions`` of a digest: the role's mention, and permission to ping that role
    and nothing else, so a role mention or ``@everyone`` inside an item's text (embeds never ping, but the
    rule holds for the content too) pings no one.

    >>> content, allowed = role_ping(42)
    >>> content, allowed.to_dict()
    ('<@&42>', {'roles': [42], 'parse': []})
    >>> role_ping(None)[0], role_ping(None)[1].to_dict()
    (None, {'parse': []})
    """
    if role_id is None:
        return None, discord.AllowedMentions.none()
    return f"<@&{role_id}>", discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role_id)],
                                                     replied_user=False)


def digest_nonce(guild_id: int, slot: str) -> str:
    """The Discord ``nonce`` of a guild's digest for a slot: the same for every process and every retry, so
    with ``enforce_nonce`` (which discord.py sends with every nonce) Discord answers a repeat within its
    window with the first message instead of posting a second. At most 25 characters, as Discord requires.

    >>> digest_nonce(81384788765712384, "2021-W13")
    'nb-e93d085d4a043b385ef0c3'
    >>> len(digest_nonce(1, "2021-W13-manual-20210331T101502Z")) <= 25
    True
    """
    return "nb-" + hashlib.sha256(f"{guild_id}/{slot}".encode()).hexdigest()[:22]


def digest_footer(slot: str) -> str:
    """The footer that marks a digest, so a restart can find it in the channel.

    >>> digest_footer("2021-W13")
    'newsbot weekly digest · 2021-W13'
    """
    return f"{DIGEST_MARK} {slot}"


class DiscordPoster:
    """Posts digests through ``client``; built by the client around itself, after it exists."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.client.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(channel_id)
            except discord.HTTPException as err:
                raise post_error(err) from err
        if not isinstance(channel, discord.abc.Messageable):
            raise PostNotFound(f"channel {channel_id} cannot hold messages")
        return channel

    async def post(self, channel_id: int, guild_id: int, slot: str, content: FeaturesResult, *,
                   role_id: int | None = None, locale: str | None = None) -> int:
        channel = await self._channel(channel_id)
        # The footer stays English whatever the language: it is the mark find_existing looks for.
        embeds = features_embeds(content, heading=N_("Weekly digest"), footer=digest_footer(slot),
                                 lg=lang(locale or self.guild_locale(guild_id)))
        text, allowed = role_ping(role_id)
        try:
            message = await channel.send(text, embeds=embeds, allowed_mentions=allowed,
                                         nonce=digest_nonce(guild_id, slot))
        except discord.HTTPException as err:
            raise post_error(err) from err
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise PostTransient(f"network error: {err}") from err
        return message.id

    def guild_locale(self, guild_id: int) -> str | None:
        """The server's preferred locale (its Community "primary language"), from discord.py's cache."""
        guild = self.client.get_guild(guild_id)
        return guild.preferred_locale.value if guild is not None else None

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> None:
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise PostRejected(f"channel {channel_id} cannot hold threads")
        try:
            await channel.get_partial_message(message_id).create_thread(
                name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except discord.HTTPException as err:
            if err.code == THREAD_EXISTS:
                return  # opened before a crash or a retry: that is the thread we wanted
            raise post_error(err, "thread") from err
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise PostTransient(f"network error: {err}") from err

    async def publish(self, channel_id: int, message_id: int) -> bool:
        """Crosspost the digest when its channel is an announcement channel, so following servers get it."""
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel) or not channel.is_news():
            return False
        try:
            await channel.get_partial_message(message_id).publish()
        except discord.HTTPException as err:
            if err.code == ALREADY_CROSSPOSTED:
                return True  # published before a crash or a retry
            raise post_error(err, "publication") from err
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise PostTransient(f"network error: {err}") from err
        return True

    async def find_existing(self, channel_id: int, slot: str) -> int | None:
        channel = await self._channel(channel_id)
        me = self.client.user
        footer = digest_footer(slot)
        try:
            async for message in channel.history(limit=HISTORY_LIMIT):
                if me is not None and message.author.id == me.id and any(
                    e.footer.text == footer for e in message.embeds
                ):
                    return message.id
        except discord.HTTPException as err:
            raise post_error(err) from err
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise PostTransient(f"network error: {err}") from err
        return None


def post_error(err: discord.HTTPException, what: str = "digest", *,
               forbidden: str = "missing permissions in the channel", gone: str = "the channel is gone") -> Exception:
    """The sender's error for Discord's answer (a digest's here, an alert's in dm.py); only a real 403 is a missing
    permission. ``forbidden`` and ``gone`` say what a 403 and a 404 mean for what was sent."""
    if isinstance(err, discord.Forbidden):
        return PostForbidden(f"{forbidden} ({err.status}: {err.text or 'Forbidden'})")
    if isinstance(err, discord.NotFound):
        return PostNotFound(f"{gone} ({err.status}: {err.text or 'Not Found'})")
    if err.status >= 500 or err.status == 429:
        return PostTransient(f"Discord error {err.status}")
    # 400 and the like: our request is wrong, retrying cannot help; permanent for this guild, but no permission.
    return PostRejected(f"Discord rejected the {what} ({err.status}: {err.text or err.response.reason})")
