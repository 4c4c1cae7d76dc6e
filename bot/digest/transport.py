"""What the digest's state machine (:mod:`bot.digest.scheduler`) needs from the rest of newsbot: a transport that
posts (the Discord adapter's :class:`~bot.discord_adapter.poster.DiscordPoster`; tests use an in-memory one) and
the archive it reads issues from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.results import FeaturesResult
    from retrieval.models import Archive


class ArchiveSource(Protocol):
    """Where the scheduler reads the current archive (:class:`bot.library.Library`), at each use."""

    @property
    def archive(self) -> Archive: ...


class Poster(Protocol):
    """What the scheduler needs from a transport. The Discord adapter marks each digest with its slot
    (in the embed footer) so :meth:`find_existing` can recognise it after a crash."""

    async def post(self, channel_id: int, guild_id: int, slot: str, content: FeaturesResult, *,
                   role_id: int | None = None, locale: str | None = None) -> int:
        """Send the digest (pinging ``role_id``, and no one else, when given) in ``locale``'s language (None: the
        server's preferred locale); return the message id. Raise :class:`PostError` subclasses on failure."""
        ...

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> None:
        """Open a discussion thread on a digest message; one that already exists counts as opened. Raise
        :class:`PostError` subclasses on failure (the digest itself stays posted)."""
        ...

    async def find_existing(self, channel_id: int, slot: str) -> int | None:
        """The id of our own digest for ``slot`` among the channel's recent messages, if any."""
        ...

    async def publish(self, channel_id: int, message_id: int) -> bool:
        """Publish a digest to the servers following its announcement channel (False: not one); see
        :mod:`bot.digest.publish`."""
        ...
