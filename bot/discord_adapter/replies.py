"""How an answer reaches Discord: public answers, private (ephemeral) errors, and the placeholder between.

A public ``defer(thinking=True)`` posts a "thinking…" message in the channel, and the first followup fills
that message, whatever its own ephemeral flag says. So an error after a public defer would be posted for
everyone to see. :func:`defer_public` marks the interaction; :func:`send_private` then deletes the
placeholder first, and the error goes to the asker alone as a new ephemeral followup.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import discord
from discord import app_commands

NO_MENTIONS = discord.AllowedMentions.none()
_PUBLIC_PENDING = "newsbot.public_placeholder"


async def defer_public(interaction: discord.Interaction[Any]) -> None:
    """Defer with a public "thinking…" message, which :func:`send_private` knows to take back."""
    await interaction.response.defer(thinking=True)
    interaction.extras[_PUBLIC_PENDING] = True


def answered_public(interaction: discord.Interaction[Any]) -> None:
    """The public answer is in the placeholder: an error from now on must not delete it."""
    interaction.extras[_PUBLIC_PENDING] = False


async def send_private(interaction: discord.Interaction[Any], text: str) -> None:
    """Send ``text`` to the person who used the interaction, and to no one else."""
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return
    if interaction.extras.pop(_PUBLIC_PENDING, False):
        with contextlib.suppress(discord.NotFound):  # already gone: nothing public is left to take back
            await interaction.delete_original_response()
    await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


UNKNOWN_INTERACTION = 10062


def expired(error: BaseException) -> bool:
    """Whether ``error`` is Discord's 10062 Unknown interaction: the token expired before we answered (the
    gateway was reconnecting, or the answer came too late). No one is waiting for a reply then."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    return isinstance(original, discord.NotFound) and original.code == UNKNOWN_INTERACTION


class _ExpiredAutocomplete(logging.Filter):
    """Turns discord.py's ERROR traceback for an autocomplete answered too late into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and expired(error) and record.msg.startswith("Ignoring exception in autocomplete"):
            record.msg = "autocomplete for %r expired before it was answered (10062; guild %s, user %s)"
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True


EXPIRED_AUTOCOMPLETE = _ExpiredAutocomplete()
