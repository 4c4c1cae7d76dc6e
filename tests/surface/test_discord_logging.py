"""What the operator's log says about things no one can fix: expired interactions, text in channels.

Nothing here may be logged at ERROR: an ERROR line is a page to someone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from botkit import FastReconnectClient, bot_running, guild_config
from fake_discord import GENERAL_CHANNEL_ID, FakeDiscord

from bot.config import Config


@pytest.fixture
async def client(fake: FakeDiscord, sample_config: Config) -> AsyncIterator[FastReconnectClient]:
    async with bot_running(fake, guild_config(sample_config)) as ready:
        yield ready


def errors_in(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]


async def test_interactions_that_expired_during_a_reconnect_are_logged_at_info(
        fake: FakeDiscord, client: FastReconnectClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # A paginated answer while all is well, so there is a button to press later.
    asked = await fake.interact("ask", {"question": "变压器 模型 论文", "count": 10})
    await asked.response()
    await asked.followups(1)
    message = fake.channel_messages[GENERAL_CHANNEL_ID][-1]
    next_button = message["components"][0]["components"][2]["custom_id"]

    # The gateway drops; what members do meanwhile reaches the bot only on RESUME, too late to answer.
    fake.interaction_deadline = 0.0
    await fake.drop_gateway(4000)
    late = [
        await fake.interact("ask", {"question": "CutMix"}),
        await fake.interact("issue", {"issue": "31"}, type=4, focused="issue"),
        await fake.interact(type=3, custom_id=next_button, message=int(message["id"])),
    ]
    await fake.wait_for_session()
    for handle in late:
        callback = await handle.response()
        assert (callback.status, callback.accepted) == (404, False)  # 10062 Unknown interaction

    def logged_all() -> bool:
        return len([r for r in caplog.records if "expired" in r.getMessage()]) >= len(late)

    await fake.wait_until(logged_all, timeout=5, what="three 'expired' log lines")
    expired = [r for r in caplog.records if "expired" in r.getMessage()]
    assert {r.levelno for r in expired} == {logging.INFO}
    assert all(r.exc_info is None for r in expired)  # one line each, no traceback
    assert errors_in(caplog.records) == []


async def test_a_text_command_in_a_channel_logs_no_error(fake: FakeDiscord, client: FastReconnectClient,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mention = f"<@{fake.bot_user.id}>"
    last = asyncio.ensure_future(client.wait_for("message", check=lambda m: m.content == f"{mention} last"))
    for text in ("help", "ask ViT 鲁棒性", "stats", "last"):
        await fake.user_message(f"{mention} {text}", mention_bot=True)
    await asyncio.wait_for(last, 5)
    # One more round trip through the bot, so the handlers of the messages above have run.
    handle = await fake.interact("help")
    await handle.response()
    assert errors_in(caplog.records) == []
    assert not [r for r in caplog.records if "CommandNotFound" in r.getMessage() or (
        r.exc_info and "CommandNotFound" in repr(r.exc_info[1]))]
