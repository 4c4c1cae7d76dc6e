"""A loopback Discord (REST + gateway on one port) that the real discord.py client talks to.

Run it inside the test's event loop::

    async with FakeDiscord() as fake, ...:
        with point_discord_py_at(fake):
            ...

Discord behaviour it copies, and why:

* REST answers are JSON with ``{"message", "code"}`` errors, because discord.py builds
  ``HTTPException.code``/``text`` from them and bots branch on the codes. The content type is
  exactly ``application/json``: discord.py compares it verbatim and would otherwise hand every
  body back as a ``str``.
* A 429 carries ``Via``: discord.py treats a 429 without it as a Cloudflare ban and raises instead
  of retrying (``http.py`` and ``webhook/async_.py``).
* The interaction callback answers 200 with ``{"interaction": ..., "resource": ...}``: discord.py
  2.7.1 always asks for ``with_response=1`` and reads ``data['interaction']``.
* Interaction callbacks after ``interaction_deadline`` (3 s) get 404 10062 Unknown interaction,
  a second callback gets 400 40060, as Discord does.
* Gateway frames are plain JSON text even though the URL asks for ``compress=zlib-stream``:
  discord.py only inflates ``bytes`` frames.
"""

# Waits take a `timeout=` deadline: it reads better in tests than asyncio.timeout() at every call.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json as jsonlib
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import BodyPartReader, WSMsgType, web

from .dms import FakeDMs
from .payloads import (
    BOT_PERMISSIONS,
    EPHEMERAL,
    JSON,
    LOADING,
    MAX_CHOICES,
    MEMBER_PERMISSIONS,
    FakeChannel,
    FakeGuild,
    FakeRole,
    FakeUser,
    SnowflakeFactory,
    StoredMessage,
    allowed_mentions_errors,
    command_errors,
    compute_mentions,
    guild_create_payload,
    interaction_options,
    iso_timestamp,
    member_payload,
    message_errors,
)
from .records import (
    CommandSync,
    GatewayConnection,
    GatewayFrame,
    InteractionCallback,
    RecordedRequest,
    WebhookCall,
)

API_PREFIX = "/api/v10"

# Fixed ids so assertions and log lines are stable between runs; all decode to 2023 dates.
APPLICATION_ID = 1_180_000_000_000_000_001
OWNER_ID = 1_180_000_000_000_000_002
GUILD_ID = 1_180_000_000_000_000_100
GENERAL_CHANNEL_ID = 1_180_000_000_000_000_101
DIGEST_CHANNEL_ID = 1_180_000_000_000_000_102
BOT_ROLE_ID = 1_180_000_000_000_000_103
DIGEST_ROLE_ID = 1_180_000_000_000_000_104
"""A mentionable role, for digest pings."""
MODS_ROLE_ID = 1_180_000_000_000_000_105
"""A role that is not mentionable: only a bot with MENTION_EVERYONE could ping it."""
USER_ID = 1_180_000_000_000_000_200
TEAM_ID = 1_180_000_000_000_000_003

DEFAULT_USER = FakeUser(USER_ID, "tester", global_name="Tester")
GUILD_MESSAGES_INTENT = 1 << 9


ANNOUNCEMENT_CHANNEL = 5
"""GUILD_ANNOUNCEMENT: a channel other servers can follow; its messages are published with the crosspost call."""
CROSSPOSTED = 1 << 0
"""The message flag Discord sets once a message has been published to following servers."""


def default_guild() -> FakeGuild:
    return FakeGuild(
        id=GUILD_ID,
        name="Newsbot Test",
        owner_id=OWNER_ID,
        channels=(
            FakeChannel(GENERAL_CHANNEL_ID, "general", position=0),
            FakeChannel(DIGEST_CHANNEL_ID, "digest", position=1),
        ),
        roles=(
            FakeRole(GUILD_ID, "@everyone", permissions=MEMBER_PERMISSIONS),
            FakeRole(BOT_ROLE_ID, "newsbot", permissions=BOT_PERMISSIONS, position=1, managed=True),
            FakeRole(DIGEST_ROLE_ID, "digest-readers", position=2, mentionable=True),
            FakeRole(MODS_ROLE_ID, "mods", position=3),
        ),
    )


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim (http.py json_or_text),
    # and aiohttp's json_response would append "; charset=utf-8", turning every body into a str.
    body = jsonlib.dumps(data).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def _error(status: int, message: str, code: int = 0, **extra: Any) -> web.Response:
    return _json({"message": message, "code": code, **extra}, status=status)


def _not_found() -> web.Response:
    return _error(404, "404: Not Found")


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
}
_DEFAULT_FAULT_BODIES: dict[int, JSON] = {
    403: {"message": "Missing Permissions", "code": 50013},
    404: {"message": "Unknown Channel", "code": 10003},
}


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    body: JSON | None
    headers: Mapping[str, str]
    retry_after: float
    global_limit: bool
    via: bool

    def response(self) -> web.Response:
        if self.status == 429:
            body = self.body or {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.global_limit,
                "code": 0,
            }
            headers = {
                "Retry-After": str(self.retry_after),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
                "X-RateLimit-Reset-After": str(self.retry_after),
                "X-RateLimit-Bucket": hashlib.sha1(self.pattern.pattern.encode()).hexdigest()[:16],
                "X-RateLimit-Scope": "shared" if not self.global_limit else "global",
            }
            if self.global_limit:
                headers["X-RateLimit-Global"] = "true"
            if self.via:
                # Without Via discord.py assumes a Cloudflare ban and gives up (http.py request()).
                headers["Via"] = "1.1 google"
        else:
            generic = {"message": f"{self.status}: {_REASONS.get(self.status, 'Error')}", "code": 0}
            body = self.body or _DEFAULT_FAULT_BODIES.get(self.status, generic)
            headers = {}
        return _json(body, status=self.status, headers={**headers, **self.headers})


@dataclass
class _Request:
    method: str
    path: str
    query: Mapping[str, str]
    json: Any
    body: str
    headers: Mapping[str, str]
    authorized: bool
    auth_present: bool
    received_at: float
    files: tuple[str, ...]


@dataclass
class _Session:
    id: str
    events: list[tuple[int, str, JSON]] = field(default_factory=list)
    seq: int = 0
    conn: _Conn | None = None
    shard: tuple[int, int] | None = None


@dataclass
class Pause:
    """A request held by :meth:`FakeDiscord.pause_next`: the route has run (a POSTed message exists), and the
    response waits for :meth:`release`, so a test can kill the sender while the post is in flight."""

    method: str
    pattern: re.Pattern[str]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    taken: bool = False
    request: RecordedRequest | None = None

    def release(self) -> None:
        self.released.set()


@dataclass
class _Conn:
    index: int
    ws: web.WebSocketResponse
    request: web.Request
    info: GatewayConnection
    authenticated: bool = False


class InteractionHandle:
    """One INTERACTION_CREATE the fake sent, and everything the bot did with its token."""

    def __init__(self, fake: FakeDiscord, payload: JSON, dispatched_at: float) -> None:
        self._fake = fake
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.channel_id = int(payload["channel_id"])
        self.guild_id = int(payload["guild_id"]) if "guild_id" in payload else None
        self.dispatched_at = dispatched_at
        self.callbacks: list[InteractionCallback] = []
        self.calls: list[WebhookCall] = []
        self.original_message_id: int | None = None
        self.deferred = False
        self.first_followup_pending = False
        if "message" in payload:
            # A component interaction's "original" is the message the component sits on.
            self.original_message_id = int(payload["message"]["id"])

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} callbacks={len(self.callbacks)}>"

    @property
    def callback(self) -> InteractionCallback | None:
        return self.callbacks[0] if self.callbacks else None

    @property
    def original_message(self) -> JSON | None:
        if self.original_message_id is None:
            return None
        return self._fake.message(self.original_message_id)

    async def response(self, timeout: float = 5.0) -> InteractionCallback:
        """The first callback the bot sent for this interaction (accepted or not)."""
        await self._fake.wait_until(
            lambda: bool(self.callbacks), timeout=timeout, what=f"callback for {self}"
        )
        return self.callbacks[0]

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[WebhookCall]:
        """Followup posts and ``@original``/followup edits and deletes, once ``count`` have arrived."""

        def enough() -> bool:
            return len([c for c in self.calls if c.kind != "get"]) >= count

        await self._fake.wait_until(enough, timeout=timeout, what=f"{count} webhook call(s) for {self}")
        return [c for c in self.calls if c.kind != "get"]


Handler = Callable[..., Awaitable[web.StreamResponse]]


class FakeDiscord:
    """Discord's REST API under ``/api/v10`` and its gateway on ``/``, on one ephemeral port.

    Attributes tests read:

    * ``requests``: every HTTP request (``RecordedRequest``), in completion order;
      ``unhandled``: the ones no route matched (answered 404).
    * ``channel_messages[channel_id]``: messages in a channel, oldest first (``dict`` payloads),
      including non-ephemeral interaction replies; ``message(id)`` finds any message.
    * ``commands[guild_id or None]``: the synced command payloads; ``command_syncs``: each PUT.
    * ``interactions[id]``: ``InteractionHandle`` for each ``interact()``.
    * ``threads[id]``: threads started from a message (``POST /channels/{c}/messages/{m}/threads``).
    * Messages carry ``mentions`` / ``mention_roles`` / ``mention_everyone`` as Discord computes them from
      the content, ``allowed_mentions``, the roles' ``mentionable`` flag and the bot's MENTION_EVERYONE.
    * ``gateway_connections`` / ``gateway_frames``: the WebSocket side.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        application_id: int = APPLICATION_ID,
        guilds: Sequence[FakeGuild] | None = None,
        bot_username: str = "newsbot-test",
        heartbeat_interval_ms: int = 1000,
        interaction_deadline: float = 3.0,
        app_permissions: int = BOT_PERMISSIONS,
        nonce_window: float = 300.0,
        duplicate_shard_sessions: bool = False,
        team: Sequence[tuple[FakeUser, str]] | None = None,
    ) -> None:
        # Looks like a real token (id.timestamp.hmac) so leak scans test something realistic.
        self.token = token or ".".join(
            ("MTE4MDAwMDAwMDAwMDAwMDAwMQ", secrets.token_urlsafe(4), secrets.token_urlsafe(27))
        )
        self.application_id = application_id
        self.bot_user = FakeUser(application_id, bot_username, bot=True)
        self.owner = FakeUser(OWNER_ID, "owner")
        self.team = tuple(team) if team is not None else None
        """A team-owned application: its members and their roles (``admin``, ``developer``, ``read_only``);
        ``GET /oauth2/applications/@me`` then names the team, and its ``owner`` is the team's pseudo-user."""
        self.guilds: tuple[FakeGuild, ...] = tuple(guilds) if guilds is not None else (default_guild(),)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.app_permissions = app_permissions
        self.nonce_window = nonce_window
        """Seconds a message nonce sent with ``enforce_nonce`` is remembered: a repeat returns the first message
        (Discord: "within the past few minutes")."""
        self.duplicate_shard_sessions = duplicate_shard_sessions
        """Discord lets a second session IDENTIFY with a shard id that is already connected (the zombie process);
        True keeps both, False (the default) closes the older one with 4009."""
        self.nonce_replays = 0
        """How many POSTs were answered with an earlier message because of their nonce."""
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._pauses: list[Pause] = []

        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.channel_messages: dict[int, list[JSON]] = {c.id: [] for g in self.guilds for c in g.channels}
        self.commands: dict[int | None, list[JSON]] = {}
        self.command_syncs: list[CommandSync] = []
        self.interactions: dict[int, InteractionHandle] = {}
        self.gateway_connections: list[GatewayConnection] = []
        self.gateway_frames: list[GatewayFrame] = []
        self.threads: dict[int, JSON] = {}
        """Threads started from messages, by thread id (= the starter message's id)."""
        self.crossposts: list[int] = []
        """Messages published to following servers (``POST /channels/{c}/messages/{m}/crosspost``), in order."""
        self.crosspost_forbidden: set[int] = set()
        """Announcement channels where the bot may not publish: the crosspost endpoint answers 403 (50013)."""

        self._messages: dict[int, StoredMessage] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._faults: list[_Fault] = []
        self._by_token: dict[str, InteractionHandle] = {}
        self._conns: dict[int, _Conn] = {}
        self._session: _Session | None = None
        # Sessions of sharded clients (IDENTIFY with "shard": [i, n], n > 1), by shard id. Each gets only the
        # guilds Discord would route to it: (guild_id >> 22) % n == i.
        self._shard_sessions: dict[int, _Session] = {}
        self._all_shard_sessions: list[_Session] = []
        self._ids = SnowflakeFactory()
        self._changed = asyncio.Event()
        self._gateway_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes: list[tuple[str, re.Pattern[str], bool, Handler]] = self._route_table()
        self.dms = FakeDMs(self._ids, self.bot_user)
        """Direct messages: ``dms.messages[user_id]``, and ``dms.closed`` for members whose DMs are closed."""

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._gateway_or_http)
        app.router.add_get("/resume/", self._gateway_or_http)
        app.router.add_route("*", "/{tail:.*}", self._http)
        # A short shutdown wait: every WebSocket is closed by us first, so nothing should linger.
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        for conn in list(self._conns.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"fake shutting down"), 2.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started; use `async with FakeDiscord() as fake`")
        return self._port

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        # A distinct path, so a test can tell a RESUME went where READY told it to.
        return f"ws://127.0.0.1:{self.port}/resume/"

    @property
    def guild(self) -> FakeGuild:
        return self.guilds[0]

    @property
    def session_id(self) -> str | None:
        return None if self._session is None else self._session.id

    # -- waiting ---------------------------------------------------------------------------

    def _touch(self) -> None:
        self._changed.set()

    async def wait_until(
        self, predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = ""
    ) -> None:
        """Wait until ``predicate()`` holds. It is re-checked after every request and frame, and
        every 20 ms for predicates on state the fake does not see (such as the bot's own)."""

        async def poll() -> None:
            while not predicate():
                # No await between the check and clear(), so no wake-up can be lost.
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.02)

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-5:]]
            message = f"fake Discord: no {what or 'match'} within {timeout}s; last requests {recent}"
            raise TimeoutError(message) from None

    # -- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        count: int = 1,
        *,
        json: JSON | None = None,
        retry_after: float = 0.05,
        global_limit: bool = False,
        via: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests matching ``method`` (or ``*``) and ``path_regex``
        (``re.fullmatch`` on the path below ``/api/v10``) with ``status`` instead of the route.

        429s carry ``retry_after`` in the body and the ``Retry-After``/``X-RateLimit-*``/``Via``
        headers; ``via=False`` imitates a Cloudflare ban, which discord.py does not retry.
        """
        self._faults.append(
            _Fault(
                method=method.upper(),
                pattern=re.compile(path_regex),
                status=status,
                remaining=count,
                body=json,
                headers=dict(headers or {}),
                retry_after=retry_after,
                global_limit=global_limit,
                via=via,
            )
        )

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method in ("*", method) and fault.pattern.fullmatch(path):
                fault.remaining -= 1
                return fault
        return None

    # -- leak scan -------------------------------------------------------------------------

    def token_leaks(self, token: str | None = None) -> list[str]:
        """Where ``token`` (default: the bot token) appeared other than the ``Authorization``
        header or the IDENTIFY/RESUME ``d.token``: URL, query, body or another header of a
        request, or any other frame the client sent on the gateway. (Frames the fake sends are
        not scanned: they echo what the bot posted, which the request scan already covers.)"""
        secret = token or self.token
        found: list[str] = []
        for r in self.requests:
            places = {"path": r.path, "query": jsonlib.dumps(dict(r.query)), "body": r.body}
            places |= {f"header {k}": v for k, v in r.headers.items()}
            found += [f"{r.method} {r.path}: {where}" for where, text in places.items() if secret in text]
        for frame in self.gateway_frames:
            if frame.direction != "recv":
                continue
            payload = dict(frame.payload)
            data = payload.get("d")
            if payload.get("op") in (2, 6) and isinstance(data, dict):
                payload["d"] = {k: v for k, v in data.items() if k != "token"}
            if secret in jsonlib.dumps(payload):
                where = f"op {payload.get('op')} on connection {frame.connection}"
                found.append(f"gateway {where}")
        return found

    # -- messages --------------------------------------------------------------------------

    def message(self, message_id: int) -> JSON | None:
        stored = self._messages.get(message_id)
        return None if stored is None else stored.payload()

    def _channel(self, channel_id: int) -> tuple[FakeGuild, FakeChannel] | None:
        for guild in self.guilds:
            channel = guild.channel(channel_id)
            if channel is not None:
                return guild, channel
        return None

    def _store(self, message: StoredMessage) -> None:
        self._messages[message.id] = message
        if not message.ephemeral:
            self.channel_messages.setdefault(message.channel_id, []).append(message.payload())

    def _refresh(self, message: StoredMessage) -> None:
        # channel_messages holds rendered dicts, so re-render after an edit.
        history = self.channel_messages.get(message.channel_id, [])
        for index, item in enumerate(history):
            if item["id"] == str(message.id):
                history[index] = message.payload()

    def _forget(self, message: StoredMessage) -> None:
        self._messages.pop(message.id, None)
        history = self.channel_messages.get(message.channel_id, [])
        history[:] = [m for m in history if m["id"] != str(message.id)]

    def _new_message(
        self,
        body: Mapping[str, Any],
        *,
        channel_id: int,
        guild_id: int | None,
        files: Sequence[str],
        **extra: Any,
    ) -> StoredMessage:
        message = StoredMessage(
            id=self._ids(), channel_id=channel_id, guild_id=guild_id, author=self.bot_user.payload(), **extra
        )
        message.apply(body)
        message.attachments += self._attachments(message.id, files)
        self._mentions(message, body)
        return message

    def _mentions(self, message: StoredMessage, body: Mapping[str, Any]) -> None:
        # Discord computes who is pinged from the content and allowed_mentions when the message is sent.
        guild = next((g for g in self.guilds if g.id == message.guild_id), None)
        if guild is None:
            return
        roles = {r.id: r for r in guild.roles}
        # The bot's permissions: @everyone plus its managed role.
        perms = 0
        for role_id in (guild.id, BOT_ROLE_ID):
            if role_id in roles:
                perms |= roles[role_id].permissions
        allowed = body.get("allowed_mentions") if "allowed_mentions" in body else None
        users, pinged, everyone = compute_mentions(message.content, allowed, roles, perms)
        message.mention_users, message.mention_roles, message.mention_everyone = users, pinged, everyone

    def _attachments(self, message_id: int, files: Sequence[str]) -> list[JSON]:
        return [
            {
                "id": str(self._ids()),
                "filename": name,
                "size": 0,
                "url": f"http://127.0.0.1:{self.port}/attachments/{message_id}/{name}",
                "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{message_id}/{name}",
            }
            for name in files
        ]

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _route_table(self) -> list[tuple[str, re.Pattern[str], bool, Handler]]:
        app = r"(?P<app>\d+)"
        hook = rf"/webhooks/{app}/(?P<token>[^/]+)"
        hook_message = hook + r"/messages/(?P<message>@original|\d+)"
        channel = r"/channels/(?P<channel>\d+)"
        channel_message = channel + r"/messages/(?P<message>\d+)"
        guild_commands = rf"/applications/{app}/guilds/(?P<guild>\d+)/commands"
        # (method, path regex, needs the bot token, handler)
        table: list[tuple[str, str, bool, Handler]] = [
            ("GET", r"/users/@me", True, self._get_me),
            ("POST", r"/users/@me/channels", True, self._open_dm),
            ("GET", r"/oauth2/applications/@me", True, self._get_application),
            ("GET", r"/gateway", False, self._get_gateway),
            ("GET", r"/gateway/bot", True, self._get_gateway_bot),
            ("PUT", rf"/applications/{app}/commands", True, self._put_commands),
            ("GET", rf"/applications/{app}/commands", True, self._get_commands),
            ("PUT", guild_commands, True, self._put_commands),
            ("GET", guild_commands, True, self._get_commands),
            ("POST", r"/interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback", False, self._callback),
            ("POST", hook, False, self._followup),
            ("GET", hook_message, False, self._webhook_get),
            ("PATCH", hook_message, False, self._webhook_edit),
            ("DELETE", hook_message, False, self._webhook_delete),
            ("GET", channel, True, self._get_channel),
            ("POST", channel + "/messages", True, self._post_message),
            ("GET", channel + "/messages", True, self._list_messages),
            ("GET", channel_message, True, self._get_message),
            ("PATCH", channel_message, True, self._edit_message),
            ("DELETE", channel_message, True, self._delete_message),
            ("POST", channel_message + "/threads", True, self._start_thread),
            ("POST", channel_message + "/crosspost", True, self._crosspost),
        ]
        return [(method, re.compile(pattern), auth, handler) for method, pattern, auth, handler in table]

    async def _read(self, request: web.Request, path: str) -> _Request:
        received_at = asyncio.get_running_loop().time()
        files: list[str] = []
        body_text = ""
        payload: Any = None
        if request.content_type.startswith("multipart/"):
            # discord.py sends files as multipart with the JSON in a payload_json part.
            reader = await request.multipart()
            parts: list[str] = []
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.filename:
                    files.append(part.filename)
                    await part.read()
                    parts.append(f"{part.name}: <file {part.filename}>")
                else:
                    text = await part.text()
                    parts.append(f"{part.name}: {text}")
                    if part.name == "payload_json":
                        payload = jsonlib.loads(text)
            body_text = "\n".join(parts)
        elif request.can_read_body:
            body_text = await request.text()
            if body_text:
                with contextlib.suppress(ValueError):
                    payload = jsonlib.loads(body_text)
        auth = request.headers.get("Authorization")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        return _Request(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=payload,
            body=body_text,
            headers=headers,
            authorized=auth == f"Bot {self.token}",
            auth_present=auth is not None,
            received_at=received_at,
            files=tuple(files),
        )

    async def _http(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.path
        path = raw_path[len(API_PREFIX) :] if raw_path.startswith(API_PREFIX + "/") else raw_path
        req = await self._read(request, path)
        injected = False
        fault = self._take_fault(req.method, path)
        matched = True
        if fault is not None:
            response: web.StreamResponse = fault.response()
            injected = True
        elif not raw_path.startswith(API_PREFIX + "/"):
            response, matched = _not_found(), False
        else:
            response, matched = await self._route(req)
        record = RecordedRequest(
            method=req.method,
            path=path,
            query=req.query,
            json=req.json,
            body=req.body,
            headers=req.headers,
            authorized=req.authorized,
            received_at=req.received_at,
            status=response.status,
            files=req.files,
            injected=injected,
        )
        self.requests.append(record)
        if not matched:
            self.unhandled.append(record)
        self._touch()
        return response

    def pause_next(self, method: str, path_regex: str) -> Pause:
        """Hold the response of the next matching request after its route has run (see :class:`Pause`)."""
        pause = Pause(method.upper(), re.compile(path_regex))
        self._pauses.append(pause)
        return pause

    def release_pauses(self) -> None:
        for pause in self._pauses:
            pause.released.set()

    async def _route(self, req: _Request) -> tuple[web.StreamResponse, bool]:
        outcome = await self._route_once(req)
        pause = next((p for p in self._pauses if not p.taken and p.method == req.method
                      and p.pattern.fullmatch(req.path)), None)
        if pause is not None:
            pause.taken = True
            pause.arrived.set()
            self._touch()
            await pause.released.wait()
        return outcome

    async def _route_once(self, req: _Request) -> tuple[web.StreamResponse, bool]:
        for method, pattern, needs_auth, handler in self._routes:
            match = pattern.fullmatch(req.path)
            if match is None or method != req.method:
                continue
            if (req.auth_present or needs_auth) and not req.authorized:
                return _error(401, "401: Unauthorized"), True
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            return await handler(req, **groups), True
        return _not_found(), False

    # -- REST: identity --------------------------------------------------------------------

    async def _get_me(self, req: _Request) -> web.Response:
        return _json(
            {**self.bot_user.payload(), "verified": True, "flags": 0, "mfa_enabled": False, "locale": "en-US"}
        )

    async def _get_application(self, req: _Request) -> web.Response:
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner.payload() if self.team is None else self._team_user(),
                "team": None if self.team is None else self._team_payload(),
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": self.bot_user.payload(),
                # Must stay null: discord.py warns that interactions will not reach it otherwise.
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
            }
        )

    def _team_payload(self) -> dict[str, Any]:
        # Discord's team object: the owner is one member; membership_state 2 is ACCEPTED.
        assert self.team is not None
        team_id = str(TEAM_ID)
        return {
            "id": team_id, "name": "newsbot team", "icon": None, "owner_user_id": str(self.team[0][0].id),
            "members": [{"membership_state": 2, "team_id": team_id, "user": user.payload(), "role": role,
                         "permissions": ["*"]} for user, role in self.team],
        }

    def _team_user(self) -> dict[str, Any]:
        # A team-owned application's "owner" is a pseudo-user named after the team (flag 1024: TEAM_PSEUDO_USER).
        return {**FakeUser(TEAM_ID, f"team{TEAM_ID}").payload(), "flags": 1024}

    async def _get_gateway(self, req: _Request) -> web.Response:
        return _json({"url": self.gateway_url.rstrip("/")})

    async def _get_gateway_bot(self, req: _Request) -> web.Response:
        return _json(
            {
                "url": self.gateway_url.rstrip("/"),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    # -- REST: application commands --------------------------------------------------------

    def _guild_known(self, guild_id: int) -> bool:
        return any(g.id == guild_id for g in self.guilds)

    async def _put_commands(self, req: _Request, app: str, guild: str | None = None) -> web.Response:
        guild_id = int(guild) if guild is not None else None
        if int(app) != self.application_id or (guild_id is not None and not self._guild_known(guild_id)):
            return _error(403, "Missing Access", 50001)
        body = req.json
        if not isinstance(body, list):
            return _error(400, "Invalid Form Body", 50035)
        errors = command_errors(body)
        if errors:
            self.command_syncs.append(CommandSync(guild_id, tuple(body), req.received_at, 400))
            return _error(400, "Invalid Form Body", 50035, errors=errors)
        stored = [self._echo_command(guild_id, command) for command in body]
        self.commands[guild_id] = stored
        self.command_syncs.append(CommandSync(guild_id, tuple(body), req.received_at, 200))
        return _json(stored)

    def _echo_command(self, guild_id: int | None, command: Mapping[str, Any]) -> JSON:
        kind = int(command.get("type", 1))
        key = (guild_id, kind, str(command["name"]))
        # Discord keeps a command's id across overwrites and bumps its version.
        command_id = self._command_ids.setdefault(key, self._ids())
        echoed: JSON = {
            "default_member_permissions": None,
            "contexts": None,
            "integration_types": [0],
            "nsfw": False,
            "description": "",
            "options": [],
            **command,
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self._ids()),
            "type": kind,
        }
        if guild_id is not None:
            echoed["guild_id"] = str(guild_id)
        return echoed

    async def _get_commands(self, req: _Request, app: str, guild: str | None = None) -> web.Response:
        if int(app) != self.application_id:
            return _error(403, "Missing Access", 50001)
        return _json(self.commands.get(int(guild) if guild is not None else None, []))

    def find_command(self, name: str, guild_id: int | None = None, kind: int = 1) -> JSON | None:
        """The synced command ``name`` of type ``kind`` (1 slash, 2 user, 3 message command): the guild's first
        (when ``guild_id``), then global."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == kind:
                    return command
        return None

    def member_message(self, channel_id: int, content: str, *, author: FakeUser = DEFAULT_USER,
                       embeds: Sequence[JSON] = ()) -> JSON:
        """A message a member wrote in a channel (not the bot): what a message command can be used on. Mentions
        are computed as Discord would for a member's message (nothing suppressed)."""
        found = self._channel(channel_id)
        if found is None:
            raise KeyError(f"no channel {channel_id}")
        guild, chan = found
        message = StoredMessage(id=self._ids(), channel_id=chan.id, guild_id=guild.id, author=author.payload())
        message.apply({"content": content, "embeds": list(embeds)})
        self._mentions(message, {"content": content})
        self._store(message)
        return message.payload()

    # -- REST: channels --------------------------------------------------------------------

    async def _get_channel(self, req: _Request, channel: str) -> web.Response:
        found = self._channel(int(channel))
        if found is None:
            return _error(404, "Unknown Channel", 10003)
        guild, chan = found
        return _json(chan.payload(guild.id))

    async def _open_dm(self, req: _Request) -> web.Response:
        status, payload = self.dms.open(req.json if isinstance(req.json, dict) else {})
        return _json(payload, status)

    async def _post_message(self, req: _Request, channel: str) -> web.Response:
        if self.dms.member_of(int(channel)) is not None:
            status, payload = self.dms.post(int(channel), req.json if isinstance(req.json, dict) else {})
            return _json(payload, status)
        found = self._channel(int(channel))
        if found is None:
            return _error(404, "Unknown Channel", 10003)
        body = req.json if isinstance(req.json, dict) else {}
        errors = _create_errors(body, req.files)
        if errors:
            return _message_error(errors)
        guild, chan = found
        nonce = body.get("nonce")
        now = asyncio.get_running_loop().time()
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get((chan.id, str(nonce)))
            if seen is not None and now - seen[1] <= self.nonce_window and seen[0] in self._messages:
                # Discord's enforce_nonce: the same nonce again returns the message it created, not a second one.
                self.nonce_replays += 1
                return _json(self._messages[seen[0]].payload())
        reference = body.get("message_reference")
        message = self._new_message(
            body,
            channel_id=chan.id,
            guild_id=guild.id,
            files=req.files,
            flags=int(body.get("flags") or 0),
            type=19 if reference else 0,
            message_reference=reference,
        )
        self._store(message)
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(chan.id, str(nonce))] = (message.id, now)
        await self._echo_message_create(message)
        return _json(message.payload())

    async def _echo_message_create(self, message: StoredMessage) -> None:
        # Discord sends the bot its own messages too when it asked for GUILD_MESSAGES.
        conn = self._session.conn if self._session is not None else None
        if conn is not None and (conn.info.intents or 0) & GUILD_MESSAGES_INTENT:
            # Guild MESSAGE_CREATE carries a partial member: the member object without "user".
            member = member_payload(self.bot_user, roles=[BOT_ROLE_ID])
            del member["user"]
            await self.dispatch("MESSAGE_CREATE", {**message.payload(), "member": member})

    async def _list_messages(self, req: _Request, channel: str) -> web.Response:
        if self.dms.member_of(int(channel)) is not None:
            return _json(self.dms.history(int(channel), max(1, min(100, int(req.query.get("limit", "50"))))))
        if self._channel(int(channel)) is None:
            return _error(404, "Unknown Channel", 10003)
        limit = max(1, min(100, int(req.query.get("limit", "50"))))
        newest_first = list(reversed(self.channel_messages.get(int(channel), [])))
        if "before" in req.query:
            newest_first = [m for m in newest_first if int(m["id"]) < int(req.query["before"])]
        if "after" in req.query:
            newest_first = [m for m in newest_first if int(m["id"]) > int(req.query["after"])]
        return _json(newest_first[:limit])

    def _channel_message(self, channel: str, message: str) -> StoredMessage | None:
        stored = self._messages.get(int(message))
        return stored if stored is not None and stored.channel_id == int(channel) else None

    async def _get_message(self, req: _Request, channel: str, message: str) -> web.Response:
        stored = self._channel_message(channel, message)
        if stored is None:
            return _error(404, "Unknown Message", 10008)
        return _json(stored.payload())

    async def _edit_message(self, req: _Request, channel: str, message: str) -> web.Response:
        stored = self._channel_message(channel, message)
        if stored is None:
            return _error(404, "Unknown Message", 10008)
        body = req.json if isinstance(req.json, dict) else {}
        errors = message_errors(body, create=False)
        if errors:
            return _message_error(errors)
        self._edit(stored, body, req.files)
        return _json(stored.payload())

    def _edit(self, stored: StoredMessage, body: Mapping[str, Any], files: Sequence[str]) -> None:
        stored.apply(body)
        if "content" in body or "allowed_mentions" in body:
            self._mentions(stored, body)
        stored.attachments += self._attachments(stored.id, files)
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS can change on edit; ephemeral/loading stay as they were.
            fixed = EPHEMERAL | LOADING
            stored.flags = (stored.flags & fixed) | (int(body["flags"]) & ~fixed)
        stored.edited_ms = int(time.time() * 1000)
        self._refresh(stored)

    async def _start_thread(self, req: _Request, channel: str, message: str) -> web.Response:
        """Start a public thread from a message: the thread's id is the message's id, as on Discord."""
        found = self._channel(int(channel))
        if found is None:
            return _error(404, "Unknown Channel", 10003)
        stored = self._channel_message(channel, message)
        if stored is None:
            return _error(404, "Unknown Message", 10008)
        body = req.json if isinstance(req.json, dict) else {}
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return _error(400, "Invalid Form Body", 50035, errors={"name": "must be between 1 and 100 in length"})
        duration = int(body.get("auto_archive_duration") or 4320)
        if duration not in (60, 1440, 4320, 10080):
            return _error(400, "Invalid Form Body", 50035, errors={"auto_archive_duration": "invalid"})
        if stored.id in self.threads:
            return _error(400, "A thread has already been created for this message", 160004)
        guild, chan = found
        thread: JSON = {
            "id": str(stored.id), "type": 11, "guild_id": str(guild.id), "parent_id": str(chan.id),
            "owner_id": str(self.bot_user.id), "name": name, "last_message_id": None, "message_count": 0,
            "member_count": 1, "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0), "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": duration, "locked": False,
                                "archive_timestamp": iso_timestamp(int(time.time() * 1000))},
        }
        self.threads[stored.id] = thread
        stored.thread = thread
        self._refresh(stored)
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread, status=201)

    async def _crosspost(self, req: _Request, channel: str, message: str) -> web.Response:
        """Publish a message of an announcement channel (type 5) to the servers that follow it, as Discord does:
        once (40033 after), only there (50024 elsewhere), and 403 (50013) where the bot lacks the permission."""
        found = self._channel(int(channel))
        if found is None:
            return _error(404, "Unknown Channel", 10003)
        stored = self._channel_message(channel, message)
        if stored is None:
            return _error(404, "Unknown Message", 10008)
        if found[1].type != ANNOUNCEMENT_CHANNEL:
            return _error(400, "Cannot execute action on this channel type", 50024)
        if found[1].id in self.crosspost_forbidden:
            return _error(403, "Missing Permissions", 50013)
        if stored.flags & CROSSPOSTED:
            return _error(400, "This message has already been crossposted.", 40033)
        stored.flags |= CROSSPOSTED
        self.crossposts.append(stored.id)
        self._refresh(stored)
        return _json(stored.payload())

    async def _delete_message(self, req: _Request, channel: str, message: str) -> web.Response:
        stored = self._channel_message(channel, message)
        if stored is None:
            return _error(404, "Unknown Message", 10008)
        self._forget(stored)
        return web.Response(status=204)

    # -- REST: interactions ----------------------------------------------------------------

    async def _callback(self, req: _Request, interaction: str, token: str) -> web.Response:
        handle = self.interactions.get(int(interaction))
        if handle is None or handle.token != token:
            return _error(404, "Unknown interaction", 10062)
        body = req.json if isinstance(req.json, dict) else {}
        kind = int(body.get("type", 0))
        data = body.get("data")
        elapsed = req.received_at - handle.dispatched_at
        response: web.Response
        if any(c.accepted for c in handle.callbacks):
            response = _error(400, "Interaction has already been acknowledged.", 40060)
        elif elapsed > self.interaction_deadline:
            response = _error(404, "Unknown interaction", 10062)
        else:
            response = self._respond(handle, kind, data if isinstance(data, dict) else {}, req.files)
        handle.callbacks.append(
            InteractionCallback(
                type=kind,
                data=data,
                received_at=req.received_at,
                elapsed=elapsed,
                status=response.status,
                accepted=response.status == 200,
            )
        )
        return response

    def _respond(
        self, handle: InteractionHandle, kind: int, data: JSON, files: Sequence[str]
    ) -> web.Response:
        info: JSON = {"id": str(handle.id), "type": handle.type}
        resource: JSON = {"type": kind}
        if kind == 4:
            errors = _create_errors(data, files)
            if errors:
                return _message_error(errors)
            flags = int(data.get("flags") or 0) & EPHEMERAL
            message = self._interaction_message(handle, data, files, flags=flags)
            handle.original_message_id = message.id
            resource["message"] = message.payload()
            info |= {"response_message_id": str(message.id), "response_message_loading": False}
            info["response_message_ephemeral"] = message.ephemeral
        elif kind == 5:
            # The "is thinking" placeholder; it becomes the real answer on edit or first followup.
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = self._interaction_message(handle, {}, (), flags=flags)
            handle.original_message_id = message.id
            handle.deferred = handle.first_followup_pending = True
            info |= {"response_message_id": str(message.id), "response_message_loading": True}
            info["response_message_ephemeral"] = message.ephemeral
        elif kind in (6, 7):
            if handle.type != 3 or handle.original_message_id is None:
                return _error(400, "Invalid interaction response type for this interaction", 50035)
            stored = self._messages.get(handle.original_message_id)
            if stored is None:
                return _error(404, "Unknown Message", 10008)
            if kind == 7:
                errors = message_errors(data, create=False)
                if errors:
                    return _message_error(errors)
                self._edit(stored, data, files)
                resource["message"] = stored.payload()
            info["response_message_id"] = str(stored.id)
        elif kind == 8:
            if handle.type != 4:
                return _error(400, "Autocomplete results only answer autocomplete interactions", 50035)
            if len(data.get("choices") or []) > MAX_CHOICES:
                return _error(400, "Invalid Form Body", 50035)
        elif kind not in (1, 9):
            return _error(400, "Invalid Form Body", 50035)
        return _json({"interaction": info, "resource": resource})

    def _interaction_message(
        self, handle: InteractionHandle, data: Mapping[str, Any], files: Sequence[str], *, flags: int
    ) -> StoredMessage:
        message = self._new_message(
            data,
            channel_id=handle.channel_id,
            guild_id=handle.guild_id,
            files=files,
            flags=flags,
            type=20,  # CHAT_INPUT_COMMAND
            webhook_id=self.application_id,
            application_id=self.application_id,
        )
        self._store(message)
        return message

    def _webhook_handle(self, app: str, token: str) -> InteractionHandle | None:
        handle = self._by_token.get(token)
        if handle is None or int(app) != self.application_id or not any(c.accepted for c in handle.callbacks):
            return None
        return handle

    def _record_call(
        self, handle: InteractionHandle, req: _Request, kind: str, message_id: int | None, status: int
    ) -> None:
        handle.calls.append(
            WebhookCall(
                method=req.method,
                kind=kind,
                message_id=message_id,
                data=req.json,
                received_at=req.received_at,
                elapsed=req.received_at - handle.dispatched_at,
                status=status,
            )
        )

    async def _followup(self, req: _Request, app: str, token: str) -> web.StreamResponse:
        handle = self._webhook_handle(app, token)
        if handle is None:
            return _error(404, "Unknown Webhook", 10015)
        body = req.json if isinstance(req.json, dict) else {}
        errors = _create_errors(body, req.files)
        if errors:
            response = _message_error(errors)
            self._record_call(handle, req, "followup", None, response.status)
            return response
        placeholder = self._messages.get(handle.original_message_id or 0)
        if handle.first_followup_pending and placeholder is not None:
            # After a defer the first followup fills in the "thinking" message, keeping the
            # defer's ephemeral state (so its own ephemeral flag is ignored).
            handle.first_followup_pending = False
            placeholder.flags &= ~LOADING
            self._edit(placeholder, body, req.files)
            placeholder.edited_ms = None
            self._refresh(placeholder)
            message = placeholder
        else:
            handle.first_followup_pending = False
            message = self._interaction_message(
                handle, body, req.files, flags=int(body.get("flags") or 0) & EPHEMERAL
            )
        wait = req.query.get("wait", "false").lower() in ("1", "true")
        response = _json(message.payload()) if wait else web.Response(status=204)
        self._record_call(handle, req, "followup", message.id, response.status)
        return response

    def _webhook_message(self, handle: InteractionHandle, message: str) -> StoredMessage | None:
        message_id = handle.original_message_id if message == "@original" else int(message)
        return None if message_id is None else self._messages.get(message_id)

    async def _webhook_get(self, req: _Request, app: str, token: str, message: str) -> web.Response:
        handle = self._webhook_handle(app, token)
        if handle is None:
            return _error(404, "Unknown Webhook", 10015)
        stored = self._webhook_message(handle, message)
        response = _error(404, "Unknown Message", 10008) if stored is None else _json(stored.payload())
        self._record_call(handle, req, "get", stored.id if stored else None, response.status)
        return response

    async def _webhook_edit(self, req: _Request, app: str, token: str, message: str) -> web.Response:
        handle = self._webhook_handle(app, token)
        if handle is None:
            return _error(404, "Unknown Webhook", 10015)
        stored = self._webhook_message(handle, message)
        body = req.json if isinstance(req.json, dict) else {}
        errors = message_errors(body, create=False)
        if stored is None:
            response = _error(404, "Unknown Message", 10008)
        elif errors:
            response = _message_error(errors)
        else:
            if stored.id == handle.original_message_id:
                handle.first_followup_pending = False
            stored.flags &= ~LOADING
            self._edit(stored, body, req.files)
            response = _json(stored.payload())
        self._record_call(handle, req, "edit", stored.id if stored else None, response.status)
        return response

    async def _webhook_delete(self, req: _Request, app: str, token: str, message: str) -> web.Response:
        handle = self._webhook_handle(app, token)
        if handle is None:
            return _error(404, "Unknown Webhook", 10015)
        stored = self._webhook_message(handle, message)
        if stored is None:
            response = _error(404, "Unknown Message", 10008)
        else:
            self._forget(stored)
            response = web.Response(status=204)
        self._record_call(handle, req, "delete", stored.id if stored else None, response.status)
        return response

    # -- gateway ---------------------------------------------------------------------------

    async def _gateway_or_http(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=5.0)
        if not ws.can_prepare(request).ok:
            return await self._http(request)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        info = GatewayConnection(path=request.path, query=dict(request.query), opened_at=loop.time())
        self.gateway_connections.append(info)
        conn = _Conn(index=len(self.gateway_connections) - 1, ws=ws, request=request, info=info)
        self._conns[conn.index] = conn
        try:
            await self._send(conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_frame(conn, msg.data)
        finally:
            info.closed = True
            info.close_code = ws.close_code
            self._conns.pop(conn.index, None)
            if self._session is not None and self._session.conn is conn:
                self._session.conn = None
            for shard_session in self._all_shard_sessions:
                if shard_session.conn is conn:
                    shard_session.conn = None
            self._touch()
        return ws

    async def _send(self, conn: _Conn, payload: JSON) -> bool:
        frame = {"op": payload["op"], "d": payload.get("d"), "s": payload.get("s"), "t": payload.get("t")}
        try:
            await conn.ws.send_str(jsonlib.dumps(frame))
        except (ConnectionError, RuntimeError):
            return False
        self.gateway_frames.append(GatewayFrame("send", frame, asyncio.get_running_loop().time(), conn.index))
        self._touch()
        return True

    async def _on_frame(self, conn: _Conn, text: str) -> None:
        try:
            payload = jsonlib.loads(text)
        except ValueError:
            await conn.ws.close(code=4002, message=b"Error while decoding payload.")
            return
        now = asyncio.get_running_loop().time()
        self.gateway_frames.append(GatewayFrame("recv", payload, now, conn.index))
        self._touch()
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            conn.info.heartbeats += 1
            await self._send(conn, {"op": 11})
        elif op == 2:
            await self._identify(conn, data if isinstance(data, dict) else {})
        elif op == 6:
            await self._resume(conn, data if isinstance(data, dict) else {})
        elif op in (3, 4, 8):
            if not conn.authenticated:
                await conn.ws.close(code=4003, message=b"Not authenticated.")
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _Conn, data: JSON) -> None:
        if conn.authenticated:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        conn.authenticated = True
        conn.info.identified = True
        conn.info.intents = data.get("intents")
        shard = data.get("shard")
        sharded = isinstance(shard, list) and len(shard) == 2 and int(shard[1]) > 1
        async with self._gateway_lock:
            session = _Session(id=secrets.token_hex(16), conn=conn)
            if sharded:
                session.shard = (int(shard[0]), int(shard[1]))
                old = self._shard_sessions.get(int(shard[0]))
                self._shard_sessions[int(shard[0])] = session
                self._all_shard_sessions.append(session)
                if self.duplicate_shard_sessions:
                    old = None  # both stay connected, as Discord allows
            else:
                old = self._session
                self._session = session
            if old is not None and old.conn is not None and old.conn is not conn:
                await old.conn.ws.close(code=4009, message=b"Session replaced.")
            guilds = [g for g in self.guilds if not sharded or (g.id >> 22) % int(shard[1]) == int(shard[0])]
            ready = {
                "v": 10,
                "user": {**self.bot_user.payload(), "verified": True, "flags": 0, "mfa_enabled": False},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.resume_gateway_url,
                "application": {"id": str(self.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "auth": {},
                "user_settings": {},
                "_trace": ["fake-discord"],
            }
            if isinstance(shard, list) and len(shard) == 2:
                # Discord echoes the IDENTIFY's shard pair, [0, 1] included (AutoShardedBot relies on it).
                ready["shard"] = [int(shard[0]), int(shard[1])]
            await self._dispatch_locked("READY", ready, session)
            bot_member = member_payload(self.bot_user, roles=[BOT_ROLE_ID])
            for guild in guilds:
                await self._dispatch_locked("GUILD_CREATE", guild_create_payload(guild, bot_member), session)

    async def _resume(self, conn: _Conn, data: JSON) -> None:
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        async with self._gateway_lock:
            session = self._session
            for candidate in self._all_shard_sessions:
                if data.get("session_id") == candidate.id:
                    session = candidate
            if session is None or data.get("session_id") != session.id:
                conn.info.resume_rejected = True
                await self._send(conn, {"op": 9, "d": False})
                return
            conn.authenticated = True
            conn.info.resumed = True
            # A RESUME carries no intents; the session keeps those of its IDENTIFY.
            identified = [c for c in self.gateway_connections if c.identified]
            conn.info.intents = identified[-1].intents if identified else None
            session.conn = conn
            last_seen = int(data.get("seq") or 0)
            for seq, event, payload in list(session.events):
                if seq > last_seen and await self._send(conn, {"op": 0, "s": seq, "t": event, "d": payload}):
                    conn.info.replayed.append(seq)
            await self._dispatch_locked("RESUMED", {"_trace": ["fake-discord"]}, session)

    def _session_for(self, guild_id: int) -> _Session | None:
        """The session Discord routes a guild's events to: the unsharded one, or the newest connected session of
        the guild's shard, ``(guild_id >> 22) % shard_count``."""
        if self._session is not None or not self._all_shard_sessions:
            return self._session
        candidates = [s for s in self._all_shard_sessions
                      if s.shard is not None and (guild_id >> 22) % s.shard[1] == s.shard[0]]
        live = [s for s in candidates if s.conn is not None]
        return (live or candidates or [None])[-1]

    def shard_sessions_connected(self, shard_id: int) -> int:
        """How many sessions of ``shard_id`` are connected now (2 with a zombie)."""
        return sum(1 for s in self._all_shard_sessions
                   if s.shard is not None and s.shard[0] == shard_id and s.conn is not None)

    async def _dispatch_locked(self, event: str, data: JSON, session: _Session | None = None) -> int:
        session = session or self._session
        if session is None:
            raise RuntimeError("no gateway session: the client has not IDENTIFYed yet")
        session.seq += 1
        session.events.append((session.seq, event, data))
        conn = session.conn
        frame = {"op": 0, "s": session.seq, "t": event, "d": data}
        if conn is not None and not await self._send(conn, frame):
            # The socket is going away; the event stays buffered for a RESUME.
            session.conn = None
        return session.seq

    async def dispatch(self, event: str, data: JSON) -> int:
        """Send a DISPATCH (op 0) with the next sequence number, or buffer it for a RESUME while
        the client is disconnected. Returns the sequence number."""
        async with self._gateway_lock:
            return await self._dispatch_locked(event, data)

    async def user_message(
        self,
        content: str,
        *,
        user: FakeUser = DEFAULT_USER,
        channel_id: int | None = None,
        mention_bot: bool = False,
    ) -> JSON:
        """A member posts ``content`` in a channel (default: the guild's first): the message is stored and
        MESSAGE_CREATE is dispatched, as Discord does for a bot in the channel (with the message's content
        even without the MESSAGE_CONTENT intent when the bot is mentioned)."""
        guild = self.guild
        channel = guild.channel(channel_id) if channel_id is not None else guild.channels[0]
        if channel is None:
            raise KeyError(f"channel {channel_id} is not in guild {guild.id}")
        message = StoredMessage(id=self._ids(), channel_id=channel.id, guild_id=guild.id, author=user.payload())
        message.apply({"content": content})
        self._store(message)
        payload = message.payload()
        if mention_bot:
            payload["mentions"] = [self.bot_user.payload()]
        member = member_payload(user)
        del member["user"]
        await self.dispatch("MESSAGE_CREATE", {**payload, "member": member})
        return payload

    async def wait_for_session(self, timeout: float = 10.0) -> None:
        """Until a client has IDENTIFYed or RESUMEd and is connected."""
        await self.wait_until(
            lambda: self._session is not None and self._session.conn is not None,
            timeout=timeout,
            what="connected gateway session",
        )

    async def drop_gateway(self, code: int | None = 4000) -> None:
        """Cut the client's gateway connection. ``code`` is sent in a close frame (4000 is
        "unknown error, reconnect"); ``None`` aborts the TCP connection with no close frame, like a
        network failure. Either way the session stays resumable and events sent meanwhile are
        buffered for the RESUME."""
        async with self._gateway_lock:
            conn = self._session.conn if self._session is not None else None
            if self._session is not None:
                self._session.conn = None
        if conn is None:
            raise RuntimeError("no connected gateway session to drop")
        if code is None:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        else:
            await conn.ws.close(code=code, message=b"fake drop")

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9). Not resumable: the session is forgotten, so the client
        must IDENTIFY again (discord.py sleeps 5 s in ``before_identify_hook`` first)."""
        async with self._gateway_lock:
            session = self._session
            conn = session.conn if session is not None else None
            if conn is None:
                raise RuntimeError("no connected gateway session to invalidate")
            await self._send(conn, {"op": 9, "d": resumable})
            if not resumable:
                self._session = None

    async def request_reconnect(self) -> None:
        """Send RECONNECT (op 7): the client closes and RESUMEs."""
        async with self._gateway_lock:
            conn = self._session.conn if self._session is not None else None
            if conn is None:
                raise RuntimeError("no connected gateway session")
            await self._send(conn, {"op": 7, "d": None})

    # -- interactions ----------------------------------------------------------------------

    async def interact(
        self,
        name: str = "",
        options: Mapping[str, object] | None = None,
        *,
        type: int = 2,
        user: FakeUser = DEFAULT_USER,
        permissions: int = MEMBER_PERMISSIONS,
        roles: Sequence[int] = (),
        guild_id: int | None = None,
        channel_id: int | None = None,
        focused: str | None = None,
        custom_id: str | None = None,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        message: int | Mapping[str, Any] | None = None,
        locale: str = "en-US",
        allow_unsynced: bool = False,
        target: int | None = None,
    ) -> InteractionHandle:
        """Dispatch an INTERACTION_CREATE and return its handle.

        * ``type=2`` (slash command) / ``type=4`` (autocomplete): ``name`` is the command path,
          e.g. ``"ask"`` or ``"digest channel set"``; ``options`` the leaf values; ``focused``
          the option being typed (type 4). ``data.id``/``data.guild_id`` come from the synced
          command, so the bot must have synced it (``allow_unsynced`` sends a made-up id).
        * ``type=3`` (component): ``custom_id``, ``component_type`` (2 button, 3 select with
          ``values``) and ``message``: the id of a message the fake holds, or a payload.
        * ``type=2`` with ``target`` (message command): ``name`` is the synced message command's name (e.g.
          ``"Search the archive"``), ``target`` the id of a message the fake holds; Discord sends ``data.type`` 3,
          ``data.target_id`` and the message in ``data.resolved.messages``, with its guild.
        """
        guild = self.guild if guild_id is None else next(g for g in self.guilds if g.id == guild_id)
        channel = guild.channel(channel_id) if channel_id is not None else guild.channels[0]
        if channel is None:
            raise KeyError(f"channel {channel_id} is not in guild {guild.id}")
        payload: JSON = {
            "id": str(self._ids()),
            "application_id": str(self.application_id),
            "type": type,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96),
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
            "guild_locale": guild.preferred_locale,
            "channel_id": str(channel.id),
            "channel": {**channel.payload(guild.id), "permissions": str(permissions)},
            "member": member_payload(user, roles=roles, permissions=permissions),
            "app_permissions": str(self.app_permissions),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,  # GUILD
            # discord.py reads this with [] (interactions.py), so it must be present.
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if type == 2 and target is not None:
            payload["data"] = self._message_command_data(name, target, guild.id)
        elif type in (2, 4):
            payload["data"] = self._command_data(name, options or {}, guild.id, focused, allow_unsynced)
        elif type == 3:
            if custom_id is None or message is None:
                raise ValueError("a component interaction needs custom_id and message")
            data: JSON = {"custom_id": custom_id, "component_type": component_type}
            if values is not None:
                data["values"] = list(values)
            payload["data"] = data
            if isinstance(message, int):
                found = self.message(message)
                if found is None:
                    raise KeyError(f"no message {message}")
                payload["message"] = found
            else:
                payload["message"] = dict(message)
        else:
            raise ValueError(f"interaction type {type} is not supported by the fake")
        async with self._gateway_lock:
            session = self._session_for(guild.id)
            if session is None:
                raise RuntimeError("no gateway session: wait for the bot to be ready first")
            handle = InteractionHandle(self, payload, dispatched_at=0.0)
            self.interactions[handle.id] = handle
            self._by_token[handle.token] = handle
            await self._dispatch_locked("INTERACTION_CREATE", payload, session)
            # Measured from the frame leaving (or being buffered), as Discord's 3 s clock runs.
            handle.dispatched_at = asyncio.get_running_loop().time()
        return handle

    def _command_data(
        self,
        name: str,
        options: Mapping[str, object],
        guild_id: int,
        focused: str | None,
        allow_unsynced: bool,
    ) -> JSON:
        root, *path = name.split()
        command = self.find_command(root, guild_id)
        if command is None and not allow_unsynced:
            raise KeyError(f"/{root} was never synced (synced: {self._synced_names()})")
        schema = command.get("options") if command else None
        data: JSON = {
            "id": command["id"] if command else str(self._ids()),
            "name": root,
            "type": 1,
            "options": interaction_options(path, options, schema, focused=focused),
        }
        if command is not None and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        channels = self._resolved_channels(data["options"], guild_id)
        roles = self._resolved_roles(data["options"], guild_id)
        if channels or roles:
            # Discord resolves snowflake options; discord.py then uses its cached channel for the id, and builds
            # the Role from the resolved data.
            data["resolved"] = {k: v for k, v in (("channels", channels), ("roles", roles)) if v}
        return data

    def _message_command_data(self, name: str, target: int, guild_id: int) -> JSON:
        command = self.find_command(name, guild_id, kind=3)
        if command is None:
            raise KeyError(f"message command {name!r} was never synced (synced: {self._synced_names()})")
        found = self.message(target)
        if found is None:
            raise KeyError(f"no message {target}")
        data: JSON = {"id": command["id"], "name": name, "type": 3, "target_id": str(target),
                      "resolved": {"messages": {str(target): {**found, "guild_id": str(guild_id)}}}}
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return data

    def _resolved_channels(self, options: Sequence[JSON], guild_id: int) -> JSON:
        found: JSON = {}
        guild = next(g for g in self.guilds if g.id == guild_id)
        for option in options:
            if option.get("type") == 7:
                channel = guild.channel(int(str(option["value"])))
                if channel is not None:
                    found[str(channel.id)] = {**channel.payload(guild_id), "permissions": str(MEMBER_PERMISSIONS)}
            found |= self._resolved_channels(option.get("options") or [], guild_id)
        return found

    def _resolved_roles(self, options: Sequence[JSON], guild_id: int) -> JSON:
        found: JSON = {}
        guild = next(g for g in self.guilds if g.id == guild_id)
        for option in options:
            if option.get("type") == 8:
                role = next((r for r in guild.roles if r.id == int(str(option["value"]))), None)
                if role is not None:
                    found[str(role.id)] = role.payload()
            found |= self._resolved_roles(option.get("options") or [], guild_id)
        return found

    def _synced_names(self) -> dict[str, list[str]]:
        return {str(scope): [c["name"] for c in cmds] for scope, cmds in self.commands.items()}


def _create_errors(body: Mapping[str, Any], files: Sequence[str]) -> list[str]:
    # Uploaded files count as content, so a files-only message is not "empty".
    errors = message_errors({**body, "attachments": list(files) or body.get("attachments")}, create=True)
    return errors + allowed_mentions_errors(body.get("allowed_mentions"))


def _message_error(errors: Sequence[str]) -> web.Response:
    if errors == ["empty message"]:
        return _error(400, "Cannot send an empty message", 50006)
    return _error(400, "Invalid Form Body", 50035, errors={"_fake": errors})
