"""Several hosts, one PostgreSQL: the whole deployment story with real processes.

Three ``newsbot run`` processes, each with its own cache directory (as on separate hosts), share one PostgreSQL
database and the fake Discord: host A runs shard 0 of 2, host B shard 1, and Z is a zombie that also runs shard 0
(started first, as an old instance that never died; the fake keeps both shard-0 sessions, as Discord does).
Four guilds, two on each shard, have the weekly digest on (Monday 09:00 UTC).

Time: the processes' digest clock is ``NEWSBOT_TEST_CLOCK`` (a file holding an instant; see
``bot.discord_adapter.launcher.test_clock``), so three weeks pass in a few minutes. Only the digest schedule reads
it; Discord, the cache and the PostgreSQL connections run in real time. Ticks are every 0.2 s
(``NEWSBOT_DIGEST_TICK_SECONDS``).

- week 1: the four digests, while A and the zombie race for every shard-0 claim;
- week 2: the process that claimed a shard-0 guild is SIGKILLed while its POST is in flight (the fake has created
  the message and holds the response). Its lease runs out (the clock moves 11 minutes), the other shard-0 process
  takes the claim over, finds the message and records it. The killed process is restarted;
- week 3: PostgreSQL is stopped before the due time: ``/ask`` still answers on both shards, ``/newsbot stats``
  says the digest waits, no digest goes out; PostgreSQL starts again and the four digests follow;
- then 1,000 ``/ask`` across both shards (so both hosts), 50 at a time, each acknowledged within Discord's 3 s.

Counted at the end: exactly one digest message per guild and week, none missing, every claim recorded as posted
with the message id Discord has; one command sync for the whole deployment.

Run it alone, with its figures printed: ``python -m pytest -q -s tests/system/test_multihost.py -p no:cacheprovider``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botkit import BotProcess
from fake_discord import FakeChannel, FakeDiscord, FakeGuild, FakeRole, FakeUser, InteractionHandle
from fake_discord.payloads import MEMBER_PERMISSIONS
from load_discord import build_asks
from pgserver import PASSWORD

from bot.digest.schedule import shard_owner
from bot.digest.scheduler import DigestScheduler
from bot.discord_adapter.poster import DIGEST_MARK, digest_footer
from bot.store import SCHEMA_VERSION, SqlStore, StoreUnavailable, migrate_store, open_store
from retrieval.archive import load_archive

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ADMIN = MEMBER_PERMISSIONS | (1 << 5)
WEEKS = [dt.datetime(2024, 3, 4, 9, 1, tzinfo=dt.UTC) + dt.timedelta(weeks=w) for w in range(3)]
SLOTS = ["2024-W10", "2024-W11", "2024-W12"]
ASKS, CONCURRENCY, DEADLINE = 1000, 50, 3.0


def _guilds() -> list[FakeGuild]:
    """Two guilds per shard of 2, each with a digest channel."""
    guilds: list[FakeGuild] = []
    gid = 1180000000000000100
    counts = {0: 0, 1: 0}
    while len(guilds) < 4:
        gid += 1 << 22
        shard = shard_owner(gid, 2)
        if counts[shard] == 2:
            continue
        counts[shard] += 1
        guilds.append(FakeGuild(gid, f"guild-{len(guilds)}", channels=(FakeChannel(gid + 1, "digest"),),
                                roles=(FakeRole(gid, "@everyone", permissions=MEMBER_PERMISSIONS),)))
    return guilds


class Host(BotProcess):
    """One ``newsbot run`` process for one shard of 2, with a folder and a cache directory of its own (as on a
    separate host)."""

    def __init__(self, name: str, shard: int, root: Path, env: dict[str, str], seed_cache: Path) -> None:
        folder = root / name
        cache = folder / "cache"
        shutil.copytree(seed_cache, cache)  # a warm jieba/CC-CEDICT cache, but this host's own copy
        super().__init__({**env, "NEWSBOT_DB": str(folder / "local.sqlite3"), "NEWSBOT_STORAGE_CACHE_DIR": str(cache)},
                         folder, args=("run", "--shard-ids", str(shard), "--shard-count", "2"), name=name,
                         stop_deadline=60)


def _write_clock(path: Path, now: dt.datetime) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(now.isoformat(), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a process never reads half a timestamp


async def _rows(store: SqlStore, guilds: list[FakeGuild]) -> dict[tuple[int, str], tuple[str, int | None, str | None]]:
    out = {}
    for g in guilds:
        for r in await store.posts(g.id):
            out[(g.id, r.slot)] = (r.status, r.message_id, r.claimed_by)
    return out


async def _poll(predicate: Any, limit: float, what: str, hosts: list[Host]) -> None:
    try:
        async with asyncio.timeout(limit):
            while True:
                try:
                    if await predicate():
                        return
                except StoreUnavailable:
                    pass  # the test's own pool meets a restarted server like the bots' do: next try
                await asyncio.sleep(0.1)
    except TimeoutError:
        tails = "\n".join(f"--- {h.name}\n{h.log[-2000:]}" for h in hosts)
        raise AssertionError(f"{what} not within {limit}s\n{tails}") from None


def _digests(fake: FakeDiscord, g: FakeGuild) -> list[dict[str, Any]]:
    """The digest messages in the guild's channel (the /ask answers of the test land there too)."""
    return [m for m in fake.channel_messages[g.channels[0].id]
            if m.get("embeds") and m["embeds"][0].get("footer", {}).get("text", "").startswith(DIGEST_MARK)]


def _footers(fake: FakeDiscord, g: FakeGuild) -> list[str]:
    return [m["embeds"][0]["footer"]["text"] for m in _digests(fake, g)]


async def _ask(fake: FakeDiscord, guild: FakeGuild, question: str, user: int,
               options: dict[str, object] | None = None) -> tuple[float, str]:
    handle: InteractionHandle = await fake.interact("ask", options or {"question": question}, guild_id=guild.id,
                                                    user=FakeUser(user, f"reader{user}"))
    callback = await handle.response(timeout=DEADLINE + 7)
    assert (callback.status, callback.type) == (200, 5), callback
    [answer] = await handle.followups(1, timeout=60)
    return callback.elapsed, json.dumps(answer.data, ensure_ascii=False)


async def _stats(fake: FakeDiscord, guild: FakeGuild) -> str:
    handle = await fake.interact("newsbot stats", guild_id=guild.id, permissions=ADMIN,
                                 user=FakeUser(9_000_001, "admin"))
    await handle.response(timeout=DEADLINE + 7)
    [shown] = await handle.followups(1, timeout=60)
    return json.dumps(shown.data, ensure_ascii=False)


async def test_three_weeks_on_two_hosts_with_a_zombie(pg_server: Any, tmp_path: Path,
                                                      shared_cache_dir: Path) -> None:
    started = time.monotonic()
    url = pg_server.new_database()
    assert await migrate_store(url) == (0, SCHEMA_VERSION, url.replace(f":{PASSWORD}", ""))
    guilds = _guilds()
    by_shard = {s: [g for g in guilds if shard_owner(g.id, 2) == s] for s in (0, 1)}
    clock = tmp_path / "clock"
    _write_clock(clock, WEEKS[0] - dt.timedelta(days=1))

    # The guilds turn the digest on (what /newsbot digest-on does), before any bot runs.
    archive = load_archive(Path(__file__).resolve().parents[2] / "retrieval" / "sample_archive")
    assert len(archive.newsletter_issues) >= 3
    admin_store = await open_store(url)
    try:
        scheduler = DigestScheduler(admin_store, SimpleNamespace(archive=archive),
                                    clock=lambda: WEEKS[0] - dt.timedelta(days=1))
        for g in guilds:
            await scheduler.enable(g.id, g.channels[0].id)
        await _run_deployment(url, guilds, by_shard, clock, admin_store, tmp_path, shared_cache_dir, pg_server,
                              started)
    finally:
        await admin_store.close()


async def _run_deployment(url: str, guilds: list[FakeGuild], by_shard: dict[int, list[FakeGuild]], clock: Path,
                          store: SqlStore, tmp_path: Path, seed_cache: Path, pg_server: Any,
                          started: float) -> None:
    report: dict[str, Any] = {}
    async with FakeDiscord(guilds=guilds, duplicate_shard_sessions=True) as fake:
        env = {**os.environ, "DISCORD_TOKEN": fake.token, "NEWSBOT_API_BASE": fake.api_base,
               "NEWSBOT_GATEWAY_URL": fake.gateway_url, "NEWSBOT_STORAGE_URL": url, "NEWSBOT_LOG_LEVEL": "INFO",
               "NEWSBOT_TEST_CLOCK": str(clock), "NEWSBOT_DIGEST_TICK_SECONDS": "0.2"}
        zombie, a, b = (Host("zombie", 0, tmp_path, env, seed_cache), Host("host-a", 0, tmp_path, env, seed_cache),
                        Host("host-b", 1, tmp_path, env, seed_cache))
        hosts = [zombie, a, b]
        try:
            for h in hosts:  # the zombie first: A's session is the newer one, which Discord routes events to
                await h.start()
                await h.wait_for_line("digest loop running", deadline=120)
            assert fake.shard_sessions_connected(0) == 2
            assert fake.shard_sessions_connected(1) == 1

            # -- week 1: A and the zombie race for every shard-0 claim
            _write_clock(clock, WEEKS[0])

            async def week_done(w: int, count: int = 4) -> bool:
                rows = await _rows(store, guilds)
                return sum(1 for (_, slot), r in rows.items() if slot == SLOTS[w] and r[0] == "posted") == count

            await _poll(lambda: week_done(0), 120, "week 1's four digests", hosts)

            # -- week 2: kill the process whose digest POST is in flight
            victim_guild = by_shard[0][0]
            pause = fake.pause_next("POST", rf"/channels/{victim_guild.channels[0].id}/messages")
            _write_clock(clock, WEEKS[1])
            await asyncio.wait_for(pause.arrived.wait(), 120)
            claim = (await store.get_post(victim_guild.id, SLOTS[1]))
            assert claim is not None
            assert claim.status == "claimed"
            assert claim.claimed_by is not None
            victim = next(h for h in hosts if claim.claimed_by.endswith(f":{h.pid}"))
            assert await victim.stop(signal.SIGKILL) == -signal.SIGKILL
            pause.release()
            report["killed"] = victim.name
            await _poll(lambda: week_done(1, 3), 120, "week 2's other three digests", hosts)
            claim = await store.get_post(victim_guild.id, SLOTS[1])
            assert claim is not None
            assert claim.status == "claimed"  # the message exists, the record does not: the lease still holds
            assert len(_digests(fake, victim_guild)) == 2
            _write_clock(clock, WEEKS[1] + dt.timedelta(minutes=11))  # the dead sender's 10-minute lease is over
            await _poll(lambda: week_done(1), 120, "the takeover of the killed process's claim", hosts)
            await victim.start()
            await victim.wait_for_line("digest loop running", deadline=120)

            # -- week 3: PostgreSQL is down when the digests fall due
            pg_server.stop()
            try:
                _write_clock(clock, WEEKS[2])
                for h in hosts:
                    await h.wait_for_line("digests wait: PostgreSQL at", deadline=120)
                for shard, gs in by_shard.items():
                    elapsed, text = await _ask(fake, gs[0], "CutMix 数据增强", 8_000_000 + shard)
                    assert elapsed < DEADLINE
                    assert "https://arxiv.org/abs/1905.04899" in text
                    shown = await _stats(fake, gs[1])
                    assert "shared state store (postgresql) has been unreachable since" in shown
                assert all(SLOTS[2] not in f for g in guilds for f in _footers(fake, g))
            finally:
                pg_server.start()
            await _poll(lambda: week_done(2), 180, "week 3's digests after PostgreSQL is back", hosts)
            for h in hosts:
                await h.wait_for_line("digests resume", deadline=120)

            # -- the load: 1,000 /ask across both shards, 50 at a time
            report["load"] = await _load(fake, by_shard)

            for h in hosts:
                assert await h.stop() == 0, h.log[-3000:]
        finally:
            for h in hosts:
                await h.close()

        # -- the counts
        rows = await _rows(store, guilds)
        messages = {g.id: _digests(fake, g) for g in guilds}
        for g in guilds:
            assert _footers(fake, g) == [digest_footer(s) for s in SLOTS], g.name
            for slot, message in zip(SLOTS, messages[g.id], strict=True):
                assert rows[(g.id, slot)][:2] == ("posted", int(message["id"]))
        assert sorted(rows) == sorted((g.id, s) for g in guilds for s in SLOTS)  # no other slot was ever claimed
        assert len(fake.command_syncs) == 1  # once for the deployment: shard 0, first start
        assert fake.token_leaks() == []
        for h in hosts:
            assert PASSWORD not in h.log
            assert "Traceback" not in h.log, h.log[-3000:]
        channels = {g.channels[0].id for g in guilds}
        posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")
                 and int(r.path.split("/")[2]) in channels]
        report.update({
            "guilds": len(guilds), "weeks": len(SLOTS),
            "digest_messages": sum(len(m) for m in messages.values()),
            "digest_messages_per_guild_week": sorted({len([f for f in _footers(fake, g) if f.endswith(s)])
                                                      for g in guilds for s in SLOTS}),
            "digest_posts_sent": len(posts), "nonce_replays": fake.nonce_replays,
            "claims_by_process": _claims_by(rows, hosts),
            "command_syncs": len(fake.command_syncs),
            "seconds": round(time.monotonic() - started, 1),
        })
    print("\nmulti-host:", json.dumps(report, indent=1))
    if os.environ.get("MULTIHOST_REPORT"):
        Path(os.environ["MULTIHOST_REPORT"]).write_text(json.dumps(report, indent=1), encoding="utf-8")


def _claims_by(rows: dict[tuple[int, str], tuple[str, int | None, str | None]], hosts: list[Host]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, who in rows.values():
        pid = int(re.sub(r".*:", "", who or "0"))
        name = next((h.name for h in hosts if h.proc is not None and h.proc.pid == pid), f"earlier pid {pid}")
        counts[name] = counts.get(name, 0) + 1
    return counts


async def _load(fake: FakeDiscord, by_shard: dict[int, list[FakeGuild]]) -> dict[str, Any]:
    asks = build_asks(ASKS, [])
    guilds = [g for pair in zip(by_shard[0], by_shard[1], strict=True) for g in pair]
    gate = asyncio.Semaphore(CONCURRENCY)
    acks: list[float] = []
    per_shard = {0: 0, 1: 0}

    async def one(i: int) -> None:
        guild = guilds[i % len(guilds)]
        async with gate:
            elapsed, text = await _ask(fake, guild, asks[i].question, 10_000_000 + i, asks[i].options())
        assert '"embeds"' in text
        acks.append(elapsed)
        per_shard[shard_owner(guild.id, 2)] += 1

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(ASKS)))
    wall = time.monotonic() - t0
    acks.sort()
    assert len(acks) == ASKS
    assert acks[-1] < DEADLINE, acks[-10:]
    return {"asks": ASKS, "concurrency": CONCURRENCY, "per_shard": per_shard, "wall_s": round(wall, 1),
            "ack_ms_p50": round(1000 * statistics.median(acks)), "ack_ms_p99": round(1000 * acks[int(0.99 * ASKS)]),
            "ack_ms_max": round(1000 * acks[-1])}

