"""A deployment of two archives, end to end: the bundled sample archive and a small second one written for the
tests. ``newsbot console`` as a process reads ``[[archives]]`` from a config file and answers from the archive a
line names; the real client against the fake Discord posts each archive's weekly digest to a server exactly once,
through a crash between the post and its record, a restart and a second week, on one SQLite state file."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botkit import bot_running, guild_config
from clock import Clock
from fake_discord import DIGEST_CHANNEL_ID, GUILD_ID, FakeDiscord
from fake_discord.payloads import MEMBER_PERMISSIONS
from second_archive import SECOND, two_archives, write_second_archive

from bot.config import Config
from bot.discord_adapter.poster import digest_footer

ADMIN = MEMBER_PERMISSIONS | (1 << 5)
TICK = 0.02
MONDAY_0800 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)  # ISO week 2024-W10; digests are Monday 09:00 UTC


def test_a_config_file_with_two_archives_serves_both(tmp_path: Path, shared_cache_dir: Path) -> None:
    garden = write_second_archive(tmp_path / "garden archive")
    config = tmp_path / "newsbot.toml"
    config.write_text(f'[[archives]]\nname = "akira"\n\n[[archives]]\nname = "{SECOND}"\n'
                      f'path = {json.dumps(str(garden))}\n', encoding="utf-8")
    env = {**os.environ, "NEWSBOT_STORAGE_CACHE_DIR": str(shared_cache_dir),
           "NEWSBOT_DB": str(tmp_path / "state.sqlite3"), "NEWSBOT_LOG_LEVEL": "WARNING"}
    lines = [f"/ask mulch depth soil moisture archive:{SECOND}", "/ask mulch depth soil moisture",
             "/ask 矩阵乘法", f"/features archive:{SECOND}", "/stats archive:nosuch"]
    done = subprocess.run([sys.executable, "-m", "bot", "console", "--json", "--config", str(config)],
                          input="".join(f"{line}\n" for line in lines), capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    garden_answer, default_answer, default_zh, features, unknown = [json.loads(x) for x in done.stdout.splitlines()]
    assert garden_answer["results"][0]["url"] == "https://garden.example/mulch-depth"
    assert not any((r["url"] or "").startswith("https://garden.example/") for r in default_answer["results"])
    assert default_zh["results"]  # the default archive answers as before
    assert features["issue_label"] == "#91"
    assert unknown["error"] == f"No archive named “nosuch”. Archives: akira, {SECOND}."
    # The same config with [archive] path as well names the clash in one line, and nothing starts.
    clash = subprocess.run([sys.executable, "-m", "bot", "console", "--json", "--config", str(config),
                            "--archive", str(garden)], input="/latest\n", capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120, check=False)
    assert clash.returncode != 0
    assert "archive.path: [[archives]] lists this deployment's archives" in clash.stderr
    assert len(clash.stderr.strip().splitlines()) == 1
    assert "Traceback" not in clash.stderr


async def wait_for(predicate: Callable[[], bool], limit: float = 15.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the state is the fake server's, no event to wait on
            await asyncio.sleep(TICK)


def digests(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [m for m in fake.channel_messages.get(DIGEST_CHANNEL_ID, []) if m.get("embeds")]


def footers(fake: FakeDiscord) -> list[str]:
    return [m["embeds"][0]["footer"]["text"] for m in digests(fake)]


def rows(config: Config, slot: str) -> list[tuple[str, str]]:
    with sqlite3.connect(config.db_path) as db:
        found = db.execute("SELECT archive, status FROM digest_posts WHERE slot = ? ORDER BY archive", (slot,))
        return [(str(a), str(s)) for a, s in found.fetchall()]


def posted(config: Config) -> list[tuple[str, str, str]]:
    with sqlite3.connect(config.db_path) as db:
        rows = db.execute("SELECT archive, slot, issue_id FROM digest_posts WHERE status = 'posted' "
                          "ORDER BY archive, slot").fetchall()
    return [(str(a), str(s), str(i)) for a, s, i in rows]


async def admin(fake: FakeDiscord, path: str, options: dict[str, Any]) -> str:
    handle = await fake.interact(path, options, permissions=ADMIN)
    await handle.response()
    [reply] = await handle.followups(1)
    embeds = reply.data.get("embeds") or []
    return "\n".join([reply.data.get("content") or "", *(e.get("title") or "" for e in embeds)])


async def test_each_archive_digest_goes_to_a_server_exactly_once(fake: FakeDiscord, sample_config: Config,
                                                                 tmp_path: Path) -> None:
    config = guild_config(two_archives(sample_config, tmp_path / "garden"))
    clock = Clock(MONDAY_0800)
    async with bot_running(fake, config, clock=clock, digest_interval=TICK) as client:
        for archive in ("akira", SECOND):  # the same channel for both: each must know its own message
            shown = await admin(fake, "newsbot digest-on", {"channel": str(DIGEST_CHANNEL_ID), "archive": archive})
            assert f"Weekly digest on ({archive})" in shown
        assert sorted(client.app.schedulers) == ["akira", SECOND]
        clock.now = MONDAY_0800 + dt.timedelta(hours=1, minutes=1)
        await wait_for(lambda: len(digests(fake)) == 2)
        await asyncio.sleep(TICK * 20)
        assert len(digests(fake)) == 2
    # Only an archive named "default" (a deployment from before several archives) marks its digest with the slot
    # alone; these two each carry their name.
    assert sorted(footers(fake)) == [digest_footer("2024-W10 · akira"), digest_footer(f"2024-W10 · {SECOND}")]
    week1 = posted(config)
    assert [(a, s) for a, s, _ in week1] == [("akira", "2024-W10"), (SECOND, "2024-W10")]
    assert week1[1][2].endswith("000090") or week1[1][2].endswith("000091")  # the garden digest is a garden issue

    # A crash between each post and its record: both claims look unsent. After a restart each archive finds its
    # own message in the channel (the marks differ) and records it; nothing is posted again.
    with sqlite3.connect(config.db_path) as db:
        db.execute("UPDATE digest_posts SET status = 'claimed', message_id = NULL, lease_until = ?",
                   ("2000-01-01T00:00:00+00:00",))
    clock.now += dt.timedelta(hours=1)
    async with bot_running(fake, config, clock=clock, digest_interval=TICK):
        await wait_for(lambda: len(posted(config)) == 2)
        await asyncio.sleep(TICK * 20)
        assert len(digests(fake)) == 2

        clock.now = MONDAY_0800 + dt.timedelta(days=7, hours=1, minutes=1)  # the next week, after 09:00
        await wait_for(lambda: len(digests(fake)) == 4)
        await asyncio.sleep(TICK * 20)
        assert len(digests(fake)) == 4
        # Turning one archive's digest off leaves the other's on; the garden archive has replayed both its issues,
        # so its third week closes with nothing to post.
        assert "Weekly digest off (akira)" in await admin(fake, "newsbot digest-off", {"archive": "akira"})
        clock.now = MONDAY_0800 + dt.timedelta(days=14, hours=1, minutes=1)
        await wait_for(lambda: rows(config, "2024-W12") == [(SECOND, "skipped")])
        await asyncio.sleep(TICK * 20)
        assert len(digests(fake)) == 4
        assert rows(config, "2024-W12") == [(SECOND, "skipped")]
    slots = [(a, s) for a, s, _ in posted(config)]
    assert slots == [("akira", "2024-W10"), ("akira", "2024-W11"), (SECOND, "2024-W10"), (SECOND, "2024-W11")]
    assert len(set(footers(fake))) == 4
    garden_issues = [i for a, _, i in posted(config) if a == SECOND]
    assert len(set(garden_issues[:2])) == 2  # the garden archive replays its own two issues, one a week
    with sqlite3.connect(config.db_path) as db:
        (guilds,) = db.execute("SELECT COUNT(DISTINCT guild_id) FROM digest_settings").fetchone()
    assert guilds == 1
    assert GUILD_ID
