"""/ask's filters and "Search the archive" on a message: the real discord.py client against the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from botkit import FastReconnectClient, bot_running, guild_config
from fake_discord import FakeDiscord

from bot.config import Config

INTERACTION_DEADLINE = 3.0


@pytest.fixture
async def client(fake: FakeDiscord, sample_config: Config) -> AsyncIterator[FastReconnectClient]:
    async with bot_running(fake, guild_config(sample_config)) as ready:
        yield ready


def _text(message: dict[str, Any]) -> str:
    return "\n".join(f"{e.get('title', '')}\n{e.get('description', '')}" for e in message.get("embeds", []))


async def test_ask_syncs_its_filters_with_autocomplete(fake: FakeDiscord, client: FastReconnectClient) -> None:
    [ask] = [c for c in fake.commands[fake.guild.id] if c["name"] == "ask"]
    options = {o["name"]: o for o in ask["options"]}
    for name in ("since", "until", "section"):
        assert options[name]["type"] == 3
        assert options[name]["required"] is False
        assert options[name]["autocomplete"] is True
        assert 0 < len(options[name]["description"]) <= 100


async def test_section_autocomplete_offers_the_archives_sections(fake: FakeDiscord,
                                                                 client: FastReconnectClient) -> None:
    handle = await fake.interact("ask", {"question": "x", "section": "论"}, type=4, focused="section")
    callback = await handle.response()
    assert (callback.type, callback.status) == (8, 200)
    assert callback.data["choices"] == [{"name": "论文 / Papers / papers", "value": "papers"}]
    everything = await fake.interact("ask", {"question": "x", "section": ""}, type=4, focused="section")
    values = {c["value"] for c in (await everything.response()).data["choices"]}
    assert values == {"features", "use_cases", "papers", "articles", "other"}
    since = await fake.interact("ask", {"question": "x", "since": "31"}, type=4, focused="since")
    assert (await since.response()).data["choices"][0]["name"].startswith("#31")


async def test_a_filtered_ask_answers_from_further_down(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("ask", {"question": "transformer", "count": 2, "since": "2021-06-01",
                                         "section": "论文"})
    callback = await handle.response()
    assert callback.type == 5
    assert callback.elapsed < INTERACTION_DEADLINE
    [answer] = await handle.followups(1)
    text = _text(answer.data)
    assert "Filtered: since 2021-06-01, in section papers." in text
    assert "#31" in text or "#19" in text
    assert "2020" not in text.split("Filtered:")[1]  # no hit from before the bound
    assert answer.data["allowed_mentions"] == {"parse": []}


async def test_an_emptied_answer_names_its_filter(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("ask", {"question": "矩阵乘法", "since": "2021-10-01"})
    await handle.response()
    [answer] = await handle.followups(1)
    description = answer.data["embeds"][0]["description"]
    assert description.startswith("No match since 2021-10-01; ")
    assert description.endswith(" matches without that filter.")


@pytest.mark.parametrize(("options", "expected"), [
    ({"since": "2021-02-30"}, "“2021-02-30” is not a date: day is out of range for month."),
    ({"until": "@everyone **x**"}, "until takes a date (2021-03-01) or an issue: No issue called "
                                   "“@\u200beveryone \\*\\*x\\*\\*”."),
    ({"section": "<@&42> nope"}, "No section called “<@\u200b&42> nope”. Sections of this archive: "),
])
async def test_a_bad_filter_is_one_private_line_that_pings_no_one(fake: FakeDiscord, client: FastReconnectClient,
                                                                  options: dict[str, str], expected: str) -> None:
    handle = await fake.interact("ask", {"question": "transformer", **options})
    callback = await handle.response()
    assert callback.type == 4  # answered at once, before any public "thinking…"
    assert callback.data["flags"] & 64
    assert callback.data["content"].startswith(expected)
    assert callback.data["allowed_mentions"] == {"parse": []}
