"""End to end: ``newsbot run`` (a real process) against the fake Discord and a real feed server on 127.0.0.1.

1. The archive holds two hand-saved sample issues; the feed (RSS) carries the same two. An admin sets the
   digest up through slash commands: channel, policy ``latest``, a role to ping, threads on, a slot at the next
   whole minute (UTC), on.
2. The bot polls every second: the first poll finds the two issues already in the archive (no new file, no
   announcement), the next ones get 304.
3. The feed publishes week 13 of 2021. The next poll writes it to the archive and reindexes, and ``/ask``
   finds it, without a restart or ``/reindex``.
4. The bot is restarted between that poll and the slot.
5. At the slot the guild gets exactly one digest: week 13's features, pinging only the digest role, with a
   thread named after the issue.

``tests/system/test_feeds_e2e.py`` asserts all of this; run this file to see it (the report quotes its output)::

    .venv/bin/python tests/support/feed_scenario.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from botkit import BotProcess, bot_env
from fake_discord import DIGEST_CHANNEL_ID, DIGEST_ROLE_ID, GUILD_ID, FakeDiscord, FakeUser
from fake_discord.payloads import MEMBER_PERMISSIONS
from feed_server import SAMPLE, FeedServer, item_from_markdown, rss, sample_items

ADMIN = MEMBER_PERMISSIONS | (1 << 5)  # MANAGE_GUILD
HAND_SAVED = ("akiras-ml-news-week41-2020-5a3e0c000041", "akiras-ml-news-week45-2020-5a3e0c000045")
W13 = "akiras-machine-learning-news-week-13-2021-5a3e0c210013"
QUESTION = "Swin Transformer 移位窗口"


@dataclass
class Result:
    feed_log: list[str] = field(default_factory=list)
    ask_before: str = ""
    ask_after: str = ""
    digests: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    slot_time: str = ""
    restart_at: int = 0
    """Index in ``feed_log`` of the restarted bot's first request."""
    archive_files: list[str] = field(default_factory=list)
    bot_logs: list[str] = field(default_factory=list)
    setup_replies: list[str] = field(default_factory=list)


def _slot(now: dt.datetime, margin: float) -> dt.datetime:
    """The first whole minute at least ``margin`` seconds away."""
    at = (now + dt.timedelta(seconds=margin)).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return at


async def _until(predicate: Callable[[], bool], limit: float, what: str) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the state is the fake servers', no event to wait on
            await asyncio.sleep(0.1)
    del what


async def _ready(fake: FakeDiscord, bot: BotProcess, sessions: int) -> None:
    await fake.wait_until(lambda: GUILD_ID in fake.commands and len(fake.gateway_connections) >= sessions,
                          timeout=90, what="command sync and a gateway connection")
    await fake.wait_for_session(timeout=60)
    await asyncio.sleep(2.5)  # discord.py waits guild_ready_timeout (2 s) before it is ready


async def _admin(fake: FakeDiscord, name: str, options: dict[str, object] | None = None) -> str:
    handle = await fake.interact(name, options or {}, permissions=ADMIN, user=FakeUser(5101, "admin"))
    await handle.response(timeout=15)
    [reply] = await handle.followups(1, timeout=15)
    data = reply.data or {}
    embeds = data.get("embeds") or []
    return " | ".join(filter(None, [data.get("content")] + [f"{e.get('title')}: {e.get('description')}"
                                                             for e in embeds]))


async def _ask(fake: FakeDiscord) -> str:
    handle = await fake.interact("ask", {"question": QUESTION})
    await handle.response(timeout=15)
    [answer] = await handle.followups(1, timeout=30)
    return render_embeds((answer.data or {}).get("embeds") or [])


def render_embeds(embeds: list[dict[str, Any]]) -> str:
    lines = []
    for e in embeds:
        if e.get("title"):
            lines.append(f"## {e['title']}")
        if e.get("description"):
            lines.append(str(e["description"]))
        for f in e.get("fields") or []:
            lines.append(f"- {f.get('name')}: {f.get('value')}")
        if (e.get("footer") or {}).get("text"):
            lines.append(f"  [{e['footer']['text']}]")
    return "\n".join(lines)


async def run_scenario(work: Path, cache_dir: Path, say: Callable[[str], None] = lambda _: None) -> Result:
    result = Result()
    archive = work / "archive"
    archive.mkdir(parents=True)
    for stem in HAND_SAVED:
        shutil.copy(SAMPLE / f"{stem}.md", archive / f"{stem}.md")
    async with FeedServer() as feeds, FakeDiscord() as fake:
        items = sample_items(HAND_SAVED)
        feeds.publish("/akira.rss", rss(items))
        config = work / "newsbot.toml"
        config.write_text(
            "[archive]\n"
            f'path = "{archive}"\n'
            "feed_poll_seconds = 1.0\n"
            "feed_timeout_seconds = 10\n\n"
            "[[archive.feeds]]\n"
            f'url = "{feeds.url("/akira.rss")}"\n'
            'name = "akira"\n', encoding="utf-8")
        env = {**bot_env(fake, work / "state.sqlite3", cache_dir), "NEWSBOT_DISCORD_ASK_COOLDOWN_SECONDS": "0"}
        args = ("run", "--config", str(config))
        first = BotProcess(env, work, args=args)
        await first.start()
        try:
            await _ready(fake, first, 1)
            say("bot 1 ready")
            slot = _slot(dt.datetime.now(dt.UTC), margin=50)
            result.slot_time = f"{slot:%A %H:%M} UTC"
            for name, options in [
                ("newsbot digest-channel", {"channel": str(DIGEST_CHANNEL_ID)}),
                ("newsbot digest-policy", {"policy": "latest"}),
                ("newsbot digest-role", {"role": str(DIGEST_ROLE_ID)}),
                ("newsbot digest-thread", {"mode": "on"}),
                ("newsbot digest-schedule", {"weekday": slot.weekday(), "time": f"{slot:%H:%M}", "timezone": "UTC"}),
                ("newsbot digest-on", {}),
            ]:
                result.setup_replies.append(f"/{name} {options}: {await _admin(fake, name, options)}")
            say(f"digest set up for {result.slot_time}")
            await _until(lambda: 304 in [r.status for r in feeds.requests("/akira.rss")], 60, "a 304")
            result.ask_before = await _ask(fake)
            # The publication adds an issue.
            feeds.publish("/akira.rss", rss([*items, item_from_markdown((SAMPLE / f"{W13}.md").read_text("utf-8"))]))
            say("week 13 published in the feed")
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                answer = await _ask(fake)
                if "2021 年第 13 周" in answer or "2021-W13" in answer:
                    result.ask_after = answer
                    break
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"/ask never found the new issue; last answer:\n{answer}")
                await asyncio.sleep(0.5)
            say("/ask finds week 13")
        finally:
            await first.stop()
            result.bot_logs.append(first.log)
        say("bot 1 stopped (between the poll and the slot)")
        result.restart_at = len(feeds.log)
        second = BotProcess(env, work, args=args)
        await second.start()
        try:
            await _ready(fake, second, 2)
            say("bot 2 ready")

            def digests() -> list[dict[str, Any]]:
                return [m for m in fake.channel_messages.get(DIGEST_CHANNEL_ID, []) if m.get("embeds")]

            wait = (slot - dt.datetime.now(dt.UTC)).total_seconds() + 30
            await _until(lambda: len(digests()) >= 1 and bool(fake.threads), max(wait, 30), "the digest")
            # A few more feed polls and digest ticks: nothing else may be posted.
            polls = len(feeds.requests("/akira.rss"))
            await _until(lambda: len(feeds.requests("/akira.rss")) >= polls + 3, 30, "three more polls")
            result.digests = digests()
            result.threads = list(fake.threads.values())
            say("digest posted")
        finally:
            await second.stop()
            result.bot_logs.append(second.log)
        result.feed_log = [str(r) for r in feeds.log]
        result.archive_files = sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file())
    return result


def compact(lines: list[str], restart_at: int) -> list[str]:
    """Runs of the same line as one line with a count; a marker where the restarted bot begins.

    >>> compact(["a", "b", "b", "b", "c"], 2)
    ['a', 'b', '--- bot restarted ---', 'b  (x2)', 'c']
    """
    out: list[str] = []
    marked = [*lines[:restart_at], None, *lines[restart_at:]]
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}  (x{len(run)})")
            run.clear()

    for line in marked:
        if line is None:
            flush()
            out.append("--- bot restarted ---")
        elif run and line != run[0]:
            flush()
            run.append(line)
        else:
            run.append(line)
    flush()
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = asyncio.run(run_scenario(work / "run", work / "cache", say=lambda s: print(f"# {s}", flush=True)))
    print("\n== feed server request log (runs of one line counted) ==")
    print("\n".join(compact(result.feed_log, result.restart_at)))
    print("\n== archive folder ==")
    print("\n".join(result.archive_files))
    print("\n== digest set-up replies ==")
    print("\n".join(result.setup_replies))
    print("\n== /ask", QUESTION, "before the issue was published ==")
    print(result.ask_before)
    print("\n== /ask", QUESTION, "after the poll that found it ==")
    print(result.ask_after)
    print(f"\n== digest messages in the digest channel (slot {result.slot_time}) ==")
    for m in result.digests:
        print(f"content: {m['content']!r}; mention_roles: {m['mention_roles']}; mentions: {m['mentions']}; "
              f"mention_everyone: {m['mention_everyone']}")
        print(render_embeds(m["embeds"]))
    print("\n== the bots' feed and digest log lines ==")
    for n, log in enumerate(result.bot_logs, 1):
        for line in log.splitlines():
            if ("bot.feeds" in line and "not modified" not in line) or "bot.digest" in line or "reindexed" in line:
                print(f"bot {n}: {line}")
    print("\n== threads ==")
    for t in result.threads:
        print(f"thread {t['id']} on message {t['id']} in channel {t['parent_id']}: {t['name']!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
