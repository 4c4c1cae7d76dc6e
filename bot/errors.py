"""The bot layer's errors. The whole tree, retrieval's and these, is drawn once, in :mod:`retrieval.errors`."""

from __future__ import annotations

from retrieval.errors import NewsbotError


class DigestError(NewsbotError):
    """A digest request cannot be done as asked; the message is for the admin who asked."""


class StoreError(NewsbotError):
    """The state store cannot be used as it is (unreachable, or its schema does not match); says what to do."""


class StoreUnavailable(StoreError):
    """The shared store cannot be reached just now; digests wait, and the next tick tries again.

    ``str()`` is for a person (no address); :attr:`detail` names the server (never the password) for the log."""

    def __init__(self, detail: str) -> None:
        super().__init__("the bot's shared state store is unreachable just now; try again in a minute")
        self.detail = detail


class SchemaMismatch(StoreError):
    """The database's schema version is not the one this code knows."""


class StoreReadOnly(StoreError):
    """The state database can be read but not written: settings cannot be saved, digests cannot be claimed."""


class PostError(Exception):
    """Raised by a :class:`Poster` when a digest could not be sent."""


class PostForbidden(PostError):
    """403: the bot lacks permission to post in the channel."""


class PostNotFound(PostError):
    """404: the channel (or guild) no longer exists."""


class PostTransient(PostError):
    """5xx or a network error: worth trying again."""
