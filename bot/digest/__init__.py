"""The weekly digest: when to post (:mod:`.schedule`), where its state lives (:mod:`.store`), and posting
it exactly once per guild and week (:mod:`.scheduler`).

The names below are re-exported for callers that need a few of them; new code may import the modules.

Errors, as a tree::

    NewsbotError (retrieval.errors)
    ├── DigestError        a digest request cannot be done as asked (no channel, bad weekday); for a person
    └── StoreError         the state store cannot be used (unreachable at start, bad password); says what to do
        ├── SchemaMismatch the database schema is older or newer than this code: run `newsbot migrate`
        ├── StoreReadOnly  the SQLite file is read-only: settings cannot be saved, no digest is posted
        └── StoreUnavailable  lost while serving: digests wait; str() is for people, .detail for the log
    PostError              raised by a Poster; handled by the scheduler, never shown to a person
    ├── PostForbidden      403: the bot may not post there; the guild's digest is turned off
    ├── PostNotFound       404: the channel is gone; the guild's digest is turned off
    └── PostTransient      5xx or network; retried with back-off, then left claimed for the next tick
"""

from bot.digest.schedule import (
    DAY_NAMES,
    POLICIES,
    DigestError,
    DigestSettings,
    Policy,
    Slot,
    describe,
    is_manual,
    manual_slot_id,
    next_due_at,
    nothing_to_post,
    owned_by,
    parse_policy,
    pick_issue,
    shard_owner,
    slot_for,
    when,
)
from bot.digest.scheduler import (
    DEFAULT_LEASE,
    FORBIDDEN_REASON,
    NOT_FOUND_REASON,
    DigestScheduler,
    OutcomeStatus,
    Poster,
    PostError,
    PostForbidden,
    PostNotFound,
    PostOutcome,
    PostTransient,
)
from bot.digest.store import (
    SCHEMA_VERSION,
    PostRecord,
    PostStatus,
    SchemaMismatch,
    SqliteStore,
    SqlStore,
    Store,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    open_store,
)

__all__ = [
    "DAY_NAMES", "DEFAULT_LEASE", "FORBIDDEN_REASON", "NOT_FOUND_REASON", "POLICIES", "SCHEMA_VERSION",
    "DigestError", "DigestScheduler", "DigestSettings", "OutcomeStatus", "Policy", "PostError", "PostForbidden",
    "PostNotFound", "PostOutcome", "PostRecord", "PostStatus", "PostTransient", "Poster", "SchemaMismatch", "Slot",
    "SqlStore", "SqliteStore", "Store", "StoreError", "StoreReadOnly", "StoreUnavailable", "describe", "is_manual",
    "manual_slot_id", "next_due_at", "nothing_to_post", "open_store", "owned_by", "parse_policy", "pick_issue",
    "shard_owner", "slot_for", "when",
]
