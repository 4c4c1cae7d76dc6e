"""What reaches whom: errors go to the asker alone, and anything a member typed is shown literally and clipped.

Through the real discord.py client against the fake Discord, which stores ephemeral messages apart from the
channel (``fake.channel_messages`` holds only what everyone sees) and answers 400 past 2000 characters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from botkit import FastReconnectClient, bot_running, guild_config, live_markdown, mentions_in
from fake_discord import GENERAL_CHANNEL_ID, FakeDiscord, InteractionHandle
from fake_discord.payloads import EPHEMERAL, MEMBER_PERMISSIONS

from bot.config import Config
from retrieval.errors import QueryError

PHISHING = "[Free Nitro, click here](https://evil.example)"
MANAGE_GUILD = 1 << 5


@pytest.fixture
async def client(fake: FakeDiscord, sample_config: Config) -> AsyncIterator[FastReconnectClient]:
    async with bot_running(fake, guild_config(sample_config)) as ready:
        yield ready


def public_ids(fake: FakeDiscord) -> set[str]:
    return {m["id"] for m in fake.channel_messages[GENERAL_CHANNEL_ID]}


async def private_reply(fake: FakeDiscord, handle: InteractionHandle) -> str:
    """The one reply the asker got, checked to be ephemeral (and to have been accepted by Discord)."""
    callback = await handle.response()
    if callback.type == 4:
        assert callback.status == 200, callback
        assert callback.data["flags"] & EPHEMERAL
        return str(callback.data["content"])
    [*_, followup] = await handle.followups(1)
    assert followup.status == 200, followup
    assert followup.message_id is not None
    stored = fake.message(followup.message_id)
    assert stored is not None
    assert stored["flags"] & EPHEMERAL, stored
    return str(followup.data["content"])


def assert_literal(text: str) -> None:
    assert not live_markdown(text), f"live markdown {live_markdown(text)} in {text!r}"
    assert not mentions_in(text), text


async def test_unknown_issue_in_ask_is_answered_to_the_asker_alone(fake: FakeDiscord,
                                                                    client: FastReconnectClient) -> None:
    before = public_ids(fake)
    handle = await fake.interact("ask", {"question": "CutMix", "issue": PHISHING})
    text = await private_reply(fake, handle)
    assert "Free Nitro, click here" in text  # shown, as typed ...
    assert_literal(text)  # ... but not as a link
    assert public_ids(fake) == before  # no "thinking…" or error message in the channel
    assert not [c for c in handle.calls if c.kind == "followup"]  # answered before any public defer


@pytest.mark.parametrize(("name", "options"), [
    ("ask", {"question": "CutMix", "issue": "x" * 2000}),
    ("ask", {"question": "CutMix", "issue": ("*" + PHISHING + "\n") * 60}),
    ("issue", {"issue": "第 99 期 **" * 250}),
    ("features", {"issue": "@everyone " + "y" * 1990}),
])
async def test_a_huge_option_still_gets_a_short_private_answer(fake: FakeDiscord, client: FastReconnectClient,
                                                               name: str, options: dict[str, Any]) -> None:
    # Discord enforces max_length in its own client; a forged or stale one may send anything.
    before = public_ids(fake)
    text = await private_reply(fake, await fake.interact(name, options))
    assert 0 < len(text) <= 2000
    assert_literal(text)
    assert public_ids(fake) == before


async def test_an_error_after_the_public_defer_takes_the_placeholder_back(
        fake: FakeDiscord, client: FastReconnectClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing(*args: object, **kwargs: object) -> None:
        raise QueryError(f"**Cannot** answer {PHISHING} @everyone")

    monkeypatch.setattr(client.newsbot, "ask", failing)
    before = public_ids(fake)
    handle = await fake.interact("ask", {"question": "CutMix"})
    deferred = await handle.response()
    assert deferred.type == 5
    assert not (deferred.data or {}).get("flags", 0) & EPHEMERAL
    calls = await handle.followups(2)
    assert [c.kind for c in calls] == ["delete", "followup"]
    assert calls[0].status == 204
    assert handle.original_message_id is not None
    assert fake.message(handle.original_message_id) is None
    text = await private_reply(fake, handle)
    assert "Cannot" in text
    assert_literal(text)
    assert public_ids(fake) == before


async def test_a_hostile_time_zone_is_refused_literally(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("newsbot digest-schedule", {"weekday": 0, "time": "09:00", "timezone": PHISHING},
                                 permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    text = await private_reply(fake, handle)
    assert "Free Nitro" in text
    assert_literal(text)


def _string_options(node: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for option in node.get("options") or []:
        where = f"{path} {option['name']}"
        if option["type"] in (1, 2):
            found += _string_options(option, where)
        elif option["type"] == 3:
            found.append((where, option))
    return found


async def test_every_string_option_has_a_max_length(fake: FakeDiscord, client: FastReconnectClient) -> None:
    options = [o for scope in fake.commands.values() for c in scope for o in _string_options(c, "/" + c["name"])]
    assert {where for where, _ in options} >= {"/ask question", "/ask issue", "/issue issue"}
    missing = [where for where, o in options if not o.get("choices") and not o.get("max_length")]
    assert not missing
    assert all(int(o["max_length"]) <= 1000 for _, o in options if "max_length" in o)


async def test_autocomplete_of_a_hostile_issue_text_stays_valid(fake: FakeDiscord,
                                                              client: FastReconnectClient) -> None:
    for current in (PHISHING, "x" * 2000, "@everyone 第 3"):
        handle = await fake.interact("issue", {"issue": current}, type=4, focused="issue")
        callback = await handle.response()
        assert (callback.type, callback.status) == (8, 200)
        for choice in callback.data["choices"]:
            assert 1 <= len(choice["name"]) <= 100
            assert 1 <= len(choice["value"]) <= 100
            assert current not in choice["name"]
