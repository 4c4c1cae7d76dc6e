"""A fake Discord (REST + gateway) for driving the real discord.py client in tests.

Import it as ``fake_discord`` (``tests/support/`` is on ``sys.path``: ``pythonpath`` in pyproject.toml)::

    async with FakeDiscord() as fake:
        with point_discord_py_at(fake):
            async with running(MyBot(), fake.token) as bot:
                handle = await fake.interact("ask", {"question": "issue 12?"})
                callback = await handle.response()
"""

from .dpy import point_discord_py_at, running
from .payloads import FakeChannel, FakeGuild, FakeOverwrite, FakeRole, FakeUser
from .records import (
    CommandSync,
    GatewayConnection,
    GatewayFrame,
    InteractionCallback,
    RecordedRequest,
    WebhookCall,
)
from .server import (
    APPLICATION_ID,
    DEFAULT_USER,
    DIGEST_CHANNEL_ID,
    DIGEST_ROLE_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MODS_ROLE_ID,
    FakeDiscord,
    InteractionHandle,
)

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_USER",
    "DIGEST_CHANNEL_ID",
    "DIGEST_ROLE_ID",
    "GENERAL_CHANNEL_ID",
    "GUILD_ID",
    "MODS_ROLE_ID",
    "CommandSync",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeOverwrite",
    "FakeRole",
    "FakeUser",
    "GatewayConnection",
    "GatewayFrame",
    "InteractionCallback",
    "InteractionHandle",
    "RecordedRequest",
    "WebhookCall",
    "point_discord_py_at",
    "running",
]
