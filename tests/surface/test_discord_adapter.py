"""The real newsbot Discord client, with the real discord.py, against the fake Discord on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from botkit import FastReconnectClient, bot_running, guild_config
from fake_discord import GENERAL_CHANNEL_ID, GUILD_ID, FakeDiscord, FakeUser
from fake_discord.payloads import MEMBER_PERMISSIONS

from bot.config import Config
from bot.discord_adapter import embeds

INTERACTION_DEADLINE = 3.0  # Discord's rule for the first response to an interaction
MANAGE_GUILD = 1 << 5


@pytest.fixture
async def client(fake: FakeDiscord, sample_config: Config) -> AsyncIterator[FastReconnectClient]:
    async with bot_running(fake, guild_config(sample_config)) as ready:
        yield ready


def _embed_text(message: dict[str, Any]) -> str:
    parts = []
    for e in message.get("embeds", []):
        parts += [e.get("title", ""), e.get("description", ""), e.get("url", "")]
        parts += [f"{f['name']} {f['value']}" for f in e.get("fields", [])]
    return "\n".join(parts)


async def test_synced_command_set(fake: FakeDiscord, client: FastReconnectClient) -> None:
    synced = {c["name"]: c for c in fake.commands[GUILD_ID]}
    assert set(synced) == {"ask", "similar", "features", "issue", "issues", "latest", "digest", "help", "newsbot",
                           "Search the archive",
                           "subscribe", "subscriptions", "unsubscribe"}
    assert None not in fake.commands  # guild sync only: no duplicate global set
    ask = {o["name"]: o for o in synced["ask"]["options"]}
    assert ask["question"]["required"] is True
    assert ask["question"]["type"] == 3
    assert ask["issue"]["autocomplete"] is True
    assert (ask["count"]["type"], ask["count"]["min_value"], ask["count"]["max_value"]) == (4, 1, 25)
    assert all(o.get("description") for c in synced.values() for o in c.get("options", []))
    admin = synced["newsbot"]
    assert int(admin["default_member_permissions"]) == MANAGE_GUILD
    assert {o["name"] for o in admin["options"]} >= {"reindex", "stats"}


async def test_sync_only_when_the_command_set_changes(fake: FakeDiscord, sample_config: Config) -> None:
    config = guild_config(sample_config)
    for expected_synced in (True, False):
        async with bot_running(fake, config) as bot:
            assert bot.synced is expected_synced
    assert len(fake.command_syncs) == 1


async def test_ask_is_answered_within_three_seconds(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("ask", {"question": "哪一期讲了不用乘法的矩阵乘积？"})
    callback = await handle.response()
    assert callback.type == 5  # deferred first: the answer may take longer than a second
    assert callback.elapsed < INTERACTION_DEADLINE
    [followup] = await handle.followups(1)
    assert followup.status == 200
    text = _embed_text(followup.data)
    assert "https://arxiv.org/abs/2106.10860" in text
    assert "#31" in text
    assert followup.data["allowed_mentions"] == {"parse": []}


async def test_similar_names_a_result_of_the_askers_own_last_answer(fake: FakeDiscord,
                                                                    client: FastReconnectClient) -> None:
    asker, other = FakeUser(7001, "asker"), FakeUser(7002, "other")
    ask = await fake.interact("ask", {"question": "哪一期讲了不用乘法的矩阵乘积？"}, user=asker)
    await ask.response()
    await ask.followups(1)
    like = await fake.interact("similar", {"item": "1"}, user=asker)
    callback = await like.response()
    assert callback.type == 5
    assert callback.elapsed < INTERACTION_DEADLINE
    [answer] = await like.followups(1)
    text = _embed_text(answer.data)
    assert text.startswith("Like “"), text
    assert "https://arxiv.org/abs/2106.10860" not in text  # the item itself is never among its likes
    assert answer.data["allowed_mentions"] == {"parse": []}
    # Numbers are per member: someone who asked nothing is told so, privately.
    stranger = await fake.interact("similar", {"item": "1"}, user=other)
    await stranger.response()
    calls = await stranger.followups(2)  # the public placeholder taken back, then the private answer
    refusal = calls[-1]
    assert refusal.data["content"] == "Ask something first (/ask), then name a result by its number."
    stored = fake.message(refusal.message_id) if refusal.message_id is not None else None
    assert stored is not None
    assert stored["flags"] & 64  # ephemeral: seen by the stranger alone


async def test_an_answer_through_a_bridge_says_so(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("ask", {"question": "CLIP foundation models"})
    await handle.response()
    [followup] = await handle.followups(1)
    assert "matched via CLIP ↔ 剪辑" in _embed_text(followup.data)


async def test_features_autocomplete_offers_issues(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("features", {"issue": "31"}, type=4, focused="issue")
    callback = await handle.response()
    assert (callback.type, callback.status) == (8, 200)
    choices = callback.data["choices"]
    assert 0 < len(choices) <= 25
    assert choices[0]["name"].startswith("#31")
    # Picking the suggestion runs the command with its value.
    run = await fake.interact("features", {"issue": choices[0]["value"]})
    answer = await run.response()
    assert answer.type == 4
    assert "https://arxiv.org/abs/2106.10860" in _embed_text(answer.data)


async def test_pagination_button_turns_the_page(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("ask", {"question": "变压器 模型 论文", "count": 10})
    await handle.response()
    [followup] = await handle.followups(1)
    buttons = followup.data["components"][0]["components"]
    labels = [b["label"] for b in buttons]
    assert labels[0] == "◀"
    assert labels[2] == "▶"
    assert labels[1].startswith("1/")
    assert labels[1] != "1/1"
    assert buttons[0]["disabled"] is True
    message = fake.channel_messages[GENERAL_CHANNEL_ID][-1]
    click = await fake.interact(type=3, custom_id=buttons[2]["custom_id"], message=int(message["id"]))
    update = await click.response()
    assert (update.type, update.status) == (7, 200)
    assert update.elapsed < INTERACTION_DEADLINE
    assert update.data["embeds"][0]["footer"]["text"].startswith("page 2/")
    assert update.data["embeds"][0]["description"] != followup.data["embeds"][0]["description"]


async def test_pagination_buttons_are_disabled_when_the_view_times_out(fake: FakeDiscord,
                                                                      client: FastReconnectClient) -> None:
    client.view_timeout = 0.3
    handle = await fake.interact("ask", {"question": "变压器 模型 论文", "count": 10})
    await handle.response()
    [followup] = await handle.followups(1)
    assert any(not b.get("disabled") for b in followup.data["components"][0]["components"])
    message_id = int(fake.channel_messages[GENERAL_CHANNEL_ID][-1]["id"])

    def all_disabled() -> bool:
        stored = fake.message(message_id)
        return stored is not None and all(b.get("disabled") for row in stored.get("components", [])
                                          for b in row["components"])

    await fake.wait_until(all_disabled, timeout=10, what="buttons disabled after the view timed out")


async def test_non_admin_is_refused_politely(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("newsbot stats", permissions=MEMBER_PERMISSIONS & ~MANAGE_GUILD)
    callback = await handle.response()
    assert callback.type == 4
    assert callback.data["flags"] & 64  # ephemeral
    assert "admin" in callback.data["content"].lower()
    admin = await fake.interact("newsbot stats", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    deferred = await admin.response()
    assert deferred.type == 5
    [answer] = await admin.followups(1)
    assert "newsbot stats" in _embed_text(answer.data)


async def test_everyone_in_a_query_pings_no_one(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("ask", {"question": "@everyone <@&123> **CutMix**"})
    await handle.response()
    [followup] = await handle.followups(1)
    assert followup.data["allowed_mentions"] == {"parse": []}
    title = followup.data["embeds"][0]["title"]
    assert "@everyone" not in title
    assert "\\*\\*CutMix\\*\\*" in title


async def test_unknown_issue_gets_suggestions_ephemerally(fake: FakeDiscord, client: FastReconnectClient) -> None:
    handle = await fake.interact("issue", {"issue": "第 99 期"})
    callback = await handle.response()
    assert callback.data["flags"] & 64
    assert "Did you mean" in callback.data["content"]


async def test_oversized_entry_still_gives_a_valid_embed(fake: FakeDiscord, tmp_path: Path,
                                                         sample_config: Config) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    huge_title = "超长标题" * 200
    huge_summary = "这是一段非常长的摘要，用来测试 Discord 的嵌入限制。" * 800
    (archive / "big.md").write_text(
        "# Akira 的机器学习新闻—#第 40 期\n\n> 原文：<https://medium.com/analytics-vidhya/"
        "akiras-machine-learning-news-issue-40-aaaaaaaaaaaa>\n\n本周特稿/新闻。\n\n"
        f"# 1.本周特稿/新闻\n\n# {huge_title}\n\n[https://arxiv.org/abs/2106.10860](https://arxiv.org/abs/2106.10860)"
        f"\n\n{huge_summary}\n\n# {huge_title}2\n\n[x](https://arxiv.org/abs/2105.01601)\n\n{huge_summary}\n",
        encoding="utf-8",
    )
    async with bot_running(fake, guild_config(sample_config, path=str(archive))):
        handle = await fake.interact("features", {})
        callback = await handle.response()
        assert (callback.type, callback.status) == (4, 200)  # the fake answers 400/50035 past any limit
        sent = callback.data["embeds"]
        assert sum(len(e.get("title", "")) + len(e.get("description", "")) for e in sent) <= embeds.TOTAL_MAX
        assert all(len(e.get("title", "")) <= embeds.TITLE_MAX for e in sent)


async def test_ask_has_a_per_user_cooldown(fake: FakeDiscord, sample_config: Config) -> None:
    config = guild_config(sample_config)
    config = msgspec.structs.replace(config, discord=msgspec.structs.replace(config.discord, ask_cooldown_seconds=60.0))
    # discord.py keeps cooldown buckets on the command object, which lives as long as the process: a user of
    # our own keeps the other tests' default user out of this test's 60 s window.
    asker = FakeUser(4141, "asker")
    async with bot_running(fake, config):
        for _ in range(2):  # two questions in a row are fine
            handle = await fake.interact("ask", {"question": "CutMix"}, user=asker)
            assert (await handle.response()).type == 5
        third = await fake.interact("ask", {"question": "CutMix"}, user=asker)
        refused = await third.response()
        assert refused.type == 4
        assert refused.data["flags"] & 64
        assert "Slow down" in refused.data["content"]
        other_user = await fake.interact("ask", {"question": "CutMix"}, user=FakeUser(4242, "someone-else"))
        assert (await other_user.response()).type == 5  # per user, not global
