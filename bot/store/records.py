"""The values the state store reads and writes: digest claim rows and feed state.

Plain records with no I/O, so the poller, the scheduler and the renderers can share them without importing a
driver. Digest settings are :class:`bot.digest.schedule.DigestSettings`, owned by the schedule rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, NamedTuple

PostStatus = Literal["claimed", "posted", "skipped", "failed", "missed"]
"""``claimed``: being sent (or the sender died); ``posted``: done, message id known; ``skipped``: the slot
came and there was nothing to post; ``failed``: 403/404, or a manual post that gave up; ``missed``: a
crashed claim whose week ended without the message ever appearing."""


class PostRecord(NamedTuple):
    """One row of ``digest_posts``."""

    guild_id: int
    slot: str
    issue_id: str | None
    status: PostStatus
    channel_id: int | None
    message_id: int | None
    claimed_at: dt.datetime
    lease_until: dt.datetime | None
    posted_at: dt.datetime | None
    detail: str | None
    claimed_by: str | None = None
    """``host:pid`` of the process that claimed (or last took over) the slot."""


@dataclass(frozen=True, slots=True)
class FeedState:
    """One row of ``feeds``, with the count of its items."""

    url: str
    name: str = ""
    etag: str | None = None
    last_modified: str | None = None
    last_success: dt.datetime | None = None
    last_attempt: dt.datetime | None = None
    next_poll: dt.datetime | None = None
    failures: int = 0
    """Consecutive failures; 0 after any success."""
    last_error: str | None = None
    disabled_reason: str | None = None
    """Set when the feed is off: its last error and the count of tries."""
    polled_ok: bool = False
    """At least one poll succeeded: the first one stores everything and announces nothing."""
    config_hash: str = ""
    items: int = 0
    notes: str = ""
    """What the last successful poll skipped (items without a link, duplicates), for stats."""


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One row of ``feed_items``: a feed item the poller has seen."""

    key: str
    path: str
    """The archive file (relative to the archive folder) this item is; maybe one an admin saved."""
    content_hash: str
    owned: bool
    """True when the poller wrote the file; an admin's own copy is never overwritten."""
    issue_id: str


AlertStatus = Literal["claimed", "sent", "closed", "gone", "failed"]
"""One member's alert for one issue: ``claimed`` (being sent, or the sender died), ``sent``, ``closed`` (the
member's DMs are closed: 50007), ``gone`` (every subscription of the member was removed or paused before it went
out), ``failed`` (Discord refused it otherwise)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One row of ``alert_subscriptions``: a member's keyword alert."""

    id: int
    user_id: int
    query: str
    """Exactly as the member typed it (shown escaped, never as markdown or a ping)."""
    section: str = ""
    """A section key of the archive (:attr:`retrieval.models.Entry.section`), or '' for every section."""
    archive: str = ""
    """The archive it watches; '' is the default archive."""
    created_at: dt.datetime | None = None
    paused_reason: str | None = None
    """Set when alerts cannot reach the member (closed DMs): nothing is sent until they subscribe again."""


class AlertClaim(NamedTuple):
    """One row of ``alert_sends``."""

    archive: str
    issue_id: str
    user_id: int
    status: AlertStatus
    lease_until: dt.datetime | None
    message_id: int | None
