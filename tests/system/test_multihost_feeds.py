"""Two hosts, two archive folders, one PostgreSQL: an issue that one host fetches reaches the other's index.

Host A runs shard 0 of 2 (it fetches the feed), host B shard 1; each has its own archive folder, cache and local
database, as on separate machines with no shared filesystem. Both carry the same ``[[archive.feeds]]`` entry
(polled every second). The feed publishes week 13 of 2021: A writes it and puts it in the store, and ``/ask`` in
a guild of shard 1 (so answered by B) finds it. B is then stopped, its folder's feed files deleted, and
restarted without any feeds configured: it syncs them from the store before it builds its index and answers at
once, and its poll loop (which fetches nothing) still brings it week 10, which the feed publishes next.

Both guilds have the weekly digest on (Monday 09:00 UTC, policy ``latest``), turned on through the shared store
before any host runs, so the hand-saved week 41 of 2020 is their backlog. The feed's first poll (the hand-saved
issue only) is quiet; week 13 comes with the second, so it is news. The digest clock is ``NEWSBOT_TEST_CLOCK``
(ticks every 0.2 s): once week 13 has reached both hosts it moves past the due time, and each guild's channel
gets exactly one digest, for week 13, posted by the host of its shard, and no second one for that week after more
ticks, B's restart or week 10's arrival.

Before the fix B never got the issue (issue 19, item 1): the per-item state is shared, so B's own poll found it
"unchanged" and its folder never had the file, so (as issue 19 reports) B's guild never got week 13's digest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botkit import BotProcess, guild_per_shard
from fake_discord import FakeDiscord, FakeGuild, FakeUser
from feed_server import SAMPLE, FeedServer, item_from_markdown, rss, sample_items

from bot.digest.scheduler import DigestScheduler
from bot.discord_adapter.poster import DIGEST_MARK, digest_footer
from bot.store import SCHEMA_VERSION, SqlStore, migrate_store, open_store
from retrieval.archive import load_archive

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

HAND_SAVED = "akiras-ml-news-week41-2020-5a3e0c000041"
W13 = "akiras-machine-learning-news-week-13-2021-5a3e0c210013"
W10 = "akiras-machine-learning-news-week-10-2021-5a3e0c210010"
ASKED = {W13: ("Swin Transformer 移位窗口", "2021-W13"), W10: ("torch.fx 程序变换", "2021-W10")}
DUE = dt.datetime(2024, 3, 4, 9, 1, tzinfo=dt.UTC)  # a Monday, just after the digest's 09:00 UTC
SLOT = "2024-W10"



class Host(BotProcess):
    """``newsbot run`` for one shard of 2, with an archive folder, cache and local database of its own."""

    def __init__(self, name: str, shard: int, root: Path, env: dict[str, str], seed_cache: Path,
                 feed_url: str | None) -> None:
        folder = root / name
        self.archive = folder / "archive"
        self.archive.mkdir(parents=True)
        shutil.copy(SAMPLE / f"{HAND_SAVED}.md", self.archive / f"{HAND_SAVED}.md")
        cache = folder / "cache"
        shutil.copytree(seed_cache, cache)
        self.config = folder / "newsbot.toml"
        self.configure(feed_url)
        super().__init__({**env, "NEWSBOT_DB": str(folder / "local.sqlite3"), "NEWSBOT_STORAGE_CACHE_DIR": str(cache)},
                         folder, args=("run", "--config", str(self.config), "--shard-ids", str(shard),
                                       "--shard-count", "2"),
                         name=name, stop_deadline=60)

    def configure(self, feed_url: str | None) -> None:
        """The same archive settings; the feed entry, or (``None``) none."""
        feeds = f'\n[[archive.feeds]]\nurl = "{feed_url}"\nname = "akira"\n' if feed_url else ""
        self.config.write_text(f'[archive]\npath = "{self.archive}"\nfeed_poll_seconds = 1.0\n'
                               f"feed_timeout_seconds = 10\n{feeds}", encoding="utf-8")

    def feed_files(self) -> list[str]:
        feeds = self.archive / "feeds"
        return sorted(p.name for p in feeds.rglob("*.md")) if feeds.is_dir() else []


async def _ask(fake: FakeDiscord, guild: FakeGuild, user: int, issue: str = W13) -> str:
    handle = await fake.interact("ask", {"question": ASKED[issue][0]}, guild_id=guild.id,
                                 user=FakeUser(user, f"r{user}"))
    callback = await handle.response(timeout=10)
    assert (callback.status, callback.type) == (200, 5), callback
    [answer] = await handle.followups(1, timeout=60)
    return json.dumps(answer.data, ensure_ascii=False)


async def _until_answered(fake: FakeDiscord, guild: FakeGuild, host: Host, limit: float, issue: str = W13) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    user = 7_000_000
    while True:
        user += 1
        answer = await _ask(fake, guild, user, issue)
        if ASKED[issue][1] in answer:
            return answer
        if loop.time() > deadline:
            raise host.failure(f"/ask in {guild.name} never found {issue} within {limit}s; last answer {answer[:300]}")
        await asyncio.sleep(0.5)


def _write_clock(path: Path, now: dt.datetime) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(now.isoformat(), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a process never reads half a timestamp


def _digests(fake: FakeDiscord, guild: FakeGuild) -> list[dict[str, Any]]:
    """The digest messages in the guild's channel (the /ask answers land there too)."""
    return [m for m in fake.channel_messages[guild.channels[0].id]
            if m.get("embeds") and m["embeds"][0].get("footer", {}).get("text", "").startswith(DIGEST_MARK)]


async def _enable_digests(store: SqlStore, guilds: dict[int, FakeGuild], backlog: Path) -> None:
    """What ``/newsbot digest-policy latest`` and ``/newsbot digest-on`` do, with the hosts' backlog (the
    hand-saved issue) as the archive at enabling."""
    archive = load_archive(backlog)
    assert [i.id for i in archive.newsletter_issues] == [HAND_SAVED]
    scheduler = DigestScheduler(store, SimpleNamespace(archive=archive), clock=lambda: DUE - dt.timedelta(days=1))
    for g in guilds.values():
        await scheduler.configure(g.id, policy="latest")
        await scheduler.enable(g.id, g.channels[0].id)


async def _check_digests(fake: FakeDiscord, store: SqlStore, guilds: dict[int, FakeGuild],
                         senders: dict[int, int]) -> None:
    """Exactly one digest per guild, for week 13, recorded as posted by the process of the guild's shard."""
    for shard, g in guilds.items():
        [message] = _digests(fake, g)
        assert message["embeds"][0]["footer"]["text"] == digest_footer(SLOT), message
        assert ASKED[W13][1] in json.dumps(message["embeds"], ensure_ascii=False), message
        [row] = await store.posts(g.id)
        assert (row.slot, row.status, row.issue_id, row.message_id) == (SLOT, "posted", W13, int(message["id"]))
        assert row.claimed_by is not None
        assert row.claimed_by.endswith(f":{senders[shard]}"), (row.claimed_by, shard)


async def test_an_issue_fetched_by_one_host_is_answered_by_the_other(pg_server: Any, tmp_path: Path,
                                                                     shared_cache_dir: Path) -> None:
    url = pg_server.new_database()
    before, after, _ = await migrate_store(url)
    assert (before, after) == (0, SCHEMA_VERSION)
    guilds = guild_per_shard()
    clock = tmp_path / "clock"
    _write_clock(clock, DUE - dt.timedelta(days=1))
    store = await open_store(url)
    try:
        await _run(url, guilds, clock, store, tmp_path, shared_cache_dir)
    finally:
        await store.close()


async def _run(url: str, guilds: dict[int, FakeGuild], clock: Path, store: SqlStore, tmp_path: Path,
               shared_cache_dir: Path) -> None:
    async with FeedServer() as feeds, FakeDiscord(guilds=list(guilds.values())) as fake:
        items = sample_items([HAND_SAVED])
        feeds.publish("/akira.rss", rss(items))
        env = {**os.environ, "DISCORD_TOKEN": fake.token, "NEWSBOT_API_BASE": fake.api_base,
               "NEWSBOT_GATEWAY_URL": fake.gateway_url, "NEWSBOT_STORAGE_URL": url, "NEWSBOT_LOG_LEVEL": "INFO",
               "NEWSBOT_DISCORD_ASK_COOLDOWN_SECONDS": "0", "NEWSBOT_TEST_CLOCK": str(clock),
               "NEWSBOT_DIGEST_TICK_SECONDS": "0.2"}
        feed_url = feeds.url("/akira.rss")
        a = Host("host-a", 0, tmp_path, env, shared_cache_dir, feed_url)
        b = Host("host-b", 1, tmp_path, env, shared_cache_dir, feed_url)
        await _enable_digests(store, guilds, a.archive)
        try:
            for h in (a, b):
                await h.start()
                await h.wait_for_line("digest loop running", deadline=120)
            await a.wait_for_line("feed akira", deadline=60)  # A's first poll: the hand-saved issue, matched
            assert "2021-W13" not in await _ask(fake, guilds[1], 6_000_001)

            # The publication adds week 13; only A fetches it.
            feeds.publish("/akira.rss", rss([*items, item_from_markdown((SAMPLE / f"{W13}.md").read_text("utf-8"))]))
            answer = await _until_answered(fake, guilds[1], b, 60)  # answered by B, shard 1's host
            assert "Swin" in answer
            assert a.feed_files() == b.feed_files() == [f"{W13}.md"]
            await b.wait_for_line("archive folder synced from the store: 1 file(s) written")
            assert "feed akira:" not in b.log  # B never polled the feed itself: shard 0's host fetches
            await _until_answered(fake, guilds[0], a, 10)

            # Week 13 is on both hosts: the digests fall due, each guild's from the host of its shard.
            assert all(_digests(fake, g) == [] for g in guilds.values())
            _write_clock(clock, DUE)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while not all(_digests(fake, g) for g in guilds.values()):
                if loop.time() > deadline:
                    raise b.failure(f"digests {[len(_digests(fake, g)) for g in guilds.values()]} within 20s; "
                                    f"host-a log tail:\n{a.log[-2000:]}")
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # ten more ticks on each host
            senders = {0: a.pid, 1: b.pid}  # the process of each guild's shard
            await _check_digests(fake, store, guilds, senders)
            for shard, (h, other) in enumerate(((a, b), (b, a))):
                assert f"digest for guild {guilds[shard].id} slot {SLOT}: posted {W13}" in h.log
                assert f"digest for guild {guilds[shard].id}" not in other.log

            # B restarts with an empty folder and no feeds configured: it syncs before it builds its index.
            assert await b.stop() == 0, b.log[-3000:]
            shutil.rmtree(b.archive / "feeds")
            b.configure(None)
            await b.start()
            await b.wait_for_line("digest loop running", deadline=120)
            assert b.feed_files() == [f"{W13}.md"]
            assert "2021-W13" in await _ask(fake, guilds[1], 6_000_002)  # at once: no poll cycle needed

            # Its poll loop runs without feeds, so the next issue A fetches reaches it too.
            published = [*items, *(item_from_markdown((SAMPLE / f"{s}.md").read_text("utf-8")) for s in (W13, W10))]
            feeds.publish("/akira.rss", rss(published))
            await _until_answered(fake, guilds[1], b, 60, W10)
            assert b.feed_files() == sorted([f"{W13}.md", f"{W10}.md"])

            await asyncio.sleep(1)  # the restarted B ticks too: its guild's week is already posted
            assert f"digest for guild {guilds[1].id}" not in b.log
            for h in (a, b):
                assert await h.stop() == 0, h.log[-3000:]
                assert "Traceback" not in h.log, h.log[-3000:]
            await _check_digests(fake, store, guilds, senders)  # still one each, after B's restart and week 10
        finally:
            for h in (a, b):
                await h.close()
