"""``newsbot run`` as a real process against the fake Discord: env overrides, an answer, clean shutdown, no leak."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from botkit import bot_env
from fake_discord import GUILD_ID, FakeDiscord


async def _run_bot(fake: FakeDiscord, tmp_path: Path, cache: Path, sig: signal.Signals) -> tuple[int, str]:
    # DEBUG: the most talkative level is where a token would leak.
    env = bot_env(fake, tmp_path / "state.sqlite3", cache, log_level="DEBUG")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output = bytearray()

    async def drain() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            output.extend(chunk)

    reader = asyncio.create_task(drain())
    try:
        await fake.wait_until(lambda: GUILD_ID in fake.commands, timeout=60, what="guild command sync")
        await fake.wait_for_session(timeout=30)
        await asyncio.sleep(2.5)  # discord.py waits guild_ready_timeout (2 s) before it is ready
        handle = await fake.interact("ask", {"question": "CutMix 数据增强"})
        callback = await handle.response(timeout=10)
        assert callback.elapsed < 3.0
        [answer] = await handle.followups(1, timeout=10)
        assert "https://arxiv.org/abs/1905.04899" in str(answer.data)
        proc.send_signal(sig)
        code = await asyncio.wait_for(proc.wait(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await reader
    return code, output.decode("utf-8", "replace")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_run_answers_and_shuts_down_cleanly(fake: FakeDiscord, tmp_path: Path, shared_cache_dir: Path,
                                                  sig: signal.Signals) -> None:
    code, log = await _run_bot(fake, tmp_path, shared_cache_dir, sig)
    assert code == 0, log
    assert f"received {sig.name}; shutting down" in log
    assert "Traceback" not in log
    assert fake.token not in log  # not in any log line, even at DEBUG
    assert fake.token_leaks() == []
    # discord.py's own log format: "2026-01-01 12:00:00 INFO     discord.client logging in using static token"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log)
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO     discord\.client ", plain, re.MULTILINE), plain[-2000:]


async def test_run_without_a_token_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 1
    assert b"DISCORD_TOKEN is not set" in err
