"""``newsbot bench``'s answer figure: how long one ``newsbot console --json`` process takes per question.

One console is fed ``n`` distinct questions on stdin and timed from outside, like a user: the interval between
successive output lines after the first (the first also pays the start and, on an empty cache, the index build,
which :mod:`bot.measure_start` already measures). Each question is a query-cache miss (a fresh state database,
distinct questions). The baseline, timed in the same run on the same questions, is the eval's naive one:
``jieba.lcut`` + ``BM25Okapi`` over the archive's raw paragraphs, one query in process. Peak memory is the
console's own high-water mark (``VmHWM``) and the largest child process this bench has waited for.
"""

from __future__ import annotations

import itertools
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from bot.measure_start import TIMEOUT_S, child_env

TARGET_P50_MS = 5.0
"""Issue 18: an uncached answer p50 ≤ 5 ms per console line on This Week in Rust."""
TARGET_SPEEDUP = 500.0
"""Issue 21: a console line at p50 at least 500 times as fast as the baseline's query at p50 (stress corpus)."""
MAX_CHARS = 120
"""A question longer than this is cut: titles can be long, questions are short."""
BASELINE = "jieba.lcut + BM25Okapi over the archive's raw paragraphs (the eval's baseline), one query in process"


def draw_questions(candidates: Iterable[str], n: int) -> list[str]:
    """The first ``n`` distinct candidates (compared case- and space-insensitively), each on one line and
    at most ``MAX_CHARS`` long; fewer when the candidates run out.

    >>> draw_questions(["Rust 1.0", "rust  1.0", "", "a\\nb", "c"], 3)
    ['Rust 1.0', 'a b', 'c']
    """
    seen: set[str] = set()
    out: list[str] = []
    for text in candidates:
        line = " ".join(text.split())[:MAX_CHARS].strip()
        key = line.casefold()
        if not line or key in seen:
            continue
        seen.add(key)
        out.append(line)
        if len(out) == n:
            break
    return out


def _vmhwm_mb(pid: int) -> float | None:
    """The process' peak resident set (Linux ``/proc``), in MB; None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else None


def _feed(stream: IO[str], text: str) -> None:
    stream.write(text)
    stream.flush()


def time_console_lines(argv: Sequence[str], lines: Sequence[str], *, env: dict[str, str],
                       cwd: Path) -> tuple[list[float], list[dict[str, Any]], float | None]:
    """Start ``argv``, write ``lines`` to its stdin, and return the seconds at which each output line arrived
    (from the start), the parsed JSON lines, and the process' peak memory read before its stdin is closed."""
    stamps: list[float] = []
    answers: list[dict[str, Any]] = []
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd,
                              text=True, encoding="utf-8") as proc:
            killer = threading.Timer(TIMEOUT_S + 10 * len(lines), proc.kill)
            killer.start()
            try:
                assert proc.stdin is not None
                assert proc.stdout is not None
                # All at once, as a paste would: the console answers them back to back. A thread, so that a
                # full pipe never blocks the reading below.
                writer = threading.Thread(target=_feed, args=(proc.stdin, "".join(f"{q}\n" for q in lines)),
                                          daemon=True)
                writer.start()
                for _ in lines:
                    out = proc.stdout.readline()
                    if not out:
                        break
                    stamps.append(time.perf_counter() - started)
                    answers.append(json.loads(out))
                peak = _vmhwm_mb(proc.pid)
                writer.join()
                proc.stdin.close()
                proc.stdout.read()
                code = proc.wait()
            finally:
                killer.cancel()
                if proc.poll() is None:
                    proc.kill()
        if code != 0 or len(stamps) != len(lines):
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            raise RuntimeError(f"{' '.join(argv[:4])} exited {code} after {len(stamps)} of {len(lines)} answers: "
                               f"{' | '.join(tail)}")
    return stamps, answers, peak


def _baseline_ms(archive_dir: Path, questions: Sequence[str]) -> tuple[float, list[float]]:
    from retrieval.measure.evaluate import baseline_ranker

    started = time.perf_counter()
    rank = baseline_ranker(archive_dir)
    build_s = time.perf_counter() - started
    times: list[float] = []
    for q in questions:
        s = time.perf_counter()
        rank(q)
        times.append((time.perf_counter() - s) * 1e3)
    return build_s, times


def spread(items: Sequence[str], n: int) -> list[str]:
    """``items`` with about ``2n`` of them taken evenly across the whole list first (then all of them, in order).

    >>> spread(list("abcdefgh"), 2)
    ['a', 'c', 'e', 'g', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    """
    return [*items[::max(1, len(items) // (2 * n))], *items]


def _questions(archive_dir: Path, n: int) -> tuple[str, list[str]]:
    """The archive's profile and ``n`` questions: its shipped question sets' queries, then its entry titles taken
    across the whole archive (the first ``n`` titles of a large folder are the headings of a few of its files)."""
    from retrieval.archive import LoadOptions, load_archive
    from retrieval.measure.evaluate import load_questions, question_sets

    archive = load_archive(archive_dir, LoadOptions())
    shipped = [q.query for path in question_sets(archive.profile).values() for q in load_questions(path)]
    return archive.profile, draw_questions([*shipped, *spread([e.title for e in archive.entries], n)], n)


def _p(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def measure_answers(archive: Path, *, n: int = 100, config: Path | None = None, cache_dir: Path | None = None,
                    say: Callable[[str], None] = print) -> dict[str, Any]:
    """Time ``n`` distinct uncached answers of one console on ``archive`` against the baseline (see the module).
    ``cache_dir``: the token cache to start from (the cold-start figure's, already filled); a fresh one if None."""
    profile, questions = _questions(archive, n)
    if len(questions) < 2:
        raise RuntimeError(f"{archive}: fewer than two distinct questions to time")
    with tempfile.TemporaryDirectory(prefix="newsbot-answers-") as tmp_name:
        tmp = Path(tmp_name)
        work = tmp / "cwd"
        work.mkdir()
        console = [sys.executable, "-m", "bot.cli", "console", "--json", "--archive", str(archive.resolve()),
                   "--db", str(tmp / "state.sqlite3")]
        if config is not None:
            console += ["--config", str(config.resolve())]
        stamps, answers, vmhwm = time_console_lines(console, [f"/ask {q}" for q in questions],
                                                    env=child_env(cache_dir or tmp / "cache"), cwd=work)
    per_line = [(b - a) * 1e3 for a, b in itertools.pairwise(stamps)]
    build_s, base = _baseline_ms(archive, questions)
    p50, base_p50 = _p(per_line, 50), _p(base, 50)
    report: dict[str, Any] = {
        "archive": str(archive), "profile": profile, "questions": len(questions), "timed_lines": len(per_line),
        "errors": sum(1 for a in answers if "error" in a), "cached": sum(1 for a in answers if a.get("cached")),
        "first_answer_s": stamps[0],
        "per_line_p50_ms": p50, "per_line_p90_ms": _p(per_line, 90), "per_line_max_ms": max(per_line),
        "target_p50_ms": TARGET_P50_MS, "baseline": BASELINE, "baseline_build_s": build_s,
        "baseline_p50_ms": base_p50, "baseline_p90_ms": _p(base, 90), "newsbot_over_baseline_p50": p50 / base_p50,
        "speedup_p50": base_p50 / p50, "target_speedup": TARGET_SPEEDUP,
        "console_peak_rss_mb": vmhwm,
        "largest_child_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    met = "met" if p50 <= TARGET_P50_MS else "MISSED"
    say(f"uncached answers, one console ({archive}, profile {profile or 'none'}): {len(questions)} distinct "
        f"questions (shipped sets, then entry titles across the archive); per line after the first: p50 "
        f"{p50:.2f} ms, p90 {report['per_line_p90_ms']:.2f} ms, max {report['per_line_max_ms']:.1f} ms "
        f"(target p50 ≤ {TARGET_P50_MS:g} ms: {met}); {report['errors']} error lines, {report['cached']} cached")
    fast = "met" if report["speedup_p50"] >= TARGET_SPEEDUP else "MISSED"
    say(f"baseline ({BASELINE}): p50 {base_p50:.2f} ms, p90 {report['baseline_p90_ms']:.2f} ms "
        f"(built in {build_s:.1f} s); a console line is {report['speedup_p50']:.0f}x faster than the "
        f"baseline's query at p50 (target ≥ {TARGET_SPEEDUP:g}x: {fast})")
    hwm = "n/a" if vmhwm is None else f"{vmhwm:.0f} MB"
    say(f"peak memory: the console {hwm} (VmHWM, index build included), the largest child process "
        f"{report['largest_child_peak_rss_mb']:.0f} MB (ru_maxrss)")
    return report
