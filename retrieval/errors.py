"""newsbot's error hierarchy. Each surface maps these to user text in one place.

The whole tree, drawn once. Each class lives in its layer's error module: this one for retrieval
(``retrieval.errors``), ``bot.errors`` for the bot layer::

    NewsbotError                 base; its message is written for a person
    ├── ArchiveError             the archive folder is missing or holds nothing usable
    ├── BadFileError             one file cannot be read as text (binary, too large, unknown encoding)
    ├── ParseError               one file has no usable content (raised by retrieval.parse)
    ├── EmptyIndexError          nothing to index: no entry has a token (raised by retrieval.bm25)
    ├── DataFileError            a user dictionary, stop-word list or glossary is missing or invalid; names it
    ├── QueryError               a query or issue reference a person typed cannot be answered as asked
    │   └── UnknownIssueError    an issue reference matched nothing; carries close suggestions
    │       └── AmbiguousIssueError  it matched several where one is wanted; suggestions lists them all
    ├── ConfigError              a configuration file or override is invalid; names the bad key
    ├── UsageError               (bot.errors) a command line cannot be run as given: exit status 2
    ├── DigestError              (bot.errors) a digest request cannot be done as asked
    ├── AlertError               (bot.errors) a keyword alert request cannot be done as asked
    ├── FeedParseError           (bot.errors) fetched bytes are not a usable RSS or Atom feed
    ├── FeedItemError            (bot.errors) one feed item over a conversion limit; skipped with the reason
    ├── FetchError               (bot.errors) a feed could not be fetched; permanent (410) or worth a retry
    └── StoreError               (bot.errors) the state store cannot be used as it is; says what to do
        ├── SchemaMismatch       the database schema is older or newer than this code: run `newsbot migrate`
        ├── StoreReadOnly        the state database is read-only: settings cannot be saved
        └── StoreUnavailable     the shared store cannot be reached just now; the next tick tries again
    PostError                    (bot.errors) raised by a digest Poster, handled by the scheduler, never shown
    ├── PostForbidden            403: the bot may not post there; the guild's digest is turned off
    │   ├── PostRejected         400 and the like: Discord refused the request (its status and message say why)
    │   └── DMClosed             50007: a member's direct messages are closed; their alerts are paused
    ├── PostNotFound             404: the channel is gone; the guild's digest is turned off
    └── PostTransient            5xx or network; retried with back-off, then left claimed for the next tick

Nothing outside a surface's single error mapper catches a bare ``Exception``, except the
per-file boundary of the archive loader, where one broken file must not stop the others.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class; ``str(err)`` is a message a person can act on.

    A message shown to members is written as a template with named placeholders, given as keywords
    (``QueryError("count must be between 1 and {max}.", max=25)``): ``str()`` is the English text, and a surface
    translates :attr:`template` (its catalog's msgid) and fills it with :attr:`params`.

    >>> err = NewsbotError("Pick a page from 1 to {pages}.", pages=3)
    >>> str(err), err.template, err.params
    ('Pick a page from 1 to 3.', 'Pick a page from 1 to {pages}.', {'pages': 3})
    """

    def __init__(self, *args: object, **params: object) -> None:
        template = args[0] if args and isinstance(args[0], str) else None
        if params and template is not None:
            args = (template.format_map(params), *args[1:])
        super().__init__(*args)
        self.template = template
        self.params = params


class ArchiveError(NewsbotError):
    """The archive as a whole cannot be used."""


class BadFileError(NewsbotError):
    """One archive file cannot be read as text."""


class ParseError(NewsbotError, ValueError):
    """The text has nothing usable: empty, whitespace or markup only, no heading and no body."""


class EmptyIndexError(NewsbotError):
    """The corpus has no documents, or every document is empty.

    rank-bm25 divides by the number of documents and by the average length (issue #36), so it would
    fail with ``ZeroDivisionError`` or score NaN.
    """


class DataFileError(NewsbotError, ValueError):
    """A term-list file the analyzer or glossary loads is missing, unreadable or malformed.

    A ``ValueError`` too, so callers that validated these files before keep working."""


class QueryError(NewsbotError):
    """A query or argument cannot be answered as asked."""


class UnknownIssueError(QueryError):
    """An issue reference matched no issue."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = (), **params: object) -> None:
        super().__init__(message, **params)
        self.suggestions = suggestions


class AmbiguousIssueError(UnknownIssueError):
    """An issue reference where one issue is wanted named several; ``suggestions`` lists them all.

    A subclass of :class:`UnknownIssueError` so every surface already shows the list, as "did you mean"."""


class ConfigError(NewsbotError):
    """Configuration is invalid."""
