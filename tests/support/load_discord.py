"""Load command: the real newsbot Discord client under N concurrent ``/ask`` interactions.

Not a unit test (pytest does not collect it). Run it from the repository root::

    python tests/support/load_discord.py --n 1000 --concurrency 50 --archive ../shared/corpus/akira
    python tests/support/load_discord.py --reindex-stress ../shared/corpus/stress --json

The fake Discord (``tests/support/fake_discord``) and the request driver run on 127.0.0.1 in a process of their
own, so Discord's clock keeps running while the bot's process is stalled (GIL, CPU), as it would in
production, and the fake's JSON and HTTP work is not counted against the bot.
The bot is the real ``NewsbotClient`` built as ``newsbot run`` builds it (``build_app``, then ``make_client``)
on a SQLite store in a temporary folder, commands synced to the fake guild, and the ``/ask`` cooldown left ON:
every request comes from its own fake user, so the cooldown code runs on every request without refusing any.

Every question is distinct (the eval questions plus a topic word, an issue filter, a count, an English or
Chinese addition), so the query cache cannot answer them; its hit counter is reported.

``--reindex-stress DIR``: the bot starts on an archive folder that holds the archive's files (as
symlinks); after ~10 % of the requests have been dispatched, DIR's files are moved into that folder
(one rename) and an admin sends ``/newsbot reindex``. Requests dispatched between the reindex command
and the index swap are reported separately, and each answer that arrived before the swap is checked to
contain only links from the old archive; a few questions only the new files can answer are asked after the reply.

``--profile`` samples the bot thread's stack whenever its event loop has not run for 50 ms and prints
where it was, plus what the other threads were doing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import tomllib
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))  # fake_discord, when run as a script

from fake_discord import GUILD_ID, FakeDiscord, FakeUser, InteractionHandle, running
from fake_discord.payloads import MEMBER_PERMISSIONS

from bot.app import build_app
from bot.config import Config, load_config
from bot.discord_adapter.client import point_at
from bot.discord_adapter.launcher import make_client
from retrieval.measure.evaluate import QUESTION_SETS

T = TypeVar("T")

DEADLINE = 3.0  # Discord's limit for the first response to an interaction
TARGET_P99_FIRST = 0.5
MANAGE_GUILD = 1 << 5
QUESTIONS = QUESTION_SETS["dev"]  # the dev set only: the held-out set is for measuring, not for load
URL_RE = re.compile(r"https?://[^\s)>\]]+")

PROBES = ("如何选择最后一层激活和损失函数", "HashMap 和 Hashtable 的区别", "Java 多线程 面试题", "Spring Boot 教程",
          "Keras 模型 保存", "目标检测 最新进展", "Java 字符串 比较", "数据库 索引 SQL", "Linux 命令 grep",
          "Docker 部署 Python")
"""Asked after the swap: questions only the stress corpus (Java and data-science blogs) answers."""

TOPICS_ZH = ("论文", "模型", "数据集", "图像", "强化学习", "自监督", "生成", "代码", "基准", "速度", "变压器", "视频")
TOPICS_EN = ("paper", "model", "dataset", "images", "reinforcement learning", "self-supervised", "GAN", "code",
             "benchmark", "faster", "transformer", "video")

log = logging.getLogger("load_discord")


# -- the questions ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Ask:
    question: str
    issue: str | None
    count: int | None

    def options(self) -> dict[str, object]:
        options: dict[str, object] = {"question": self.question}
        if self.issue is not None:
            options["issue"] = self.issue
        if self.count is not None:
            options["count"] = self.count
        return options


def _is_chinese(text: str) -> bool:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text) > len(text) // 10


def build_asks(n: int, issue_ids: list[str], seed: int = 7) -> list[Ask]:
    """``n`` distinct ``/ask`` requests: eval questions, then systematic variations of them."""
    bases = [q["query"] for q in tomllib.loads(QUESTIONS.read_text(encoding="utf-8"))["question"]]
    asks: list[Ask] = []
    seen: set[tuple[str, str | None, int | None]] = set()
    variant = 0
    while len(asks) < n:
        for b, base in enumerate(bases):
            if len(asks) >= n:
                break
            v = variant + b  # spread the option patterns over the questions
            # Append a topic word in the same language, or (every other round) the other language.
            same = TOPICS_ZH if _is_chinese(base) else TOPICS_EN
            other = TOPICS_EN if same is TOPICS_ZH else TOPICS_ZH
            words = (same if variant % 2 else other)
            question = base if variant == 0 else f"{base} {words[(variant // 2 + b) % len(words)]}"
            if variant >= 2 * len(words):  # past one full round of words: two of them
                question += f" {other[(variant + 3 * b) % len(other)]}"
            issue = issue_ids[(v * 7) % len(issue_ids)] if issue_ids and v % 4 == 3 else None
            count = 1 + (v * 5) % 25 if v % 3 == 2 else None
            key = (" ".join(question.lower().split()), issue, count)
            if key in seen:
                continue
            seen.add(key)
            asks.append(Ask(question, issue, count))
        variant += 1
    random.Random(seed).shuffle(asks)
    return asks


# -- the fake in its own process ------------------------------------------------------------------

def fake_process(conn: Connection) -> None:
    """The fake Discord and the request driver, in a process of their own (spawned).

    Sends ``(api_base, gateway_url, token)``, receives the plan, runs it, sends the outcomes back,
    and stops the server when told to. A stalled bot process cannot stall Discord's clock here.
    """
    asyncio.run(_fake_main(conn))


async def _fake_main(conn: Connection) -> None:
    fake = FakeDiscord()
    await fake.start()
    try:
        conn.send((fake.api_base, fake.gateway_url, fake.token))
        plan: dict[str, Any] = await asyncio.to_thread(conn.recv)
        asks = [Ask(**a) for a in plan["asks"]]
        move = plan["move"]
        land = (lambda: Path(move[0]).rename(move[1])) if move else None
        outcomes, run, probes = await drive(fake, asks, plan["concurrency"], answer_timeout=plan["answer_timeout"],
                                            rate=plan["rate"], reindex=land)
        conn.send(([dataclasses.asdict(o) for o in outcomes], run and dataclasses.asdict(run),
                   [dataclasses.asdict(o) for o in probes]))
        await asyncio.to_thread(conn.recv)  # the bot has closed
    finally:
        await fake.close()


def _outcome(d: dict[str, Any]) -> Outcome:
    return Outcome(**{**d, "ask": Ask(**d["ask"]), "urls": tuple(d["urls"])})


# -- measurements ----------------------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    index: int
    ask: Ask
    dispatched_at: float = 0.0
    ack_elapsed: float | None = None
    ack_status: int | None = None
    ack_type: int | None = None
    answer_elapsed: float | None = None
    answer_at: float | None = None
    answer_status: int | None = None
    urls: tuple[str, ...] = ()
    error: str | None = None


@dataclasses.dataclass
class ReindexRun:
    dispatched_at: float = 0.0
    ack_elapsed: float | None = None
    done_elapsed: float | None = None
    reported: str = ""
    error: str | None = None


def _text(message: dict[str, Any]) -> str:
    parts = [message.get("content") or ""]
    for e in message.get("embeds") or []:
        parts += [e.get("title") or "", e.get("description") or "", e.get("url") or ""]
        parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in e.get("fields") or []]
    return "\n".join(parts)


async def one_ask(fake: FakeDiscord, outcome: Outcome, *, answer_timeout: float) -> None:
    user = FakeUser(10_000_000 + outcome.index, f"reader{outcome.index}")
    handle: InteractionHandle | None = None
    try:
        handle = await fake.interact("ask", outcome.ask.options(), user=user)
        outcome.dispatched_at = handle.dispatched_at
        callback = await handle.response(timeout=DEADLINE + 7)
        outcome.ack_elapsed, outcome.ack_status, outcome.ack_type = callback.elapsed, callback.status, callback.type
        if callback.status != 200:
            outcome.error = f"callback {callback.status}"
            return
        if callback.type != 5:  # an answer without defer is an error message (cooldown, bad option…)
            outcome.error = f"callback type {callback.type}: {_text(callback.data or {})[:80]}"
            return
        [answer, *_] = await handle.followups(1, timeout=answer_timeout)
        outcome.answer_elapsed, outcome.answer_at, outcome.answer_status = (
            answer.elapsed, answer.received_at, answer.status)
        data = answer.data if isinstance(answer.data, dict) else {}
        outcome.urls = tuple(URL_RE.findall(_text(data)))
        if answer.status not in (200, 204):
            outcome.error = f"followup {answer.status}"
        elif not data.get("embeds"):
            outcome.error = f"followup without an answer: {_text(data)[:80]}"
    except TimeoutError as err:
        outcome.error = "no followup" if outcome.ack_elapsed is not None else f"no callback: {err}"
    except Exception as err:  # noqa: BLE001 - a load run reports every failure instead of stopping
        outcome.error = f"{type(err).__name__}: {err}"
    finally:
        if handle is not None and not outcome.dispatched_at:
            outcome.dispatched_at = handle.dispatched_at


async def one_reindex(fake: FakeDiscord, run: ReindexRun, limit: float) -> None:
    try:  # reindex acts on the whole deployment: the application's owner asks for it
        handle = await fake.interact("newsbot reindex", user=fake.owner, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
        run.dispatched_at = handle.dispatched_at
        callback = await handle.response(timeout=DEADLINE + 7)
        run.ack_elapsed = callback.elapsed
        [done, *_] = await handle.followups(1, timeout=limit)
        run.done_elapsed = done.elapsed
        run.reported = _text(done.data if isinstance(done.data, dict) else {}).strip()
    except Exception as err:  # noqa: BLE001
        run.error = f"{type(err).__name__}: {err}"


async def drive(fake: FakeDiscord, asks: list[Ask], concurrency: int, *, answer_timeout: float, rate: float | None,
                reindex: Callable[[], object] | None) -> tuple[list[Outcome], ReindexRun | None, list[Outcome]]:
    """Runs in the fake's loop: N asks, ``concurrency`` in flight, and the reindex after ~10 %.

    With a reindex, the ``PROBES`` are asked once it has answered (not part of the N)."""
    gate = asyncio.Semaphore(concurrency)
    outcomes = [Outcome(i, a) for i, a in enumerate(asks)]
    trigger_at = max(1, len(asks) // 10) if reindex is not None else -1
    run: ReindexRun | None = None
    side: list[asyncio.Task[None]] = []

    async def limited(o: Outcome) -> None:
        async with gate:
            await one_ask(fake, o, answer_timeout=answer_timeout)

    tasks: list[asyncio.Task[None]] = []
    start = time.monotonic()
    for o in outcomes:
        if rate:  # an arrival schedule, so the requests can span the whole reindex
            await asyncio.sleep(max(0.0, start + o.index / rate - time.monotonic()))
        if o.index == trigger_at and reindex is not None:
            reindex()  # the new files land in the archive folder, then the admin asks for a reindex
            run = ReindexRun()
            side.append(asyncio.create_task(one_reindex(fake, run, limit=900)))
        await gate.acquire()  # dispatch in order, as soon as a slot is free
        gate.release()
        tasks.append(asyncio.create_task(limited(o)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    probes: list[Outcome] = []
    if side:
        await side[0]  # the reindex itself
        probes = [Outcome(len(asks) + i, Ask(q, None, None)) for i, q in enumerate(PROBES)]
        await asyncio.gather(*(limited(o) for o in probes))
    return outcomes, run, probes


# -- the bot loop's health -------------------------------------------------------------------------

class LoopMonitor:
    """Ticks every 10 ms in the bot's loop; a late tick is time the loop could not run callbacks."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self.beat = time.monotonic()
        self.busy_stacks: collections.Counter[str] = collections.Counter()
        self.other_threads: collections.Counter[str] = collections.Counter()
        self.profile_samples = 0
        self._stop = threading.Event()

    async def tick(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(0.01)
            self.beat = now = time.monotonic()
            self.samples.append((start, now - start - 0.01))

    def sample_forever(self, bot_thread: int, threshold: float = 0.05) -> None:
        """In a watchdog thread: where is the bot thread while its loop is overdue?"""
        me = threading.get_ident()
        names = {t.ident: t.name for t in threading.enumerate()}
        while not self._stop.wait(0.005):
            if time.monotonic() - self.beat < threshold:
                continue
            frames = sys._current_frames()
            frame = frames.get(bot_thread)
            if frame is None:
                continue
            self.profile_samples += 1
            stack = traceback.extract_stack(frame)[-10:]
            self.busy_stacks["\n".join(f"    {Path(f.filename).name}:{f.lineno} {f.name}" for f in stack)] += 1
            for ident, other in frames.items():
                if ident in (me, bot_thread):
                    continue
                stack = traceback.extract_stack(other)
                if ident not in names:
                    names = {t.ident: t.name for t in threading.enumerate()}
                ours = [f for f in stack if f"{os.sep}retrieval{os.sep}" in f.filename
                        or f"{os.sep}bot{os.sep}" in f.filename]
                where = f"{Path(stack[-1].filename).name}:{stack[-1].lineno} {stack[-1].name}"
                if ours:
                    where += f" ← {Path(ours[-1].filename).name}:{ours[-1].lineno} {ours[-1].name}"
                    if len(ours) > 1:
                        where += f" ← {Path(ours[0].filename).name}:{ours[0].lineno} {ours[0].name}"
                self.other_threads[f"[{names.get(ident, ident)}] {where}"] += 1

    def stop(self) -> None:
        self._stop.set()

    def lag(self, start: float | None = None, end: float | None = None) -> dict[str, float]:
        lags = [lag for at, lag in self.samples if (start is None or at >= start) and (end is None or at < end)]
        return {"p50_ms": _ms(pct(lags, 50)), "p99_ms": _ms(pct(lags, 99)), "max_ms": _ms(max(lags, default=0))}

    def worst(self, since: float, count: int = 5) -> list[tuple[float, float]]:
        """The longest stalls as (seconds after ``since``, milliseconds)."""
        top = sorted(self.samples, key=lambda s: s[1], reverse=True)[:count]
        return [(round(at - since, 1), round(1000 * lag)) for at, lag in sorted(top)]


# -- report ----------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values).

    >>> pct([0.4, 0.1, 0.3, 0.2], 50), pct([0.4, 0.1, 0.3, 0.2], 99), pct([], 99)
    (0.2, 0.4, 0.0)
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 100)) - 1))]


def _ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    first = [o.ack_elapsed for o in outcomes if o.ack_elapsed is not None]
    answers = [o.answer_elapsed for o in outcomes if o.answer_elapsed is not None]
    acked = sum(1 for o in outcomes if o.ack_status == 200 and o.ack_elapsed is not None and o.ack_elapsed < DEADLINE)
    errors = [o for o in outcomes if o.error]
    kinds = collections.Counter(re.sub(r"\d{3,}", "N", (o.error or "").split(":")[0]) for o in errors)
    return {
        "count": len(outcomes),
        "acknowledged_within_3s": acked,
        "first_response_ms": {"p50": _ms(pct(first, 50)), "p95": _ms(pct(first, 95)),
                              "p99": _ms(pct(first, 99)), "max": _ms(max(first, default=0))},
        "answer_ms": {"p50": _ms(pct(answers, 50)), "p99": _ms(pct(answers, 99)), "max": _ms(max(answers, default=0))},
        "errors": len(errors),
        "error_kinds": dict(kinds),
        "error_examples": [f"#{o.index} {o.ask.question[:40]!r}: {o.error}" for o in errors[:3]],
    }


def meets(summary: dict[str, Any]) -> bool:
    return bool(summary["acknowledged_within_3s"] == summary["count"]
                and summary["first_response_ms"]["p99"] < 1000 * TARGET_P99_FIRST and summary["errors"] == 0)


def print_summary(title: str, s: dict[str, Any]) -> None:
    f, a = s["first_response_ms"], s["answer_ms"]
    print(f"{title}: {s['count']} requests")
    print(f"  acknowledged within 3 s : {s['acknowledged_within_3s']}/{s['count']}")
    print(f"  dispatch→first response : p50 {f['p50']:.0f} ms · p95 {f['p95']:.0f} ms · p99 {f['p99']:.0f} ms"
          f" · max {f['max']:.0f} ms")
    print(f"  dispatch→answer         : p50 {a['p50']:.0f} ms · p99 {a['p99']:.0f} ms · max {a['max']:.0f} ms")
    print(f"  errors                  : {s['errors']} {s['error_kinds'] or ''}")
    for example in s["error_examples"]:
        print(f"    {example}")


# -- setup -----------------------------------------------------------------------------------------

def mirror(src: Path, dst: Path) -> int:
    """``dst`` gets a symlink to every file below ``src`` (pathlib's rglob does not enter linked folders)."""
    n = 0
    for path in sorted(src.rglob("*")):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path.resolve())
            n += 1
    return n


def bot_config(work: Path, archive: Path, cache_dir: Path | None) -> Config:
    config = load_config(env={}, archive__path=str(archive), storage__db_path=str(work / "state.sqlite3"),
                         storage__cache_dir=str(cache_dir or work / "cache"))
    # Guild sync (instant); the /ask cooldown keeps its configured value: each request has its own user.
    return msgspec.structs.replace(config, discord=msgspec.structs.replace(config.discord, guild_ids=(GUILD_ID,)))


class LogCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "voice will NOT be supported" in record.getMessage():
            return
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")


@contextlib.contextmanager
def lowered_switch_interval(value: float | None) -> Iterator[None]:
    old = sys.getswitchinterval()
    if value is not None:
        sys.setswitchinterval(value)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="newsbot-load-"))
    archive_dir = work / "archive"
    staged = work / "staged-stress"
    try:
        files = mirror(args.archive.resolve(), archive_dir / args.archive.resolve().name)
        stress_files = mirror(args.reindex_stress.resolve(), staged) if args.reindex_stress else 0
        config = bot_config(work, archive_dir, args.cache_dir)
        resources = contextlib.AsyncExitStack()
        started = time.perf_counter()
        app = await resources.enter_async_context(build_app(config, "discord"))  # what `newsbot run` builds
        client = make_client(app, guild_ready_timeout=0.1)
        startup = time.perf_counter() - started
        newsbot = client.newsbot
        old_urls = {e.url for e in newsbot.archive.entries if e.url}
        old_urls |= {i.source_url for i in newsbot.archive.issues if i.source_url}
        asks = build_asks(args.n, [i.id for i in newsbot.archive.newsletter_issues])
        monitor = LoopMonitor()
        loop_lag = asyncio.create_task(monitor.tick())
        watchdog = None
        if args.profile:
            watchdog = threading.Thread(target=monitor.sample_forever, args=(threading.get_ident(),),
                                        name="watchdog", daemon=True)
            watchdog.start()

        load_before = os.getloadavg()
        ctx = multiprocessing.get_context("spawn")
        conn, child_conn = ctx.Pipe()
        fake_proc = ctx.Process(target=fake_process, args=(child_conn,), name="fake-discord", daemon=True)
        fake_proc.start()
        try:
            api_base, gateway_url, token = await asyncio.to_thread(conn.recv)
            point_at(api_base, gateway_url)  # what `newsbot run` does with NEWSBOT_API_BASE / NEWSBOT_GATEWAY_URL
            async with running(client, token, timeout=30):
                t0 = time.monotonic()
                conn.send({"asks": [dataclasses.asdict(a) for a in asks], "concurrency": args.concurrency,
                           "rate": args.rate, "answer_timeout": args.answer_timeout,
                           "move": (str(staged), str(archive_dir / "stress")) if args.reindex_stress else None})
                raw_outcomes, raw_run, raw_probes = await asyncio.to_thread(conn.recv)
                wall = time.monotonic() - t0
                cache = newsbot.cache.stats
            conn.send("close")
        finally:
            await asyncio.to_thread(fake_proc.join, 30)
            if fake_proc.is_alive():
                fake_proc.terminate()
        outcomes = [_outcome(d) for d in raw_outcomes]
        probes = [_outcome(d) for d in raw_probes]
        reindex = ReindexRun(**raw_run) if raw_run else None
        load_after = os.getloadavg()
        monitor.stop()
        loop_lag.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_lag
        await resources.aclose()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report: dict[str, Any] = {
        "config": {"n": args.n, "concurrency": args.concurrency, "archive": str(args.archive),
                   "archive_files": files, "reindex_stress": str(args.reindex_stress or ""),
                   "stress_files": stress_files, "ask_cooldown_seconds": config.discord.ask_cooldown_seconds,
                   "distinct_users": True, "cpus": os.cpu_count(), "rate": args.rate},
        "startup_seconds": round(startup, 2),
        "wall_seconds": round(wall, 2),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "all": summarize(outcomes),
        "loop_lag": monitor.lag(),
        "worst_stalls_s_ms": monitor.worst(t0),
        "cache": {"hits": cache.hits, "misses": cache.misses, "status": cache.status},
    }
    if reindex is not None:
        # The bot swaps the index, then sends this reply: "during" = sent before the reply arrived.
        end = reindex.dispatched_at + (reindex.done_elapsed or float("inf"))
        during = [o for o in outcomes if reindex.dispatched_at <= o.dispatched_at < end]
        outside = [o for o in outcomes if o not in during]
        leaked = [o for o in outcomes if o.answer_at is not None and o.answer_at < end
                  and any(u not in old_urls for u in o.urls)]
        report["reindex"] = {
            "ack_ms": None if reindex.ack_elapsed is None else round(1000 * reindex.ack_elapsed),
            "dispatch_to_done_seconds": None if reindex.done_elapsed is None else round(reindex.done_elapsed, 2),
            "reported": reindex.reported, "error": reindex.error,
            "sent_at_s": round(reindex.dispatched_at - t0, 1),
            "last_request_answered_at_s": round(max((o.answer_at or 0) for o in outcomes) - t0, 1),
            "answers_before_swap_with_new_links": len(leaked),
            "answers_after_swap_with_new_links": sum(
                1 for o in outcomes if o.answer_at is not None and o.answer_at >= end
                and any(u not in old_urls for u in o.urls)),
        }
        report["after_swap_probes"] = {
            **summarize(probes),
            "answers_with_new_links": sum(1 for o in probes if any(u not in old_urls for u in o.urls)),
        }
        report["during_reindex"] = summarize(during)
        report["outside_reindex"] = summarize(outside)
        report["loop_lag_during_reindex"] = monitor.lag(reindex.dispatched_at, end)
    if args.profile:
        report["profile"] = {
            "samples_with_loop_overdue_50ms": monitor.profile_samples,
            "bot_thread_stacks": [{"samples": n, "stack": s} for s, n in monitor.busy_stacks.most_common(5)],
            "other_threads": [{"samples": n, "where": w} for w, n in monitor.other_threads.most_common(12)],
        }
    return report


async def _start_fake() -> FakeDiscord:
    fake = FakeDiscord()
    await fake.start()
    return fake


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=1000, help="number of /ask interactions (default 1000)")
    p.add_argument("--concurrency", type=int, default=50, help="interactions in flight at once (default 50)")
    p.add_argument("--archive", type=Path, default=Path("../shared/corpus/akira"), help="the archive to serve")
    p.add_argument("--reindex-stress", type=Path, default=None, metavar="DIR",
                   help="after ~10%% of the requests, add DIR's files to the archive and /newsbot reindex")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="token store / jieba / CEDICT cache (default: a fresh temporary one, so the reindex "
                        "tokenizes for real)")
    p.add_argument("--rate", type=float, default=None, metavar="PER_SECOND",
                   help="dispatch at most this many requests a second (default: as fast as the concurrency allows)")
    p.add_argument("--answer-timeout", type=float, default=120.0, help="seconds to wait for each answer")
    p.add_argument("--profile", action="store_true", help="sample the bot thread whenever its loop is 50 ms late")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    warnings = LogCount()
    logging.getLogger().addHandler(warnings)
    report = asyncio.run(main_async(args))
    report["log_warnings"] = len(warnings.records)
    report["log_examples"] = warnings.records[:5]
    groups = [report["all"]] + ([report["during_reindex"]] if "during_reindex" in report else [])
    report["targets_met"] = all(meets(s) for s in groups)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print(report)
    return 0 if report["targets_met"] else 1


def _print(report: dict[str, Any]) -> None:
    c = report["config"]
    print(f"newsbot load: {c['n']} × /ask, {c['concurrency']} at a time, archive {c['archive']} "
          f"({c['archive_files']} files), cooldown {c['ask_cooldown_seconds']:g} s with one user per request, "
          f"{c['cpus']} CPUs")
    print(f"startup {report['startup_seconds']} s · wall {report['wall_seconds']} s · load average "
          f"{report['loadavg_before'][0]} → {report['loadavg_after'][0]}")
    print_summary("all", report["all"])
    lag = report["loop_lag"]
    print(f"  bot loop lag            : p50 {lag['p50_ms']:.1f} ms · p99 {lag['p99_ms']:.1f} ms · "
          f"max {lag['max_ms']:.0f} ms")
    print(f"  worst stalls (s after the first request, ms): {report['worst_stalls_s_ms']}")
    if "reindex" in report:
        print(f"  (the reindex was sent at {report['reindex']['sent_at_s']} s)")
    cache = report["cache"]
    print(f"  query cache             : {cache['hits']} hits · {cache['misses']} misses ({cache['status']})")
    if "reindex" in report:
        r = report["reindex"]
        print(f"reindex of {c['reindex_stress']} ({c['stress_files']} files): ack {r['ack_ms']} ms · "
              f"answered (index swapped) after {r['dispatch_to_done_seconds']} s"
              f" · bot said: {r['reported'].splitlines()[1] if r['reported'] else r['error']}")
        print(f"  last of the {c['n']} requests answered at {r['last_request_answered_at_s']} s "
              f"(reindex sent at {r['sent_at_s']} s)")
        print(f"  answers that arrived before the reindex reply with links not in the old archive: "
              f"{r['answers_before_swap_with_new_links']} (after it: {r['answers_after_swap_with_new_links']})")
        p = report["after_swap_probes"]
        print(f"  after the swap: {p['answers_with_new_links']}/{p['count']} probe questions answered with links "
              f"from the new files ({p['errors']} errors)")
        print_summary("during the reindex", report["during_reindex"])
        lag = report["loop_lag_during_reindex"]
        print(f"  bot loop lag            : p50 {lag['p50_ms']:.1f} ms · p99 {lag['p99_ms']:.1f} ms · "
              f"max {lag['max_ms']:.0f} ms")
        print_summary("outside the reindex", report["outside_reindex"])
    if "profile" in report:
        p = report["profile"]
        print(f"profile: {p['samples_with_loop_overdue_50ms']} samples (5 ms apart) with the bot loop ≥ 50 ms late")
        for s in p["bot_thread_stacks"]:
            print(f"  {s['samples']} samples, bot thread at:\n{s['stack']}")
        for w in p["other_threads"]:
            print(f"  {w['samples']:>5} {w['where']}")
    print(f"log warnings: {report['log_warnings']}")
    for line in report["log_examples"]:
        print(f"  {line}")
    print("targets (all acknowledged within 3 s, p99 first response < 500 ms, no errors): "
          + ("met" if report["targets_met"] else "NOT met"))


if __name__ == "__main__":
    sys.exit(main())
