"""Keyword alerts end to end: a real feed server, PostgreSQL, two ``newsbot run`` hosts and the fake Discord.

Host A runs shard 0 of 2 (it fetches the feed), host B shard 1; each has its own archive folder, cache and local
database, and both run the alert loop on the one PostgreSQL store. Three members subscribe through /subscribe in
shard 0's guild: a reader (whose words match an item of week 13 of 2021), a member whose DMs are closed (the fake
answers 50007), and one who removes the alert again at once. The feed then publishes week 13: A fetches it, B
syncs it from the store, and both look for alerts. The reader gets exactly one DM listing the match with its link;
the closed member's alert is paused (and they are told once, after their next command); the removed alert sends
nothing. A restart of A and more looks by both hosts send nothing more."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from botkit import BotProcess, guild_per_shard
from fake_discord import FakeDiscord, FakeGuild, FakeUser
from feed_server import SAMPLE, FeedServer, item_from_markdown, rss, sample_items

from bot.store import SCHEMA_VERSION, SqlStore, migrate_store, open_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

HAND_SAVED = "akiras-ml-news-week41-2020-5a3e0c000041"
W13 = "akiras-machine-learning-news-week-13-2021-5a3e0c210013"
READER = FakeUser(400000000000000001, "reader")
CLOSED = FakeUser(400000000000000002, "closed")
QUITTER = FakeUser(400000000000000003, "quitter")
QUERY = "Swin Transformer @everyone"



class Host(BotProcess):
    def __init__(self, name: str, shard: int, root: Path, env: dict[str, str], seed_cache: Path,
                 feed_url: str) -> None:
        folder = root / name
        self.archive = folder / "archive"
        self.archive.mkdir(parents=True)
        shutil.copy(SAMPLE / f"{HAND_SAVED}.md", self.archive / f"{HAND_SAVED}.md")
        cache = folder / "cache"
        shutil.copytree(seed_cache, cache)
        config = folder / "newsbot.toml"
        config.write_text(f'[archive]\npath = "{self.archive}"\nfeed_poll_seconds = 1.0\nfeed_timeout_seconds = 10\n'
                          f'\n[[archive.feeds]]\nurl = "{feed_url}"\nname = "akira"\n', encoding="utf-8")
        super().__init__({**env, "NEWSBOT_DB": str(folder / "local.sqlite3"), "NEWSBOT_STORAGE_CACHE_DIR": str(cache)},
                         folder, args=("run", "--config", str(config), "--shard-ids", str(shard), "--shard-count", "2"),
                         name=name, stop_deadline=60)


async def _command(fake: FakeDiscord, guild: FakeGuild, user: FakeUser, name: str,
                   options: dict[str, object] | None = None, followups: int = 1) -> list[dict[str, Any]]:
    handle = await fake.interact(name, options or {}, guild_id=guild.id, user=user)
    await handle.response(timeout=10)
    return [f.data for f in await handle.followups(followups, timeout=30)]


async def _until(predicate: Any, limit: float, host: Host, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise host.failure(f"{what} within {limit}s")
        await asyncio.sleep(0.1)


async def test_one_dm_per_issue_across_hosts_and_a_restart(pg_server: Any, tmp_path: Path,
                                                           shared_cache_dir: Path) -> None:
    url = pg_server.new_database()
    assert (await migrate_store(url))[1] == SCHEMA_VERSION
    store = await open_store(url)
    try:
        await _run(url, store, tmp_path, shared_cache_dir)
    finally:
        await store.close()


async def _run(url: str, store: SqlStore, tmp_path: Path, shared_cache_dir: Path) -> None:
    guilds = guild_per_shard()
    async with FeedServer() as feeds, FakeDiscord(guilds=list(guilds.values())) as fake:
        fake.dms.closed.add(CLOSED.id)
        items = sample_items([HAND_SAVED])
        feeds.publish("/akira.rss", rss(items))
        env = {**os.environ, "DISCORD_TOKEN": fake.token, "NEWSBOT_API_BASE": fake.api_base,
               "NEWSBOT_GATEWAY_URL": fake.gateway_url, "NEWSBOT_STORAGE_URL": url, "NEWSBOT_LOG_LEVEL": "INFO",
               "NEWSBOT_ALERTS_SEND_INTERVAL_SECONDS": "0.2"}
        a = Host("host-a", 0, tmp_path, env, shared_cache_dir, feeds.url("/akira.rss"))
        b = Host("host-b", 1, tmp_path, env, shared_cache_dir, feeds.url("/akira.rss"))
        guild = guilds[0]
        try:
            for h in (a, b):
                await h.start()
                await h.wait_for_line("digest loop running", deadline=120)
            await a.wait_for_line("feed akira", deadline=60)  # the first poll: the hand-saved issue, quiet

            for member in (READER, CLOSED, QUITTER):
                [added] = await _command(fake, guild, member, "subscribe", {"query": QUERY})
                assert "Alert added" in added["content"], added
            [removed] = await _command(fake, guild, QUITTER, "unsubscribe", {"alert": "1"})
            assert "Removed" in removed["content"]

            feeds.publish("/akira.rss", rss([*items, item_from_markdown((SAMPLE / f"{W13}.md").read_text("utf-8"))]))
            await _until(lambda: len(fake.dms.messages.get(READER.id, [])) == 1 and fake.dms.refused.get(CLOSED.id),
                         90, a, f"no alert DM (dms {fake.dms.messages.keys()}, refused {fake.dms.refused})")
            await b.wait_for_line("archive folder synced from the store", deadline=60)
            await asyncio.sleep(3)  # both hosts keep looking (each poll cycle, each reindex)

            # A restart of A while B runs: nothing is sent again.
            assert await a.stop() == 0, a.log[-3000:]
            first_a = a.log
            await a.start()
            await a.wait_for_line("digest loop running", deadline=120)
            await asyncio.sleep(4)

            # The closed member hears it once, after their next reply.
            [_, notice] = await _command(fake, guild, CLOSED, "subscriptions", followups=2)
            assert "paused" in notice["content"], notice
            assert "50007" in notice["content"], notice
            again = await fake.interact("subscriptions", guild_id=guild.id, user=CLOSED)
            await again.response(timeout=10)
            await again.followups(1, timeout=30)
            await asyncio.sleep(1)
            assert len(await again.followups(1)) == 1  # the list only: the notice was given once
            for h in (a, b):
                assert await h.stop() == 0, h.log[-3000:]
                assert "Traceback" not in h.log, h.log[-3000:]
        finally:
            for h in (a, b):
                await h.close()

        [dm] = fake.dms.messages[READER.id]
        assert fake.dms.refused == {CLOSED.id: 1}
        assert QUITTER.id not in fake.dms.messages
        assert QUITTER.id not in fake.dms.refused
        embed = dm["embeds"][0]
        assert "2021-W13" in embed["title"]
        assert "Swin" in embed["description"]
        assert embed["footer"]["text"] == f"newsbot alert · {W13}"
        assert "@\u200beveryone" in embed["description"]
        assert dm["mentions"] == []
        assert not dm["mention_everyone"]
        assert dm["allowed_mentions"] == {"parse": []}
        claims = {c.user_id: c.status for c in await store.alert_claims("default", W13)}
        assert claims == {READER.id: "sent", CLOSED.id: "closed"}
        logs = {"host-a before its restart": first_a, "host-a after": a.log, "host-b": b.log}
        senders = [name for name, log in logs.items() if f"alert sent to member {READER.id}" in log]
        assert len(senders) == 1, senders  # one process sent it, across both hosts and the restart
        print("ALERT DM as the fake recorded it:", dm, "sent by", senders)
