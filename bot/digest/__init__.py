"""The weekly digest: when to post (:mod:`.schedule`), where its state lives (:mod:`.store`), and posting
it exactly once per guild and week (:mod:`.scheduler`).

The names below are re-exported for callers that need a few of them; new code may import the modules.

Its errors live in :mod:`bot.errors`; the whole tree is drawn in :mod:`retrieval.errors`.
"""

from bot.digest.schedule import (
    DAY_NAMES,
    POLICIES,
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
    PostOutcome,
)
from bot.errors import (
    DigestError,
    PostError,
    PostForbidden,
    PostNotFound,
    PostTransient,
    SchemaMismatch,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
)
from bot.store import (
    SCHEMA_VERSION,
    PostRecord,
    PostStatus,
    SqliteStore,
    SqlStore,
    Store,
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
