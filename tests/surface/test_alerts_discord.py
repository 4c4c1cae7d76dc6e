"""Keyword alerts through the real discord.py client and the fake Discord: /subscribe, the DM for a new issue
(once, across a restart), closed DMs (paused, told once), removal (never sends), and the remove buttons."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import msgspec
from botkit import bot_running, guild_config, live_markdown, mentions_in
from fake_discord import DEFAULT_USER, FakeDiscord, FakeUser

from bot.config import Config, sample_archive_dir

TICK = 0.02
CLOSED = FakeUser(300000000000000001, "closed")
QUITTER = FakeUser(300000000000000002, "quitter")
OTHER = FakeUser(300000000000000003, "other")
QUERY = "protein folding **@everyone**"

# Written for this test (not from any newsletter): one new weekly issue in the sample archive's format.
NEW_ISSUE = """# 2022 年第 5 周

> 原文：<https://medium.com/@akira/akiras-ml-news-week5-2022-5a3e0c220005>

# 1.机器学习论文

# 预测蛋白质折叠的新方法 ProteinFold

*ProteinFold: protein folding from sequence alone*
[https://example.org/proteinfold](https://example.org/proteinfold)

这篇论文提出了一种只看氨基酸序列就能预测蛋白质折叠 (protein folding) 结构的模型，比以前的方法更快。

# 用于表格数据的梯度提升

*Gradient boosting for tables*
[https://example.org/tables](https://example.org/tables)

比较了几种梯度提升库在表格数据上的速度和精度。
"""


async def wait_for(predicate: Callable[[], bool], limit: float = 15.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the state is the fake server's
            await asyncio.sleep(TICK)


def alerts_config(sample_config: Config, archive: Path) -> Config:
    shutil.copytree(sample_archive_dir(), archive)
    config = guild_config(sample_config, path=str(archive))
    return msgspec.structs.replace(config, alerts=msgspec.structs.replace(config.alerts, send_interval_seconds=0.0))


async def reply_text(fake: FakeDiscord, name: str, options: dict[str, object] | None = None, *,
                     user: FakeUser = DEFAULT_USER, followups: int = 1) -> list[dict[str, object]]:
    handle = await fake.interact(name, options or {}, user=user)
    await handle.response()
    return [f.data for f in await handle.followups(followups)]


async def test_alert_dm_once_closed_dms_paused_and_removed_never_sends(
        fake: FakeDiscord, sample_config: Config, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    config = alerts_config(sample_config, archive)
    fake.dms.closed.add(CLOSED.id)
    async with bot_running(fake, config) as client:
        [added] = await reply_text(fake, "subscribe", {"query": QUERY})
        assert "Alert added" in added["content"]
        assert added["flags"] & 64
        assert mentions_in(added["content"]) == []
        assert "**@everyone**" not in added["content"]
        await reply_text(fake, "subscribe", {"query": "protein folding"}, user=CLOSED)
        await reply_text(fake, "subscribe", {"query": "protein folding"}, user=QUITTER)
        [removed] = await reply_text(fake, "unsubscribe", {"alert": "1"}, user=QUITTER)
        assert "Removed" in removed["content"]
        await reply_text(fake, "subscribe", {"query": "kubernetes autoscaling"}, user=OTHER)  # matches nothing

        (archive / "week-5-2022.md").write_text(NEW_ISSUE, encoding="utf-8")
        await client.newsbot.library.reindex()  # what the feed poller does when the folder changed
        await wait_for(lambda: len(fake.dms.messages.get(DEFAULT_USER.id, [])) == 1
                       and fake.dms.refused.get(CLOSED.id) == 1)
        await asyncio.sleep(TICK * 20)
        await client.newsbot.library.reindex()  # another look finds nothing new
        await asyncio.sleep(TICK * 20)

        # The closed member hears of the pause once, after their next reply, and not again.
        [notice] = await reply_text(fake, "help", user=CLOSED)  # /help answers in its response; then the notice
        assert "paused" in str(notice["content"])
        assert "50007" in str(notice["content"])
        assert notice["flags"] & 64
        handle = await fake.interact("help", user=CLOSED)
        await handle.response()
        await asyncio.sleep(TICK * 20)
        assert await handle.followups(0) == []

    async with bot_running(fake, config) as client:  # a restart sends nothing again
        await client.newsbot.library.reindex()
        await asyncio.sleep(TICK * 30)

    [dm] = fake.dms.messages[DEFAULT_USER.id]
    assert QUITTER.id not in fake.dms.messages
    assert OTHER.id not in fake.dms.messages
    assert fake.dms.refused == {CLOSED.id: 1}
    embed = dm["embeds"][0]
    assert "2022-W05" in embed["title"]
    assert "https://example.org/proteinfold" in embed["description"]
    assert "https://example.org/tables" not in embed["description"]
    assert embed["footer"]["text"].startswith("newsbot alert · ")
    assert dm["allowed_mentions"] == {"parse": []}
    assert mentions_in(embed["description"]) == []
    assert live_markdown(embed["description"].split("matched", 1)[1]) == []
    print("ALERT DM as the fake recorded it:", dm)


async def test_remove_button_only_for_its_owner(fake: FakeDiscord, sample_config: Config, tmp_path: Path) -> None:
    config = alerts_config(sample_config, tmp_path / "archive")
    async with bot_running(fake, config):
        await reply_text(fake, "subscribe", {"query": "diffusion", "section": "papers"})
        await reply_text(fake, "subscribe", {"query": "GPT-3"})
        handle = await fake.interact("subscriptions")
        await handle.response()
        [call] = await handle.followups(1)
        listing = call.data
        buttons = [c for row in listing["components"] for c in row["components"]]
        assert [b["label"] for b in buttons] == ["Remove 1", "Remove 2"]
        assert call.message_id is not None
        message = call.message_id
        stranger = await fake.interact(type=3, custom_id=buttons[0]["custom_id"], message=message, user=OTHER)
        refused = await stranger.response()
        assert "Only the member" in refused.data["content"]
        # A button forged with the presser's own id in it: the store removes by id *and* owner, so nothing goes.
        forged = buttons[0]["custom_id"].replace(str(DEFAULT_USER.id), str(OTHER.id))
        fake_message = {**fake.message(message), "components": [  # type: ignore[dict-item]
            {"type": 1, "components": [{**buttons[0], "custom_id": forged}]}]}
        answer = await (await fake.interact(type=3, custom_id=forged, message=fake_message, user=OTHER)).response()
        assert "no keyword alerts" in answer.data["content"]
        [still] = await reply_text(fake, "subscriptions")
        assert "diffusion" in still["embeds"][0]["description"]  # a forged id removed nothing
        press = await fake.interact(type=3, custom_id=buttons[0]["custom_id"], message=message)
        edited = await press.response()
        assert "diffusion" not in edited.data["embeds"][0]["description"]
        assert "GPT" in edited.data["embeds"][0]["description"]
