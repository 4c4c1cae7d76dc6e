"""The bot layer's errors. The whole tree, retrieval's and these, is drawn once, in :mod:`retrieval.errors`."""

from __future__ import annotations

from retrieval.errors import NewsbotError


class UsageError(NewsbotError):
    """A command line cannot be run as given (exit status 2); the message says what to give instead."""


class DigestError(NewsbotError):
    """A digest request cannot be done as asked; the message is for the admin who asked."""


class AlertError(NewsbotError):
    """A keyword alert request cannot be done as asked (too many, unknown number, empty words); says why."""


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


class PostRejected(PostForbidden):
    """400 and the like: Discord refused the request itself (its status and message say why). Retrying cannot
    help, as with a 403, but it is no missing permission."""


class PostNotFound(PostError):
    """404: the channel (or guild) no longer exists."""


class PostTransient(PostError):
    """5xx or a network error: worth trying again."""


class DMClosed(PostForbidden):
    """50007: the member does not accept direct messages from the bot (closed, blocked, or no shared server)."""


class FeedParseError(NewsbotError):
    """The bytes are not a usable RSS or Atom feed (malformed XML, or no feed at all)."""


class FeedItemError(NewsbotError):
    """One feed item cannot become an archive file (nested too deep, too large, too slow); ``str()`` is why."""


class FetchError(NewsbotError):
    """The feed could not be fetched."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        """Retrying on a schedule cannot help (410 Gone, an invalid URL): the feed is disabled at once."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait (Retry-After), if it said."""
