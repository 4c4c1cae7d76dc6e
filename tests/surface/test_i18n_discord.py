"""Readers in their own language, through the real discord.py client against the fake Discord.

A zh-CN client lists the commands by their Chinese names (the fake checks every localized name and description
at sync as Discord does) and gets Chinese answers; zh-TW gets traditional characters; en-US English. The digest
follows the server's preferred locale unless an admin picks one.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from botkit import bot_running, guild_config
from fake_discord import DIGEST_CHANNEL_ID, GUILD_ID, FakeDiscord, InteractionHandle, point_discord_py_at
from fake_discord.payloads import MEMBER_PERMISSIONS, FakeUser, localized_names, valid_name
from fake_discord.server import default_guild

from bot.commands import COMMANDS
from bot.config import Config
from bot.i18n import COMMAND_NAME, OPTION_NAME, lang
from bot.results import features_of

ADMIN = MEMBER_PERMISSIONS | (1 << 5)
SIMPLIFIED_ONLY = set("问题条结页发")  # each has a different traditional form (問題條結頁發)


async def answer(handle: InteractionHandle) -> dict[str, Any]:
    """The public answer of a deferred command: its first followup's payload."""
    await handle.response()
    [followup] = await handle.followups(1)
    assert followup.status == 200, followup
    return dict(followup.data)


def synced(fake: FakeDiscord, path: str) -> dict[str, Any]:
    """The synced payload of ``ask`` or of ``newsbot stats`` (a subcommand of the admin group)."""
    root, *sub = path.split()
    command = fake.find_command(root, GUILD_ID)
    assert command is not None, path
    for name in sub:
        command = next(o for o in command["options"] if o["name"] == name)
    return command


async def test_a_zh_cn_member_sees_chinese_commands_and_gets_a_chinese_answer(fake: FakeDiscord,
                                                                            sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config)):
        assert [s.status for s in fake.command_syncs] == [200]  # every localization passed the fake's checks
        ask = synced(fake, "ask")
        assert localized_names(ask, "zh-CN") == ["提问", "问题", "期", "数量", "起始", "截止", "栏目"]
        assert localized_names(ask, "zh-TW") == ["提問", "問題", "期", "數量", "起始", "截止", "欄目"]
        assert localized_names(ask, "en-US") == ["ask", "question", "issue", "count", "since", "until", "section"]
        assert ask["description_localizations"]["zh-CN"] == "用中文或英文向周刊归档提问。"
        # Every command and option of the registry is localized, from the one registry.
        for spec in COMMANDS:
            if spec.name == "archive-default":
                continue  # one archive: not synced (cogs.one_archive); the catalog test checks its translations
            payload = synced(fake, spec.path)
            for locale in ("zh-CN", "zh-TW"):
                assert payload["name_localizations"][locale] == lang(locale).pgettext(COMMAND_NAME, spec.name)
                assert payload["description_localizations"][locale]
                # One archive: the archive option is not synced (for_archives), so it is not compared.
                for p, option in zip(spec.for_archives(False).params, payload.get("options") or [], strict=True):
                    assert option["name_localizations"][locale] == lang(locale).pgettext(OPTION_NAME, p.name)
                    # The English is clipped to Discord's 100 characters; the msgid is still the whole text.
                    wanted = lang(locale).gettext(p.description)[:100]
                    assert wanted != p.description[:100]
                    assert option["description_localizations"][locale] == wanted

        zh_cn = await answer(await fake.interact("ask", {"question": "CutMix"}, locale="zh-CN"))
        page = zh_cn["embeds"][0]
        print("zh-CN /ask CutMix, as the fake recorded it:", json.dumps(zh_cn, ensure_ascii=False, indent=1))
        assert re.fullmatch(r"第 1/\d+ 页 · \d+ 条结果", page["footer"]["text"]), page["footer"]
        zh_tw = await answer(await fake.interact("ask", {"question": "CutMix"}, locale="zh-TW"))
        assert re.fullmatch(r"第 1/\d+ 頁 · \d+ 條結果 · 快取", zh_tw["embeds"][0]["footer"]["text"])
        assert not SIMPLIFIED_ONLY & set(zh_tw["embeds"][0]["footer"]["text"])
        en = await answer(await fake.interact("ask", {"question": "CutMix"}, locale="en-US"))
        assert re.fullmatch(r"page 1/\d+ · \d+ results? · cached", en["embeds"][0]["footer"]["text"])
        assert page["description"] == en["embeds"][0]["description"]  # the archive's text is not translated

        # The engine's notice, in the asker's language.
        nothing = await answer(await fake.interact("ask", {"question": "qqxyzzy", "issue": "2021-W13"}, locale="zh-CN"))
        assert nothing["embeds"][0]["description"].endswith("中没有条目与这个问题相符。"), nothing

        # An error, the help and a language Discord has but we do not (German: English).
        wrong = await fake.interact("ask", {"question": "CutMix", "issue": "第 999 期"}, locale="zh-CN")
        error = (await wrong.response()).data["content"]
        assert error.startswith("没有与"), error
        assert "你是不是要找" in error or "。" in error
        help_zh = (await (await fake.interact("help", locale="zh-TW")).response()).data["embeds"][0]
        assert "`/提問 <問題> [期] [數量] [起始] [截止] [欄目]`" in help_zh["description"]
        assert help_zh["fields"][0]["name"] == "管理員（管理伺服器）"
        help_de = (await (await fake.interact("help", locale="de")).response()).data["embeds"][0]
        assert "`/ask <question> [issue] [count] [since] [until] [section]`" in help_de["description"]


async def test_the_page_buttons_answer_an_intruder_in_their_own_language(fake: FakeDiscord,
                                                                         sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config)):
        asked = await fake.interact("ask", {"question": "learning", "count": 12}, locale="en-US")
        await asked.response()
        [followup] = await asked.followups(1)
        assert followup.message_id is not None
        message_id = followup.message_id
        stored = fake.message(message_id)
        assert stored is not None
        assert stored["components"], "a paged answer has buttons"
        button = stored["components"][0]["components"][-1]["custom_id"]
        other = await fake.interact(type=3, custom_id=button, message=message_id, locale="zh-TW",
                                    user=FakeUser(4242, "someone-else"))
        refusal = (await other.response()).data["content"]
        assert refusal == "只有提問的人可以翻頁；請自己執行 /提問 獲取你的回答。"


@pytest.mark.parametrize(("preferred", "heading"), [("zh-TW", "每週摘要"), ("zh-CN", "每周摘要"),
                                                    ("en-US", "Weekly digest")])
async def test_the_digest_follows_the_servers_language_and_an_admin_can_pick_one(
        sample_config: Config, preferred: str, heading: str) -> None:
    guild = dataclasses.replace(default_guild(), preferred_locale=preferred)
    async with FakeDiscord(guilds=(guild,)) as fake:
        with point_discord_py_at(fake):
            async with bot_running(fake, guild_config(sample_config)) as client:
                await client.scheduler.configure(GUILD_ID, channel_id=DIGEST_CHANNEL_ID)
                now = await fake.interact("newsbot digest-now", permissions=ADMIN, locale="en-US")
                await now.followups(1)
                [digest] = fake.channel_messages[DIGEST_CHANNEL_ID]
                assert digest["embeds"][0]["description"].startswith(f"**{heading}**"), digest["embeds"][0]
                assert digest["embeds"][0]["footer"]["text"].startswith("newsbot weekly digest ·")  # the mark
                # The admin sets English (or Chinese) for the digest, whatever the server's language.
                picked = "zh-CN" if preferred == "en-US" else "en-US"
                setting = await fake.interact("newsbot digest-language", {"language": picked}, permissions=ADMIN,
                                              locale="zh-CN")
                await setting.response()
                [reply] = await setting.followups(1)
                assert reply.data["embeds"][0]["title"] == "已设置摘要语言"
                assert f"语言 {picked}" in reply.data["embeds"][0]["description"]
                assert (await client.scheduler.settings(GUILD_ID)).locale == picked
                content = client.newsbot.archive.latest
                assert content is not None
                message_id = await client.poster.post(DIGEST_CHANNEL_ID, GUILD_ID, "test-slot",
                                                      features_of(content), locale=picked)
                posted = fake.message(message_id)
                assert posted is not None
                expected = "Weekly digest" if picked == "en-US" else "每周摘要"
                assert posted["embeds"][0]["description"].startswith(f"**{expected}**")


def test_every_localized_name_is_one_discord_accepts() -> None:
    for locale in ("zh-CN", "zh-TW"):
        messages = lang(locale)
        for spec in COMMANDS:
            assert valid_name(messages.pgettext(COMMAND_NAME, spec.name)), (locale, spec.name)
            options = [messages.pgettext(OPTION_NAME, p.name) for p in spec.params]
            assert all(valid_name(o) for o in options), (locale, spec.name, options)
            assert len(set(options)) == len(options), (locale, spec.name, options)
            assert 1 <= len(messages.gettext(spec.description)[:100]) <= 100


async def test_a_zh_cn_member_subscribes_and_reads_an_emptied_filtered_answer_in_chinese(
        fake: FakeDiscord, sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config)):
        # The message command is listed by its Chinese name too (context-menu names may hold spaces).
        menu = fake.find_command("Search the archive", GUILD_ID, kind=3)
        assert menu is not None
        assert menu["name_localizations"] == {"zh-CN": "搜索归档", "zh-TW": "搜尋歸檔"}

        added = await fake.interact("subscribe", {"query": "蛋白质折叠 **@everyone**"}, locale="zh-CN")
        await added.response()
        [reply] = await added.followups(1)
        content = str(reply.data["content"])
        print("zh-CN /subscribe:", content)
        assert content.startswith("已添加提醒：**1.** “蛋白质折叠 \\*\\*@\u200beveryone\\*\\*”。"), content
        assert "上限" in content
        assert "私信" in content
        assert "Alert" not in content

        # The filter that emptied the answer is named, in Chinese, with the count the engine found without it.
        emptied = await answer(await fake.interact("ask", {"question": "矩阵乘法", "since": "2021-10-01"},
                                                   locale="zh-CN"))
        description = emptied["embeds"][0]["description"]
        print("zh-CN emptied /ask:", description)
        wanted = r"筛选（自 2021-10-01 起）下没有结果；去掉这个筛选有 \d+ 个结果。"
        assert re.fullmatch(wanted, description), description
        # The same answer in English keeps the engine's own words (the cache serves both).
        english = await answer(await fake.interact("ask", {"question": "矩阵乘法", "since": "2021-10-01"},
                                                   locale="en-US"))
        assert english["embeds"][0]["description"].startswith("No match since 2021-10-01; ")

        # An unknown bound is refused in Chinese too, the inner error translated within the outer.
        wrong = await fake.interact("ask", {"question": "x", "until": "第 999 期"}, locale="zh-CN")
        refusal = str((await wrong.response()).data["content"])
        assert refusal.startswith("截止：没有与第 999 期相符的一期。"), refusal
