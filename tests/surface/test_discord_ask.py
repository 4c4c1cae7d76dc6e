"""/ask's filters and "Search the archive" on a message: the real discord.py client against the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from botkit import FastReconnectClient, bot_running, guild_config
from fake_discord import FakeDiscord, FakeUser

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


# -- "Search the archive" on a message ------------------------------------------------------------------

MENU = "Search the archive"


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("components", []) for b in row["components"]]


async def test_the_message_command_is_synced_as_type_3(fake: FakeDiscord, client: FastReconnectClient) -> None:
    [menu] = [c for c in fake.commands[fake.guild.id] if c["name"] == MENU]
    assert menu["type"] == 3
    assert not menu.get("description")
    assert not menu.get("options")
    assert not [c for c in fake.command_syncs if c.status != 200]


async def test_search_from_a_message_answers_the_invoker_alone_with_link_buttons(
        fake: FakeDiscord, client: FastReconnectClient) -> None:
    channel = fake.guild.channels[0].id
    posted = fake.member_message(channel, "<@42> @everyone did anyone read about **不用乘法的矩阵乘积**? <:pog:1>",
                                 author=FakeUser(5151, "poster"))
    before = len(fake.channel_messages[channel])
    handle = await fake.interact(MENU, target=int(posted["id"]), user=FakeUser(6161, "reader"))
    callback = await handle.response()
    assert callback.type == 5
    assert callback.data["flags"] & 64  # ephemeral from the start: no public "thinking…"
    assert callback.elapsed < INTERACTION_DEADLINE
    [answer] = await handle.followups(1)
    assert answer.status == 200
    assert answer.data["flags"] & 64
    assert answer.data["allowed_mentions"] == {"parse": []}
    embed = answer.data["embeds"][0]
    assert embed["title"] == "“did anyone read about 不用乘法的矩阵乘积?”"  # the text, without mentions or marks
    assert "@everyone" not in _text(answer.data)
    assert len(fake.channel_messages[channel]) == before  # nothing public was posted
    buttons = _buttons(answer.data)
    assert buttons[0] == {"type": 2, "style": 5, "label": "1. 不用乘法的矩阵乘积：用哈希和查找表代替乘加运算",
                          "url": "https://arxiv.org/abs/2106.10860", "disabled": False}
    assert buttons[1]["label"] == "1. Issue #31"
    assert buttons[1]["url"].startswith("https://")
    assert all(b["style"] == 5 and "custom_id" not in b for b in buttons)
    assert len(answer.data["components"]) <= 4


async def test_a_message_without_words_is_one_private_line(fake: FakeDiscord, client: FastReconnectClient) -> None:
    posted = fake.member_message(fake.guild.channels[0].id, "<@42> <#7> <:pog:1>")
    handle = await fake.interact(MENU, target=int(posted["id"]))
    await handle.response()
    [answer] = await handle.followups(1)
    assert answer.data["content"] == "That message has no words to search with."
    assert answer.data["flags"] & 64
    assert not answer.data.get("components")


async def test_a_bots_message_is_searched_by_its_embeds(fake: FakeDiscord, client: FastReconnectClient) -> None:
    posted = fake.member_message(fake.guild.channels[0].id, "", embeds=[{"title": "LoRA 低秩 微调"}],
                                 author=FakeUser(7171, "another-bot", bot=True))
    handle = await fake.interact(MENU, target=int(posted["id"]))
    await handle.response()
    [answer] = await handle.followups(1)
    assert answer.data["embeds"][0]["title"] == "“LoRA 低秩 微调”"
    assert "https://arxiv.org/abs/2106.09685" in [b["url"] for b in _buttons(answer.data)]
