"""Faults while the bot runs: gateway drops under load, REST 5xx/429, a damaged query cache, a changing archive,
and a SIGKILL in the middle of a digest post. The real NewsbotClient and discord.py against the fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import re
import shutil
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from botkit import BotProcess, bot_env, bot_running, guild_config
from fake_discord import (
    DIGEST_CHANNEL_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    InteractionHandle,
)
from fake_discord.payloads import MEMBER_PERMISSIONS

from bot.app import build_app
from bot.commands import Newsbot
from bot.config import Config, sample_archive_dir
from bot.digest.schedule import DigestSettings, slot_for
from bot.discord_adapter.poster import digest_footer
from bot.library import cache_path
from bot.results import AskResult
from bot.store import open_store

INTERACTION_DEADLINE = 3.0  # Discord's rule for the first response to an interaction
MANAGE_GUILD = 1 << 5
ADMIN = MEMBER_PERMISSIONS | MANAGE_GUILD
URL = re.compile(r"https?://[^\s)<>\]]+")

QUESTIONS = (
    "CutMix 数据增强",
    "哪一期讲了不用乘法的矩阵乘积？",
    "变压器 模型 论文",
    "ViT robustness",
    "matrix multiplication without multiplies",
    "自监督学习",
    "图神经网络",
    "GAN 生成图像",
    "强化学习",
    "BYOL",
)


def answered(handle: InteractionHandle) -> list[Any]:
    """The followups the fake stored for this interaction (accepted posts only)."""
    return [c for c in handle.calls if c.kind == "followup" and 200 <= c.status < 300]


async def answer_of(handle: InteractionHandle, limit: float = 10.0) -> dict[str, Any]:
    """The one answer to a deferred command: checks the 3 s rule and returns the followup's payload."""
    callback = await handle.response(timeout=limit)
    assert callback.accepted, callback
    assert callback.type == 5
    assert callback.elapsed < INTERACTION_DEADLINE
    calls = await handle.followups(1, timeout=limit)
    assert len(calls) == 1, calls
    [followup] = calls
    assert 200 <= followup.status < 300
    data: dict[str, Any] = followup.data
    return data


def embed_urls(data: dict[str, Any]) -> list[str]:
    return URL.findall(data["embeds"][0].get("description", ""))


def urls(result: AskResult) -> list[str]:
    return [h.entry.url or "" for h in result.hits]


def field(data: dict[str, Any], name: str) -> str:
    return str(next(f["value"] for f in data["embeds"][0]["fields"] if f["name"].startswith(name)))


async def assert_each_answered_once(handles: list[InteractionHandle]) -> None:
    async with asyncio.timeout(30):
        for h in handles:
            await answer_of(h, limit=30)
    await asyncio.sleep(0.3)  # room for a duplicate to show up
    for h in handles:
        assert len(h.callbacks) == 1, (h, h.callbacks)  # a second (rejected) callback = a replayed dispatch
        assert len(answered(h)) == 1, (h, h.calls)


# -- 1. gateway drop under load --------------------------------------------------------------------


@pytest.mark.parametrize("code", [4000, None], ids=["close-4000", "tcp-abort"])
async def test_gateway_drop_mid_load_resumes_and_answers_each_once(fake: FakeDiscord, sample_config: Config,
                                                                   code: int | None) -> None:
    async def ask(i: int) -> InteractionHandle:
        return await fake.interact("ask", {"question": QUESTIONS[i % len(QUESTIONS)], "count": 1 + i % 7})

    async with bot_running(fake, guild_config(sample_config)):
        before = [await ask(i) for i in range(20)]  # in flight: deferred, searching, following up
        await fake.drop_gateway(code)
        assert any(not answered(h) for h in before)  # the drop really came mid-load
        during = [await ask(i) for i in range(20, 30)]  # buffered by the fake for the RESUME
        await fake.wait_until(lambda: any(c.resumed and not c.closed for c in fake.gateway_connections),
                              timeout=10, what="RESUME")
        after = [await ask(i) for i in range(30, 40)]
        [resumed] = [i for i, c in enumerate(fake.gateway_connections) if c.resumed]
        replayed = {f.payload["d"]["id"] for f in fake.gateway_frames if f.direction == "send"
                    and f.connection == resumed and f.payload["s"] in fake.gateway_connections[resumed].replayed
                    and f.payload["t"] == "INTERACTION_CREATE"}
        assert {str(h.id) for h in during} <= replayed  # these really waited for the RESUME
        await assert_each_answered_once(after)
        await assert_each_answered_once(before + during)
    assert sum(c.identified for c in fake.gateway_connections) == 1  # resumed, never re-identified
    assert not any(c.resume_rejected for c in fake.gateway_connections)
    assert fake.token_leaks() == []


# -- 2. REST 5xx and 429 -----------------------------------------------------------------------------

# Per interaction: the statuses its callback and its followup get before the real route answers. Callbacks
# carry at most one 5xx (discord.py waits 1 s, then 3 s: two would miss the 3 s deadline); followups have 15 min.
CALLBACK_FAULTS = [(), (500,), (502,), (429,), (429, 429), (500, 429)]
FOLLOWUP_FAULTS = [(500, 502), (429, 429, 429), (502, 429, 500), (429,), (500,), ()]


async def test_rest_5xx_and_429_every_answer_arrives_exactly_once(fake: FakeDiscord, sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config)) as client:
        await client.scheduler.configure(GUILD_ID, channel_id=DIGEST_CHANNEL_ID)
        # The digest goes through a channel route (discord.py's HTTPClient retries 500/502 and 429 there).
        fake.fail_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages", 500)
        fake.fail_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages", 502)
        fake.fail_next("POST", rf"/channels/{DIGEST_CHANNEL_ID}/messages", 429, retry_after=0.1)
        now = await fake.interact("newsbot digest-now", permissions=ADMIN)
        handles = []
        for i, (on_callback, on_followup) in enumerate(zip(CALLBACK_FAULTS, FOLLOWUP_FAULTS, strict=True)):
            h = await fake.interact("ask", {"question": QUESTIONS[i]})
            # Registered before the bot can react: no await between the dispatch and these lines.
            token = re.escape(h.token)
            for status in on_callback:
                fake.fail_next("POST", rf"/interactions/{h.id}/{token}/callback", status, retry_after=0.1)
            for status in on_followup:
                fake.fail_next("POST", rf"/webhooks/\d+/{token}", status, retry_after=0.1)
            handles.append(h)
        await assert_each_answered_once(handles)
        done = await answer_of(now, limit=30)
        assert done["content"].startswith("Posted the digest"), done
    injected = [r for r in fake.requests if r.injected]
    expected = 3 + sum(map(len, CALLBACK_FAULTS)) + sum(map(len, FOLLOWUP_FAULTS))
    assert len(injected) == expected  # every fault was really served
    digests = [m for m in fake.channel_messages[DIGEST_CHANNEL_ID] if m.get("embeds")]
    assert len(digests) == 1
    # One stored message per answer (the deferred placeholder, filled in by the one followup), no extras.
    assert len(fake.channel_messages[GENERAL_CHANNEL_ID]) == len(handles)


# -- 3. the query cache file goes bad while the bot runs ----------------------------------------------

def _garbage(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").write_bytes(b"\x13garbage, not SQLite\x00" * 2048)


def _delete(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
db.execute("ROLLBACK")
"""


@contextlib.asynccontextmanager
async def locked_by_process(path: Path) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", LOCKER, str(path),
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(20):
            assert (await proc.stdout.readline()).strip() == b"locked"
        yield
    finally:
        proc.stdin.close()
        try:
            async with asyncio.timeout(20):
                await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@contextlib.asynccontextmanager
async def cache_fault(kind: str, newsbot: Newsbot) -> AsyncIterator[str]:
    """Apply a fault to the running bot's cache file; yields a regex the stats status must match."""
    path = newsbot.cache.path
    if kind == "deleted":
        _delete(path)
        yield "deleted"
    elif kind == "corrupt":
        _garbage(path)
        yield "unreadable|corrupt|malformed"
    elif kind == "read-only":
        await newsbot.cache.clear()  # so the next answers are misses whose put meets the fault
        db = newsbot.cache._db
        assert db is not None
        await db.execute("PRAGMA query_only = ON")
        yield "read-only"
    elif kind == "locked-connection":
        await newsbot.cache.clear()
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            yield "locked"
        finally:
            other.close()
    elif kind == "locked-process":
        await newsbot.cache.clear()
        async with locked_by_process(path):
            yield "locked"
    else:
        raise ValueError(kind)


@pytest.mark.parametrize("kind", ["deleted", "corrupt", "read-only", "locked-connection", "locked-process"])
async def test_cache_fault_keeps_answers_and_stats_names_it(sample_config: Config, kind: str) -> None:
    async with build_app(sample_config, "console") as app:
        newsbot = app.service
        assert newsbot.cache.path == cache_path(sample_config.db_path)
        questions = QUESTIONS[:4]
        before = {q: urls(await newsbot.ask(q)) for q in questions}
        assert all(before.values())
        assert (await newsbot.ask(questions[0])).cached
        await newsbot.cache.drain()  # written (answers wait write_delay to go in one transaction): the fault meets them
        async with cache_fault(kind, newsbot) as named:
            for _ in range(2):
                for q in questions:
                    assert urls(await newsbot.ask(q)) == before[q], (kind, q)
            await newsbot.cache.drain()  # the answers' writes, which wait write_delay, meet the fault now
            status = (await newsbot.stats()).cache.status
            assert re.search(named, status), status
            if kind in ("read-only", "locked-connection", "locked-process"):
                assert not (await newsbot.ask(questions[0])).cached  # writes fail: uncached, not an error
        if kind in ("deleted", "corrupt", "locked-connection", "locked-process"):
            # The cache works again: a fresh miss is stored and then served.
            fresh = QUESTIONS[5]
            first = await newsbot.ask(fresh)
            second = await newsbot.ask(fresh)
            assert second.cached
            assert urls(second) == urls(first)
            await newsbot.cache.drain()
            assert cache_path(sample_config.db_path).exists()


async def test_cache_main_file_overwritten_in_place_never_gives_a_wrong_answer(sample_config: Config) -> None:
    # Only the main file, under the open connection: SQLite keeps every page in its WAL and page cache, so the
    # cache may not even notice (observed: status stays "ok"). It must never answer differently.
    async with build_app(sample_config, "console") as app:
        newsbot = app.service
        before = {q: urls(await newsbot.ask(q)) for q in QUESTIONS[:4]}
        newsbot.cache.path.write_bytes(b"garbage!" * 1024)
        for q in [*QUESTIONS[:4], *QUESTIONS[:4]]:
            assert urls(await newsbot.ask(q)) == before[q]


async def test_cache_faults_through_discord(fake: FakeDiscord, sample_config: Config) -> None:
    question = QUESTIONS[0]
    async with bot_running(fake, guild_config(sample_config)) as client:
        async def ask() -> dict[str, Any]:
            return await answer_of(await fake.interact("ask", {"question": question}))

        async def stats_cache() -> str:
            return field(await answer_of(await fake.interact("newsbot stats", permissions=ADMIN)), "Cache")

        first = await ask()
        assert "status: ok" in await stats_cache()
        expected = embed_urls(first)
        assert "https://arxiv.org/abs/1905.04899" in expected
        assert "cached" in (await ask())["embeds"][0]["footer"]["text"]
        for kind in ("deleted", "corrupt", "locked-process"):
            await client.newsbot.cache.drain()  # what was answered is written, so the fault meets it
            async with cache_fault(kind, client.newsbot) as named:
                for _ in range(2):
                    answer = await ask()
                    assert embed_urls(answer) == expected, kind
                    assert answer["embeds"][0]["description"] == first["embeds"][0]["description"]
                await client.newsbot.cache.drain()
                status = await stats_cache()
                assert re.search(named, status), (kind, status)


# -- 4. the archive changes, then /newsbot reindex -----------------------------------------------------

DELETED = "akiras-machine-learning-news-issue-31-5a3e0c000031.md"
BROKEN = {
    "binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 8,
    "empty.md": b"",
    "cyrillic-gbk.md": "Это не китайский текст, а кириллица в кодировке GBK.\n".encode("gbk") * 4,
    "two-bytes.md": b"\x1f\x8b",
}


async def test_reindex_after_archive_changes(fake: FakeDiscord, sample_config: Config, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(sample_archive_dir(), archive)
    config = guild_config(sample_config, path=str(archive))
    async with bot_running(fake, config) as client:
        newsbot = client.newsbot
        gone = next(i for i in newsbot.archive.newsletter_issues if i.path == DELETED)
        kept = [i for i in newsbot.archive.newsletter_issues if i.id != gone.id]
        listing = await answer_issues(fake)
        assert gone.title[:40] in listing
        # A query per remaining issue, from its first entry's title; and one aimed at the deleted issue.
        probes = {i.id: i.entries[0] for i in kept}
        before = {e.title: await newsbot.ask(e.title) for e in probes.values()}
        aimed = gone.entries[0].title
        assert gone.id in issues_of(await newsbot.ask(aimed))

        for name, data in BROKEN.items():
            (archive / name).write_bytes(data)
        (archive / DELETED).unlink()

        handle = await fake.interact("newsbot reindex", permissions=ADMIN, user=fake.owner)  # an operator
        reply = await answer_of(handle, limit=30)
        skipped = field(reply, f"{len(BROKEN)} files skipped")
        for name in BROKEN:
            assert name in skipped, skipped
        assert DELETED not in skipped
        assert f"{len(kept)} issues" in reply["embeds"][0]["description"]

        listing = await answer_issues(fake)
        assert gone.title[:40] not in listing
        assert all(i.title[:40] in listing for i in kept)
        assert gone.id not in {i.id for i in newsbot.archive.issues}
        for issue_id, entry in probes.items():
            # Still found. (The ranking below the top may shift: BM25's statistics changed with the archive.)
            result = await newsbot.ask(entry.title)
            assert issue_id in issues_of(result), entry.title
            assert urls(result)[0] == urls(before[entry.title])[0] == entry.url
        result = await newsbot.ask(aimed)
        assert gone.id not in issues_of(result)
        # The Discord surface answers too, for a kept issue.
        q = probes[kept[0].id].title
        answer = await answer_of(await fake.interact("ask", {"question": q}))
        assert urls(await newsbot.ask(q))[0] in embed_urls(answer)


def issues_of(result: AskResult) -> set[str]:
    return {h.issue.id for h in result.hits} | {a.id for h in result.hits for a in h.also_in}


async def answer_issues(fake: FakeDiscord) -> str:
    handle = await fake.interact("issues")
    callback = await handle.response()
    assert callback.accepted
    assert callback.elapsed < INTERACTION_DEADLINE
    return str(callback.data["embeds"][0]["description"])


# -- 5. SIGKILL in the middle of a digest post, then restart -------------------------------------------

@dataclasses.dataclass
class _Hold:
    method: str
    pattern: re.Pattern[str]
    arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    released: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    taken: bool = False


class HoldingFakeDiscord(FakeDiscord):
    """The fake, plus ``hold_next``: the route runs (a POSTed message is stored), then the response waits."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.holds: list[_Hold] = []

    def hold_next(self, method: str, path_regex: str) -> _Hold:
        hold = _Hold(method.upper(), re.compile(path_regex))
        self.holds.append(hold)
        return hold

    async def _route(self, req: Any) -> Any:
        outcome = await super()._route(req)
        hold = next((h for h in self.holds if not h.taken and h.method == req.method
                     and h.pattern.fullmatch(req.path)), None)
        if hold is not None:
            hold.taken = True
            hold.arrived.set()
            self._touch()
            await hold.released.wait()
        return outcome

    def release_all(self) -> None:
        for hold in self.holds:
            hold.released.set()


def _due_now(now: dt.datetime) -> tuple[int, dt.time]:
    """A weekday and time (UTC) that make this week's digest due a minute ago."""
    due = (now - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    if due.date() != now.date():
        due = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return due.weekday(), due.time()


async def _enable_digest_in_state_db(db_path: Path, now: dt.datetime) -> str:
    weekday, at = _due_now(now)
    settings = DigestSettings(GUILD_ID, DIGEST_CHANNEL_ID, weekday=weekday, time=at, timezone="UTC",
                              enabled=True, policy="next", enabled_at=now - dt.timedelta(hours=1))
    store = await open_store(str(db_path), create=True)
    try:
        await store.put_settings(settings)
    finally:
        await store.close()
    slot = slot_for(now, settings)
    assert slot.due_at <= now
    return slot.id


def _post_rows(db_path: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return db.execute("SELECT slot, status, message_id FROM digest_posts WHERE guild_id = ?",
                          (GUILD_ID,)).fetchall()


async def poll(predicate: Callable[[], bool], limit: float, what: str, bot: BotProcess) -> None:
    try:
        async with asyncio.timeout(limit):
            while not predicate():  # noqa: ASYNC110 - the state is another process's database
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise bot.failure(f"{what} not within {limit}s") from None


async def test_sigkill_during_digest_post_then_restart_posts_once(tmp_path: Path, shared_cache_dir: Path) -> None:
    db_path = tmp_path / "state.sqlite3"
    slot = await _enable_digest_in_state_db(db_path, dt.datetime.now(dt.UTC))
    path = rf"/channels/{DIGEST_CHANNEL_ID}/messages"
    async with HoldingFakeDiscord() as fake:
        hold = fake.hold_next("POST", path)
        env = bot_env(fake, db_path, shared_cache_dir)
        async with BotProcess(env, tmp_path) as bot:
            try:
                try:
                    async with asyncio.timeout(60):
                        await hold.arrived.wait()
                except TimeoutError:
                    raise bot.failure("no digest POST") from None
                # The nasty case: Discord created the message, the bot dies before it learns (and records) the id.
                [stored] = [m for m in fake.channel_messages[DIGEST_CHANNEL_ID] if m.get("embeds")]
                assert stored["embeds"][0]["footer"]["text"] == digest_footer(slot)
                assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
            finally:
                fake.release_all()
        assert _post_rows(db_path) == [(slot, "claimed", None)]

        # The dead sender's lease (10 min) would keep a restart from touching the claim until it runs out;
        # move it into the past to stand for that wait, as a restart 10 minutes later would see it.
        with contextlib.closing(sqlite3.connect(db_path)) as db, db:
            db.execute("UPDATE digest_posts SET lease_until = ?", ("2000-01-01T00:00:00.000000+00:00",))

        async with BotProcess(env, tmp_path) as bot:
            await poll(lambda: _post_rows(db_path)[0][1] == "posted", 60, "claim recorded as posted", bot)
            assert await bot.stop() == 0, bot.log[-3000:]
        digests = [m for m in fake.channel_messages[DIGEST_CHANNEL_ID] if m.get("embeds")]
        assert len(digests) == 1
        assert _post_rows(db_path) == [(slot, "posted", int(stored["id"]))]
        posts = [r for r in fake.requests if r.method == "POST" and r.path == path]
        assert len(posts) == 1  # found in the channel after the restart, never sent again
        assert fake.token_leaks() == []
