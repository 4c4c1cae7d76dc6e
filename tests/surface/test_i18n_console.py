"""The console in the reader's language: ``--lang``, or the environment's locale; --json stays language-neutral."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.config import Config
from bot.console import run_console_async
from bot.i18n import lang


async def text(config: Config, lines: list[str], tag: str | None) -> str:
    out = io.StringIO()
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    assert await run_console_async(config, json_mode=False, stdin=stdin, stdout=out, lg=lang(tag)) == 0
    return out.getvalue()


async def test_the_console_answers_in_the_language_asked_for(sample_config: Config) -> None:
    lines = ["/ask CutMix", "/issues 99", "/features 999", "/digest"]
    zh_cn = await text(sample_config, lines, "zh-CN")
    zh_tw = await text(sample_config, lines, "zh-TW")
    en = await text(sample_config, lines, None)
    assert "   出自 " in zh_cn
    assert "错误：只有 1 页；请选择 1 到 1 页。" in zh_cn
    assert "   出自 " in zh_tw
    assert "錯誤：只有 1 頁；請選擇 1 到 1 頁。" in zh_tw
    assert "   from " in en
    assert "error: There is 1 page; pick a page from 1 to 1." in en
    assert "错误：没有与第 999 期相符的一期。\n你是不是要找：" in zh_cn, zh_cn
    assert "每周摘要预览（每星期一 09:00 UTC）：" in zh_cn
    assert "每週摘要預覽（每星期一 09:00 UTC）：" in zh_tw
    assert "Weekly digest preview (every Monday at 09:00 UTC" in en


def _console(args: list[str], env: dict[str, str], tmp_path: Path, cache: Path, line: str) -> str:
    full = {**env, "NEWSBOT_STORAGE_CACHE_DIR": str(cache), "NEWSBOT_DB": str(tmp_path / "state.sqlite3"),
            "NEWSBOT_LOG_LEVEL": "WARNING"}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "console", *args], input=line + "\n", text=True,
                          capture_output=True, cwd=tmp_path, env=full, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_lang_flag_and_environment_locale(tmp_path: Path, shared_cache_dir: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    assert "newsbot：向周刊归档提问" in _console(["--lang", "zh-CN"], base, tmp_path, shared_cache_dir, "/help")
    assert "newsbot：向週刊歸檔提問" in _console([], {**base, "LANG": "zh_TW.UTF-8"}, tmp_path, shared_cache_dir,
                                             "/help")
    assert "newsbot: ask the newsletter archive" in _console(["--lang", "en"], {**base, "LC_ALL": "zh_CN.UTF-8"},
                                                             tmp_path, shared_cache_dir, "/help")
    # --json is a contract: the same bytes whatever the language.
    english = _console(["--json"], base, tmp_path, shared_cache_dir, "/ask CutMix")
    chinese = _console(["--json", "--lang", "zh-CN"], base, tmp_path, shared_cache_dir, "/ask CutMix")
    assert english.replace('"cached": true', '"cached": false') == chinese.replace('"cached": true', '"cached": false')
