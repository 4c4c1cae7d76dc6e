"""Every start-up failure of the real process exits non-zero with one line ``newsbot: <key or path>: <what>``:
no traceback, no hang. Plus the quiet exits: a closed pipe, and Ctrl-C at the interactive prompt."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Case = Callable[[Path], tuple[list[str], dict[str, str]]]
"""Given a temporary folder: (arguments after ``newsbot``, extra environment)."""


def _file(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _config(tmp: Path, toml: str) -> list[str]:
    return ["--config", str(_file(tmp / "mine.toml", toml))]


def _tz_folder(tmp: Path) -> str:
    # A TZPATH holding a folder named Europe: zoneinfo then raises IsADirectoryError, not "not found".
    (tmp / "zoneinfo" / "Europe").mkdir(parents=True)
    return str(tmp / "zoneinfo")


# (id, command, case, what the line must name)
CASES: list[tuple[str, str, Case, str]] = [
    ("config-is-a-folder", "console", lambda t: (["--config", str(t)], {}), "is a folder"),
    ("config-not-utf8", "console", lambda t: (["--config", str(_file(t / "x.toml", b"\xff\xfe[s]"))], {}),
     "not UTF-8"),
    ("inf-in-env", "console", lambda t: ([], {"NEWSBOT_SEARCH_K1": "inf"}), "search.k1"),
    ("inf-in-toml", "console", lambda t: (_config(t, "[archive]\nmax_file_mb = inf\n"), {}), "archive.max_file_mb"),
    ("nan-cooldown", "run", lambda t: (_config(t, "[discord]\nask_cooldown_seconds = nan\n"), {}),
     "discord.ask_cooldown_seconds"),
    ("userdict-missing", "console", lambda t: ([], {"NEWSBOT_SEARCH_USERDICT": str(t / "nope.txt")}),
     "nope.txt: user dictionary not found"),
    ("stopwords-missing", "run", lambda t: ([], {"NEWSBOT_SEARCH_STOPWORDS": str(t / "nope.txt")}),
     "nope.txt: stop-word list not found"),
    ("glossary-not-toml", "console",
     lambda t: ([], {"NEWSBOT_SEARCH_GLOSSARY": str(_file(t / "g.toml", "变压器 = = ["))}), "g.toml: not valid TOML"),
    ("glossary-not-a-glossary", "console",
     lambda t: ([], {"NEWSBOT_SEARCH_GLOSSARY": str(_file(t / "g.toml", '[archive]\npath = ""\n'))}),
     "g.toml: glossary entry 'archive'"),
    ("cache-dir-is-a-file", "console",
     lambda t: ([], {"NEWSBOT_STORAGE_CACHE_DIR": str(_file(t / "f", "x"))}), "storage.cache_dir"),
    ("db-is-a-folder", "run", lambda t: ([], {"NEWSBOT_DB": str(t)}), "storage.db_path"),
    ("db-is-root", "console", lambda t: ([], {"NEWSBOT_DB": "/"}), "storage.db_path: /: is a folder"),
    ("api-base-malformed", "run", lambda t: ([], {"NEWSBOT_API_BASE": "localhost:8080/api"}), "discord.api_base"),
    ("api-base-bad-port", "run", lambda t: ([], {"NEWSBOT_API_BASE": "http://127.0.0.1:eighty/api"}),
     "discord.api_base"),
    ("gateway-malformed", "run", lambda t: ([], {"NEWSBOT_GATEWAY_URL": "ws//127.0.0.1"}), "discord.gateway_url"),
    ("token-with-newline", "run", lambda t: ([], {"DISCORD_TOKEN": "abc.def\nghi"}), "DISCORD_TOKEN"),
    ("timezone-is-a-folder", "console",
     lambda t: ([], {"NEWSBOT_DIGEST_TIMEZONE": "Europe", "PYTHONTZPATH": _tz_folder(t)}), "digest.timezone"),
    ("timezone-too-long", "console",
     lambda t: ([], {"NEWSBOT_DIGEST_TIMEZONE": "A" * 300, "PYTHONTZPATH": _tz_folder(t)}), "digest.timezone"),
    ("guild-id-float", "run", lambda t: (_config(t, "[discord]\nguild_ids = [1.5]\n"), {}), "discord.guild_ids"),
    ("guild-id-float-env", "run", lambda t: ([], {"NEWSBOT_DISCORD_GUILD_IDS": "1.5"}), "discord.guild_ids"),
    ("time-negative", "console", lambda t: ([], {"NEWSBOT_DIGEST_TIME": "-0:30"}), "digest.time"),
    ("time-arabic-digits", "console", lambda t: (_config(t, '[digest]\ntime = "٠٩:٣٠"\n'), {}), "digest.time"),
    ("time-underscore", "console", lambda t: ([], {"NEWSBOT_DIGEST_TIME": "1_0:00"}), "digest.time"),
]


def newsbot(args: list[str], env: dict[str, str], cwd: Path, *, stdin: str = "",
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout, check=False)


def base_env(tmp: Path, cache: Path) -> dict[str, str]:
    return {**os.environ, "NEWSBOT_STORAGE_CACHE_DIR": str(cache), "NEWSBOT_DB": str(tmp / "db" / "state.sqlite3"),
            # run must fail before it talks to anyone; if it did not, it would find nothing here.
            "DISCORD_TOKEN": "not-a-real-token", "NEWSBOT_API_BASE": "http://127.0.0.1:9/api/v10",
            "NEWSBOT_GATEWAY_URL": "ws://127.0.0.1:9/"}


@pytest.mark.parametrize(("command", "case", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_start_up_failure_is_one_clear_line(tmp_path: Path, shared_cache_dir: Path, command: str, case: Case,
                                               names: str) -> None:
    args, extra = case(tmp_path)
    env = base_env(tmp_path, shared_cache_dir) | extra
    done = newsbot([command, *args], env, tmp_path, timeout=90)
    assert done.returncode == 1, (done.returncode, done.stderr[-3000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("newsbot: "), lines
    assert names in lines[0], lines
    assert "Traceback" not in done.stderr
    assert "not-a-real-token" not in done.stderr + done.stdout
    if command == "run" and "DISCORD_TOKEN" in extra:
        assert extra["DISCORD_TOKEN"] not in done.stderr


def test_newsbot_history_is_not_configuration(tmp_path: Path, shared_cache_dir: Path) -> None:
    env = base_env(tmp_path, shared_cache_dir) | {"NEWSBOT_HISTORY": str(tmp_path / "history")}
    done = newsbot(["console", "--json"], env, tmp_path, stdin="/stats\n")
    assert done.returncode == 0, done.stderr
    assert '"command": "stats"' in done.stdout


@pytest.mark.parametrize("command", ["console", "index"])
def test_piping_into_head_exits_quietly(tmp_path: Path, shared_cache_dir: Path, command: str) -> None:
    env = base_env(tmp_path, shared_cache_dir)
    env.pop("DISCORD_TOKEN")
    argv = [sys.executable, "-m", "bot.cli", command, "--json"]
    lines = "/help\n" * 3000 if command == "console" else ""
    # index prints one object; a reader that closes before reading anything still sees a broken pipe.
    reader = "head -c 10" if command == "console" else "true"
    pipeline = subprocess.run(
        ["bash", "-c", f'set -o pipefail; "$@" | {reader} >/dev/null; echo "rc=${{PIPESTATUS[0]}}" >&2', "_",
         *argv], input=lines, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180, check=False)
    err = pipeline.stderr.strip().splitlines()
    assert err[-1] in {"rc=0", "rc=141"}, pipeline.stderr[-3000:]
    assert err[:-1] == [], pipeline.stderr[-3000:]  # not a word: no BrokenPipeError, no "Exception ignored"
