"""Issue references through the console's ``--json`` contract and the fake Discord: ``week 13``, ``34期``, and
references that name several issues, which are listed, never silently narrowed to one."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from botkit import bot_running, guild_config
from fake_discord import FakeDiscord
from fake_discord.payloads import EPHEMERAL

from bot.config import Config, sample_archive_dir
from bot.console import run_console_async

W10, W13 = "2021-W10", "2021-W13"


async def console(config: Config, *lines: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    code = await run_console_async(config, json_mode=True, stdin=io.StringIO("".join(f"{x}\n" for x in lines)),
                                   stdout=out)
    assert code == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def listed(obj: dict[str, Any]) -> list[str]:
    assert "error" in obj, obj
    return [s.split(" — ")[0] for s in obj.get("suggestions", [])]


@pytest.mark.parametrize("month", ["2021 年 3 月", "2021-03", "March 2021", "mar 2021"])
async def test_a_month_of_several_issues_lists_them(sample_config: Config, month: str) -> None:
    # The sample holds two weekly issues of March 2021 and no monthly digest for it.
    for obj in await console(sample_config, f"/issue {month}", f"/features {month}",
                             f"/ask ViT issue:\"{month}\""):
        assert listed(obj) == [W13, W10], obj
        assert "names 2 issues" in obj["error"]


async def test_a_month_with_its_own_digest_names_that_digest(sample_config: Config) -> None:
    [obj] = await console(sample_config, "/issue 2020-10")
    assert obj["issue_label"] == "2020-10"  # the digest's own label, not the ambiguity of October's weeks


@pytest.mark.parametrize(("ref", "label"), [("week 13", W13), ("W13", W13), ("wk 10", W10), ("31期", "#31"),
                                            ("19 期", "#19"), ("第 31 期", "#31")])
async def test_week_without_a_year_and_number_without_di(sample_config: Config, ref: str, label: str) -> None:
    for obj in await console(sample_config, f"/issue {ref}", f"/features {ref}"):
        assert obj.get("issue_label") == label, obj


@pytest.fixture
def two_years_config(sample_config: Config, tmp_path: Path) -> Config:
    """The sample archive plus a week 13 of 2020 (our own text), so ``week 13`` names two issues."""
    archive = tmp_path / "archive"
    shutil.copytree(sample_archive_dir(), archive)
    (archive / "week-13-2020.md").write_text(
        "# Akira 的机器学习新闻—2020 年第 13 周\n\n> 原文：<https://medium.com/analytics-vidhya/"
        "akiras-machine-learning-news-week-13-2020-bbbbbbbbbbbb>\n\n本周特稿/新闻。\n\n# 1.本周特稿/新闻\n\n"
        "# 一个用来测试的标题\n\n[https://arxiv.org/abs/2003.00001](https://arxiv.org/abs/2003.00001)\n\n"
        "测试摘要：第十三周的一篇论文。\n", encoding="utf-8")
    return msgspec.structs.replace(sample_config,
                                   archive=msgspec.structs.replace(sample_config.archive, path=str(archive)))


async def test_week_13_of_two_years_is_listed(two_years_config: Config) -> None:
    ambiguous, one = await console(two_years_config, "/issue week 13", "/issue week 13 2020")
    assert listed(ambiguous) == [W13, "2020-W13"]
    assert one["issue_label"] == "2020-W13"


async def test_an_ambiguous_issue_on_discord_lists_the_choices_privately(fake: FakeDiscord,
                                                                         two_years_config: Config) -> None:
    async with bot_running(fake, guild_config(two_years_config)):
        handle = await fake.interact("issue", {"issue": "week 13"})
        callback = await handle.response()
    assert callback.status == 200
    assert callback.data["flags"] & EPHEMERAL
    content = callback.data["content"]
    assert "names 2 issues" in content
    assert "2021-W13" in content
    assert "2020-W13" in content
