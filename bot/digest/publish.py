"""Publishing a digest to the servers that follow its announcement channel (Discord's crosspost).

It runs after the digest is recorded as posted, so its failure never costs the digest and never sends it again:
the reason is kept in the guild's settings (``publish_error``) for ``/newsbot stats``, and cleared by the next
digest that is published or needs no publishing.
"""

from __future__ import annotations

import logging
from typing import Protocol

from bot.digest.schedule import DigestSettings
from bot.errors import PostError, PostForbidden, PostRejected
from bot.i18n import N_, Lang
from bot.store import Store

log = logging.getLogger(__name__)

PUBLISH_FORBIDDEN = N_("the digest was posted, but the bot may not publish it to the servers following the "
                       "announcement channel (403: needs Send Messages there)")
PUBLISH_FAILED = N_("the digest was posted, but could not be published to following servers ({reason})")
"""The reasons kept in English in the store (``publish_error``); :func:`publish_error_text` translates them."""


class Publisher(Protocol):
    """The part of :class:`bot.digest.transport.Poster` this needs."""

    async def publish(self, channel_id: int, message_id: int) -> bool:
        """Publish when the channel is an announcement channel (False: it is not); one published before counts
        as published. Raise :class:`PostError` subclasses on failure."""
        ...


def publish_failure(err: PostError) -> str:
    """What stats say when publishing failed: only a real 403 is the permission.

    >>> publish_failure(PostForbidden("missing permissions (403: Missing Permissions)"))[:60]
    'the digest was posted, but the bot may not publish it to the'
    >>> publish_failure(PostRejected("Discord rejected the publication (400: Bad Request)"))[50:]
    'to following servers (Discord rejected the publication (400: Bad Request))'
    """
    if isinstance(err, PostForbidden) and not isinstance(err, PostRejected):
        return PUBLISH_FORBIDDEN
    return PUBLISH_FAILED.format(reason=err)


def publish_error_text(stored: str, lg: Lang) -> str:
    """A kept ``publish_error`` in ``lg``: it is one of the two reasons above, filled in English when it was stored
    (a reason from an older version is shown as it is).

    >>> from bot.i18n import lang
    >>> publish_error_text(PUBLISH_FAILED.format(reason="x (400)"), lang("zh-CN"))
    '摘要已发出，但未能发布到关注的服务器（x (400)）'
    >>> publish_error_text("an older reason", lang("zh-CN"))
    'an older reason'
    """
    if stored == PUBLISH_FORBIDDEN:
        return lg.gettext(PUBLISH_FORBIDDEN)
    head = PUBLISH_FAILED.split("{reason}")[0]
    if stored.startswith(head) and stored.endswith(")"):
        return lg.gettext(PUBLISH_FAILED, reason=stored[len(head):-1])
    return stored


async def publish_digest(store: Store, poster: Publisher, s: DigestSettings, channel_id: int,
                         message_id: int) -> None:
    """Publish a recorded digest; a failure is logged (no secrets: Discord's status and message) and kept for
    stats."""
    try:
        published = await poster.publish(channel_id, message_id)
    except PostError as err:
        reason = publish_failure(err)
        log.warning("digest for guild %s: %s", s.guild_id, reason)
        await store.set_publish_error(s.guild_id, reason)
        return
    if published:
        log.info("digest for guild %s: message %s published to following servers", s.guild_id, message_id)
    if s.publish_error is not None:
        await store.set_publish_error(s.guild_id, None)
