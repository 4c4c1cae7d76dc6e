"""Direct messages in the fake Discord: ``POST /users/@me/channels`` opens (or returns) a member's DM channel,
and messages created there are recorded per member. A member listed in ``closed`` answers every message with
Discord's 403 ``50007 Cannot send messages to this user`` (closed DMs, a block, or no server in common)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .payloads import JSON, FakeUser, StoredMessage

CANNOT_DM = 50007


class FakeDMs:
    """The DM side of :class:`FakeDiscord` (``fake.dms``). Tests read :attr:`messages` and set :attr:`closed`."""

    def __init__(self, new_id: Callable[[], int], bot_user: FakeUser) -> None:
        self._new_id = new_id
        self._bot = bot_user
        self.channels: dict[int, int] = {}
        """Member id -> their DM channel id, once opened."""
        self.closed: set[int] = set()
        """Members whose DMs are closed to the bot: creating a message for them is refused with 50007."""
        self.messages: dict[int, list[JSON]] = {}
        """Member id -> the messages the bot sent them, oldest first (payloads as Discord returns them)."""
        self.refused: dict[int, int] = {}
        """Member id -> how many messages were refused with 50007."""
        self._stored: dict[int, StoredMessage] = {}

    def member_of(self, channel_id: int) -> int | None:
        return next((uid for uid, cid in self.channels.items() if cid == channel_id), None)

    def open(self, body: Mapping[str, Any]) -> tuple[int, JSON]:
        """``POST /users/@me/channels``: (status, the DM channel)."""
        try:
            uid = int(body.get("recipient_id") or 0)
        except (TypeError, ValueError):
            uid = 0
        if uid <= 0:
            return 400, {"code": 50035, "message": "Invalid Form Body"}
        cid = self.channels.setdefault(uid, self._new_id())
        # Opening the channel works even when messages are refused, as on Discord.
        return 200, {"id": str(cid), "type": 1, "last_message_id": None,
                     "recipients": [FakeUser(uid, f"member{uid}").payload()]}

    def post(self, channel_id: int, body: Mapping[str, Any]) -> tuple[int, JSON]:
        """A message created in a DM channel: (status, the message or Discord's error)."""
        uid = self.member_of(channel_id)
        assert uid is not None
        if uid in self.closed:
            self.refused[uid] = self.refused.get(uid, 0) + 1
            return 403, {"code": CANNOT_DM, "message": "Cannot send messages to this user"}
        message = StoredMessage(id=self._new_id(), channel_id=channel_id, guild_id=None, author=self._bot.payload())
        message.apply(body)
        self._stored[message.id] = message
        payload = message.payload()
        payload["allowed_mentions"] = body.get("allowed_mentions")  # what the bot asked for, for tests to check
        self.messages.setdefault(uid, []).append(payload)
        return 200, message.payload()

    def history(self, channel_id: int, limit: int) -> list[JSON]:
        uid = self.member_of(channel_id)
        return [m for m in reversed(self.messages.get(uid or 0, []))][:limit]
