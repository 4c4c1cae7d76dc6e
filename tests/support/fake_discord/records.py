"""What the fake Discord records, as plain values tests can assert on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request, recorded once it has been answered."""

    method: str
    path: str
    """Path below ``/api/v10`` (``/channels/1/messages``); the raw path for anything else."""
    query: Mapping[str, str]
    json: Any
    """The JSON body (``payload_json`` for multipart), or ``None``."""
    body: str
    """The raw body as text (multipart: the form parts, file bytes left out), for leak scans."""
    headers: Mapping[str, str]
    """Request headers without ``Authorization``."""
    authorized: bool
    """Whether ``Authorization`` was exactly ``Bot <token>``."""
    received_at: float
    """Event-loop time when the request arrived."""
    status: int
    files: tuple[str, ...] = ()
    injected: bool = False
    """Answered by :meth:`FakeDiscord.fail_next`, not by the route."""


@dataclass(frozen=True)
class InteractionCallback:
    """One ``POST /interactions/{id}/{token}/callback``."""

    type: int
    data: Any
    received_at: float
    elapsed: float
    """Seconds between the INTERACTION_CREATE frame being sent and this callback arriving."""
    status: int
    accepted: bool


@dataclass(frozen=True)
class WebhookCall:
    """A followup or an edit/delete of an interaction's messages through its webhook token."""

    method: str
    kind: str
    """``followup`` (POST), ``edit``, ``delete`` or ``get``."""
    message_id: int | None
    data: Any
    received_at: float
    elapsed: float
    status: int


@dataclass(frozen=True)
class CommandSync:
    """One bulk overwrite (``PUT``) of the global (``guild_id=None``) or a guild's commands."""

    guild_id: int | None
    commands: tuple[Mapping[str, Any], ...]
    received_at: float
    status: int


@dataclass(frozen=True)
class GatewayFrame:
    direction: str
    """``recv`` (client to fake) or ``send``."""
    payload: Mapping[str, Any]
    at: float
    connection: int
    """Index into :attr:`FakeDiscord.gateway_connections`."""


@dataclass
class GatewayConnection:
    """One WebSocket the client opened (mutable: it fills in as the connection lives)."""

    path: str
    query: Mapping[str, str]
    opened_at: float
    identified: bool = False
    resumed: bool = False
    resume_rejected: bool = False
    heartbeats: int = 0
    intents: int | None = None
    close_code: int | None = None
    closed: bool = False
    replayed: list[int] = field(default_factory=list)
    """Sequence numbers replayed on a RESUME."""
