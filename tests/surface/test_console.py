"""The console adapter end to end, through its ``--json`` contract, on the bundled sample archive."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.console import run_console_async

ASK_RESULT_KEYS = {"title", "url", "summary", "score", "section", "feature", "repaired", "issue_url",
                   "issue_title", "also_in", "bridges", "links"}
FEATURE_ITEM_KEYS = {"title", "url", "summary"}


async def run_lines(config: Config, lines: list[str], *, json_mode: bool = True) -> list[Any]:
    out = io.StringIO()
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    code = await run_console_async(config, json_mode=json_mode, stdin=stdin, stdout=out)
    assert code == 0
    if not json_mode:
        return [out.getvalue()]
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_one_json_object_per_line_and_the_contract(sample_config: Config) -> None:
    lines = ["/help", "/ask 哪一期讲了不用乘法的矩阵乘积？", "/features 31", "", "/bogus", "/ask",
             "/features 999", "/ask 变压器 count:abc", "/issues 1", "/latest", "/issue week 13 2021", "/stats",
             "/digest"]
    objs = await run_lines(sample_config, lines)
    assert len(objs) == len(lines)
    help_, ask, features, blank, bogus, empty_ask, unknown, bad_count = objs[:8]

    assert {c["name"] for c in help_["commands"]} >= {"ask", "features", "issue", "issues", "latest", "digest",
                                                      "help", "stats", "reindex"}
    assert ask["command"] == "ask"
    assert ask["query"] == "哪一期讲了不用乘法的矩阵乘积？"
    assert isinstance(ask["cached"], bool)
    assert ask["results"], ask
    assert all(set(r) >= ASK_RESULT_KEYS for r in ask["results"])
    assert ask["results"][0]["url"] == "https://arxiv.org/abs/2106.10860"
    assert ask["results"][0]["issue_title"].endswith("第 31 期")

    assert features["command"] == "features"
    assert {"issue_url", "issue_title", "items"} <= set(features)
    assert [i["url"] for i in features["items"]] == ["https://arxiv.org/abs/2106.10860",
                                                     "https://arxiv.org/abs/2106.11959"]
    assert all(set(i) >= FEATURE_ITEM_KEYS for i in features["items"])

    for obj in (blank, bogus, empty_ask, unknown, bad_count):
        assert set(obj) >= {"command", "error"}, obj
        assert obj["error"]
        assert "Traceback" not in obj["error"]
    assert bogus["command"] == "bogus"
    assert unknown["suggestions"]
    issues, latest, week13, stats, digest = objs[8:]
    assert issues["total"] == 8
    assert issues["issues"][0]["issue_label"] == "#31"
    assert latest["issue_label"] == "#31"
    assert week13["issue_label"] == "2021-W13"
    assert week13["items"]
    assert stats["issues"] == 8
    assert stats["cache"]["status"] == "ok"
    assert digest["items"]
    assert digest["schedule"]


async def test_bridges_in_json_and_text(sample_config: Config) -> None:
    (obj,) = await run_lines(sample_config, ["/ask CLIP foundation models"])
    bridged = [r for r in obj["results"] if r["bridges"]]
    assert {"typed": "CLIP", "matched": "剪辑"} in bridged[0]["bridges"]
    # A result whose own text says CLIP matched it directly, not through the bridge.
    assert all(all(b["typed"] != "CLIP" for b in r["bridges"])
               for r in obj["results"] if "clip" in (r["title"] + r["summary"]).lower())
    (text,) = await run_lines(sample_config, ["/ask CLIP foundation models"], json_mode=False)
    assert "matched via CLIP ↔ 剪辑" in text


async def test_second_identical_question_is_cached(sample_config: Config) -> None:
    first, second = await run_lines(sample_config, ["/ask ViT 鲁棒性", "/ask ViT 鲁棒性"])
    assert first["cached"] is False
    assert second["cached"] is True
    assert first["results"] == second["results"]


async def test_similar_by_number_and_by_link_never_answers_the_item_itself(sample_config: Config) -> None:
    ask, by_number, by_link, short = await run_lines(sample_config, [
        "/ask ViT 鲁棒性 count:3", "/similar 2", "/similar https://arxiv.org/abs/2010.11929", "/similar 1 count:2"])
    second = ask["results"][1]
    assert by_number["item"]["url"] == second["url"]
    assert by_number["item"]["issue_id"] == second["issue_id"]
    assert by_number["results"], by_number
    assert second["url"] not in {r["url"] for r in by_number["results"]}
    assert by_link["item"]["url"] == "https://arxiv.org/abs/2010.11929"
    assert "https://arxiv.org/abs/2010.11929" not in {u for r in by_link["results"] for u in r["links"]}
    # A /similar answer is no new /ask answer: "1" still names the first result of the last /ask.
    assert short["item"]["url"] == ask["results"][0]["url"]
    assert 1 <= len(short["results"]) <= 2


async def test_similar_says_what_to_give_instead(sample_config: Config) -> None:
    before, ask, too_far, nowhere, empty = await run_lines(sample_config, [
        "/similar 1", "/ask ViT count:2", "/similar 3", "/similar https://nowhere.example/x", "/similar"])
    assert before["error"] == "Ask something first (/ask), then name a result by its number."
    assert len(ask["results"]) == 2
    assert too_far["error"] == "Your last answer had 2 results; pick a number from 1 to 2."
    assert nowhere["error"].startswith("No item of the archive has that link.")
    assert empty["error"].startswith("/similar needs item.")


async def test_similar_takes_a_number_only_in_ascii_digits_of_any_length(sample_config: Config) -> None:
    _ask, huge, superscript, arabic = await run_lines(sample_config, [
        "/ask ViT count:2", "/similar " + "9" * 5000, "/similar ²", "/similar ٢"])
    assert huge["error"] == "Your last answer had 2 results; pick a number from 1 to 2."
    for odd in (superscript, arabic):  # not a number here: looked up as a link, which no item has
        assert odd["error"].startswith("No item of the archive has that link."), odd


async def test_issue_filter_and_count(sample_config: Config) -> None:
    (obj,) = await run_lines(sample_config, ['/ask 变压器 issue:"week 13 2021" count:2'])
    assert obj["results"]
    assert len(obj["results"]) <= 2
    assert {r["issue_title"] for r in obj["results"]} == {"Akira 的机器学习新闻—2021 年第 13 周"}


@pytest.mark.parametrize("query", ["", "的 了 吗", "？？？！！！", "😀🚀", "x" * 5000,
                                   "'; DROP TABLE query_cache; --", "**bold** [x](http://e.com) `code`",
                                   "@everyone <@&123>"])
async def test_odd_queries_get_a_well_formed_answer(sample_config: Config, query: str) -> None:
    (obj,) = await run_lines(sample_config, [f"/ask {query}"])
    assert obj["command"] == "ask"
    assert ("results" in obj) or ("error" in obj)
    if "results" in obj and not obj["results"]:
        assert obj["notice"]


async def test_text_mode_renders_and_survives_bad_lines(sample_config: Config) -> None:
    (text,) = await run_lines(sample_config, ["/ask CutMix", "/nope", "/features 34", "/issues 99"], json_mode=False)
    assert "https://arxiv.org/abs/1905.04899" in text
    assert "Unknown command" in text
    assert "Traceback" not in text
    assert "error: There is 1 page" in text


def test_installed_console_script_from_any_directory(tmp_path: Path, shared_cache_dir: Path) -> None:
    """The real executable, from a folder outside the repo: it finds the bundled archive and config."""
    exe = Path(sys.executable).with_name("newsbot")
    if not exe.exists():
        pytest.skip("the newsbot console script is not installed in this environment")
    env = {**os.environ, "NEWSBOT_STORAGE_CACHE_DIR": str(shared_cache_dir),
           "NEWSBOT_DB": str(tmp_path / "state.sqlite3"), "NEWSBOT_LOG_LEVEL": "WARNING"}
    proc = subprocess.run([str(exe), "console", "--json"], input="/help\n/ask CutMix\n/nope\n", text=True,
                          capture_output=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["command"] for o in objs] == ["help", "ask", "nope"]
    assert objs[1]["results"][0]["url"] == "https://arxiv.org/abs/1905.04899"
    assert "Traceback" not in proc.stderr


HOSTILE_LINES = ["/nope\x1b[2J\x1b]0;pwned\x07", "/features \x1b[31mred\x9b32m", "/ask 变压器 count:\x1b[5m",
                 "/issue \x00\x08\x7f week 99", "/issue \u202e12 \u200b\u2066x"]
# Bytes that are not UTF-8 reach Python as lone surrogates; printed raw they would be raw bytes again.
UNDECODABLE_LINE = b"/issue \xff\xfe\n"


@pytest.mark.parametrize("json_mode", [False, True])
def test_control_sequences_in_input_are_never_echoed_raw(tmp_path: Path, shared_cache_dir: Path,
                                                         json_mode: bool) -> None:
    """The real process, both output modes: what a person typed comes back as text, not as terminal commands."""
    env = {**os.environ, "NEWSBOT_STORAGE_CACHE_DIR": str(shared_cache_dir),
           "NEWSBOT_DB": str(tmp_path / "state.sqlite3"), "NEWSBOT_LOG_LEVEL": "WARNING"}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "console", *(["--json"] if json_mode else [])],
                          input="".join(line + "\n" for line in HOSTILE_LINES).encode() + UNDECODABLE_LINE,
                          capture_output=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")  # strict: a raw \xff would fail here
    assert not [c for c in out if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f], out
    assert not [c for c in out if unicodedata.category(c) == "Cf"], out  # bidi and zero-width controls
    if json_mode:
        objs = [json.loads(line) for line in out.splitlines()]
        assert len(objs) == len(HOSTILE_LINES) + 1
        assert all("error" in o for o in objs), objs
        assert "nope\\x1b[" in objs[0]["error"]  # shown, so the person sees what was wrong
    else:
        assert "nope\\x1b[" in out


def test_ctrl_c_at_the_prompt_cancels_the_line_and_keeps_the_session(tmp_path: Path, shared_cache_dir: Path) -> None:
    """The interactive console on a real pseudo-terminal: Ctrl-C drops the half-typed line, the next command
    runs, Ctrl-D ends the session with exit 0."""
    import pty
    import select
    import signal
    import time

    env = {**os.environ, "NEWSBOT_STORAGE_CACHE_DIR": str(shared_cache_dir), "NO_COLOR": "1",
           "NEWSBOT_DB": str(tmp_path / "state.sqlite3"), "NEWSBOT_HISTORY": str(tmp_path / "history"),
           "TERM": "dumb"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console, with the pty as its controlling terminal
        # An ignored or blocked SIGINT survives exec (and some earlier test may leave it so in this process).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "bot.cli", "console"], env)
    seen = bytearray()

    def read_until(needle: bytes, deadline: float = 120) -> None:
        end = time.monotonic() + deadline
        while needle not in seen:
            left = end - time.monotonic()
            assert left > 0, f"no {needle!r} in {seen.decode('utf-8', 'replace')[-2000:]!r}"
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                try:
                    seen.extend(os.read(fd, 65536))
                except OSError:  # the child closed the terminal
                    break

    try:
        read_until(b"newsbot> ")
        mark = len(seen)
        os.write(fd, b"/ask CutMix")
        read_until(b"CutMix")
        os.write(fd, b"\x03")
        read_until(b"^C")
        del seen[:mark]
        read_until(b"newsbot> ")  # a new prompt: the session goes on
        os.write(fd, b"/features 31\r")
        read_until(b"https://arxiv.org/abs/2106.10860")
        read_until(b"newsbot> ")
        # A ^D that lands while readline is still switching the terminal mode can be swallowed: repeat it
        # (on an empty line each one means end of input) until the console exits.
        end = time.monotonic() + 120
        while True:
            os.write(fd, b"\x04")
            with contextlib.suppress(OSError):  # keep draining, so the child never blocks on a full terminal
                if select.select([fd], [], [], 1.0)[0]:
                    seen.extend(os.read(fd, 65536))
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            assert time.monotonic() < end, seen.decode("utf-8", "replace")[-2000:]
        pid = 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode("utf-8", "replace")
    text = seen.decode("utf-8", "replace")
    assert "1905.04899" not in text  # the cancelled /ask never ran
    assert "Traceback" not in text
