"""Every start-up failure of the real process exits non-zero with one line ``newsbot: <key or path>: <what>``:
no traceback, no hang. Plus the quiet exits: a closed pipe, and Ctrl-C at the interactive prompt."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from botkit import BotProcess, bot_env
from fake_discord import FakeDiscord
from fake_discord.payloads import MEMBER_PERMISSIONS

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
def _no_asyncpg(tmp: Path) -> str:
    """A path entry that shadows asyncpg the way a plain ``pip install newsbot`` (no extra) lacks it."""
    _file(tmp / "shadow" / "asyncpg" / "__init__.py", "raise ImportError('asyncpg is not installed')\n")
    return str(tmp / "shadow")


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
    ("feeds-without-archive-path", "run",
     lambda t: (_config(t, '[[archive.feeds]]\nurl = "https://example.org/feed"\n'), {}), "archive.feeds"),
    ("feed-url-not-http", "console",
     lambda t: (_config(t, '[archive]\npath = "."\n[[archive.feeds]]\nurl = "ftp://example.org/feed"\n'), {}),
     "archive.feeds: feed url 'ftp://example.org/feed' must start with http:// or https://"),
    ("feed-unknown-key", "console",
     lambda t: (_config(t, '[archive]\npath = "."\n[[archive.feeds]]\nurl = "https://x.org/f"\nevery = 5\n'), {}),
     "unknown feed key 'every'"),
    ("guild-id-float", "run", lambda t: (_config(t, "[discord]\nguild_ids = [1.5]\n"), {}), "discord.guild_ids"),
    ("guild-id-float-env", "run", lambda t: ([], {"NEWSBOT_DISCORD_GUILD_IDS": "1.5"}), "discord.guild_ids"),
    ("time-negative", "console", lambda t: ([], {"NEWSBOT_DIGEST_TIME": "-0:30"}), "digest.time"),
    ("time-arabic-digits", "console", lambda t: (_config(t, '[digest]\ntime = "٠٩:٣٠"\n'), {}), "digest.time"),
    ("time-underscore", "console", lambda t: ([], {"NEWSBOT_DIGEST_TIME": "1_0:00"}), "digest.time"),
    ("storage-url-not-postgres", "run", lambda t: ([], {"NEWSBOT_STORAGE_URL": "mysql://bot:pw@db/x"}),
     "storage.url: a mysql:// URL is not supported"),
    ("storage-url-a-path", "migrate", lambda t: ([], {"NEWSBOT_STORAGE_URL": str(t / "state.db")}), "storage.url"),
    ("postgres-without-asyncpg", "migrate",
     lambda t: ([], {"NEWSBOT_STORAGE_URL": "postgresql://bot@127.0.0.1:9/x", "PYTHONPATH": _no_asyncpg(t)}),
     "pip install 'newsbot[postgres]'"),
    ("state-db-is-text", "run", lambda t: ([], {"NEWSBOT_DB": str(_file(t / "state.sqlite3", "hello\n" * 500))}),
     "state.sqlite3: not a usable SQLite state database"),
    ("state-db-is-random-bytes", "run",
     lambda t: ([], {"NEWSBOT_DB": str(_file(t / "s.sqlite3", b"SQLite format 3\x00" + bytes(range(256)) * 32))}),
     "s.sqlite3: not a usable SQLite state database"),
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


# --- newsbot run against the fake Discord -------------------------------------------------------------------

ADMIN = MEMBER_PERMISSIONS | 1 << 5  # Manage Server


async def _ready(fake: FakeDiscord, bot: BotProcess) -> None:
    await bot.wait_for_line("synced ", deadline=120)
    await fake.wait_for_session(timeout=60)
    await asyncio.sleep(2.5)  # discord.py waits guild_ready_timeout (2 s) before it is ready


async def _ask(fake: FakeDiscord) -> None:
    handle = await fake.interact("ask", {"question": "CutMix 数据增强"})
    await handle.response(timeout=10)
    [answer] = await handle.followups(1, timeout=10)
    assert "https://arxiv.org/abs/1905.04899" in str(answer.data)


def _only_one_line_records(lines: list[str]) -> None:
    """Every log record is one line: a timestamped record, or the final ``newsbot:`` line."""
    record = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
    stray = [line for line in lines if line.strip() and not record.match(line) and not line.startswith("newsbot: ")]
    assert stray == [], "\n".join(lines[-40:])


async def test_a_guild_the_bot_is_not_in_is_one_clear_line(fake: FakeDiscord, tmp_path: Path,
                                                          shared_cache_dir: Path) -> None:
    env = bot_env(fake, tmp_path / "state.sqlite3", shared_cache_dir) | {"NEWSBOT_DISCORD_GUILD_IDS": "123456789"}
    async with BotProcess(env, tmp_path) as bot:
        code = await bot.wait(deadline=120)
    assert code == 1, bot.log[-3000:]
    assert "Traceback" not in bot.log
    _only_one_line_records(bot.lines)
    assert bot.lines[-1].startswith("newsbot: discord.guild_ids: 123456789: the bot is not in this guild"), bot.log


async def test_discord_unreachable_at_start_is_retried_then_served(fake: FakeDiscord, tmp_path: Path,
                                                                  shared_cache_dir: Path) -> None:
    """REST base closed at start: one warning line per retry, then (once it answers) a normal start."""
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused until the proxy listens
    port = closed.getsockname()[1]
    env = bot_env(fake, tmp_path / "state.sqlite3", shared_cache_dir) | {
        "NEWSBOT_API_BASE": fake.api_base.replace(f":{fake.port}", f":{port}")}

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", fake.port)
        await asyncio.gather(pipe(client_r, up_w), pipe(up_r, client_w))

    async with BotProcess(env, tmp_path) as bot:
        first = await bot.wait_for_line("cannot reach Discord", deadline=120)
        await bot.wait_for_line("retrying in 2 s", deadline=60)  # a second try, after a longer wait
        proxy = await asyncio.start_server(forward, sock=closed)
        try:
            await _ready(fake, bot)
            await _ask(fake)
            code = await bot.stop(deadline=60)
        finally:
            proxy.close()
    assert code == 0, bot.log[-3000:]
    assert "WARNING  newsbot.run cannot reach Discord at http://127.0.0.1:" in first
    assert "Traceback" not in bot.log
    _only_one_line_records(bot.lines)


async def test_discord_unreachable_for_too_long_gives_up_with_one_line(tmp_path: Path, shared_cache_dir: Path) -> None:
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    env = base_env(tmp_path, shared_cache_dir) | {
        "NEWSBOT_API_BASE": f"http://127.0.0.1:{port}/api/v10", "NEWSBOT_GATEWAY_URL": f"ws://127.0.0.1:{port}/",
        "NEWSBOT_DISCORD_START_RETRY_SECONDS": "3"}
    try:
        async with BotProcess(env, tmp_path) as bot:
            code = await bot.wait(deadline=120)
    finally:
        closed.close()
    assert code == 1, bot.log[-3000:]
    assert "Traceback" not in bot.log
    _only_one_line_records(bot.lines)
    assert sum("cannot reach Discord" in line for line in bot.lines) == 2  # retries after 1 s and 2 s
    assert bot.lines[-1].startswith(f"newsbot: discord.api_base: http://127.0.0.1:{port}/api/v10: Discord cannot "
                                    "be reached"), bot.log


async def test_sigterm_while_waiting_for_discord_exits_cleanly(tmp_path: Path, shared_cache_dir: Path) -> None:
    """Stopped before it ever connected: no discord.py close() of a client that never started, so no traceback."""
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    env = base_env(tmp_path, shared_cache_dir) | {
        "NEWSBOT_API_BASE": f"http://127.0.0.1:{port}/api/v10", "NEWSBOT_GATEWAY_URL": f"ws://127.0.0.1:{port}/"}
    try:
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_line("cannot reach Discord", deadline=120)
            code = await bot.stop(deadline=60)
    finally:
        closed.close()
    assert code == 0, bot.log[-3000:]
    assert "Traceback" not in bot.log, bot.log[-3000:]
    assert "ERROR" not in bot.log, bot.log[-3000:]
    assert any("received SIGTERM; shutting down" in line for line in bot.lines), bot.log[-3000:]
    _only_one_line_records(bot.lines)


def _drop_root_override() -> tuple[str, ...]:
    """A prefix under which file permissions bind: root ignores them unless CAP_DAC_OVERRIDE is dropped."""
    if os.geteuid() != 0:
        return ()
    setpriv = subprocess.run(["sh", "-c", "command -v setpriv"], capture_output=True, text=True).stdout.strip()
    if not setpriv:
        pytest.fail("running as root without setpriv (util-linux): cannot make a file read-only for the bot")
    return (setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--")


async def test_read_only_state_database_is_reported_and_settings_say_they_cannot_be_saved(
        fake: FakeDiscord, tmp_path: Path, shared_cache_dir: Path) -> None:
    from bot.store import open_store

    db = tmp_path / "state.sqlite3"
    store = await open_store(str(db), create=True)
    await store.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.chmod(0o444)
    env = bot_env(fake, db, shared_cache_dir)
    async with BotProcess(env, tmp_path, prefix=_drop_root_override()) as bot:
        warning = await bot.wait_for_line("is read-only", deadline=120)
        await _ready(fake, bot)
        await _ask(fake)  # answering questions does not need to write
        handle = await fake.interact("newsbot digest-schedule", {"weekday": 4, "time": "18:30", "timezone": "UTC"},
                                     permissions=ADMIN)
        await handle.response(timeout=10)
        replies = await handle.followups(1, timeout=10)
        code = await bot.stop(deadline=60)
    assert code == 0, bot.log[-3000:]
    assert "WARNING  newsbot.run sqlite:" in warning
    assert "digest settings cannot be saved" in warning
    text = str(replies[-1].data)
    assert "read-only" in text, text
    assert "cannot be saved" in text, text
    assert replies[-1].data.get("flags", 0) & 64  # ephemeral: only the admin sees it
    assert "Traceback" not in bot.log


async def test_sigterm_during_a_reindex_exits_at_once_and_abandons_it(fake: FakeDiscord, tmp_path: Path,
                                                                     shared_cache_dir: Path) -> None:
    """A reindex that has a long repair to do (a large damaged file added after start) is abandoned by SIGTERM:
    the process exits 0 without finishing it; the old index was serving until then."""
    import shutil

    from bot.config import sample_archive_dir

    archive = tmp_path / "archive"
    shutil.copytree(sample_archive_dir(), archive)
    env = bot_env(fake, tmp_path / "state.sqlite3", shared_cache_dir) | {"NEWSBOT_ARCHIVE": str(archive)}
    async with BotProcess(env, tmp_path) as bot:
        await _ready(fake, bot)
        await _ask(fake)
        # Our own sample text, many times over, damaged as seed 000 is: minutes of repair work.
        text = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(archive.glob("*.md")))
        damaged = (text * 8).encode("utf-8").decode("cp1254", errors="ignore").replace("\u00ad", "")
        (archive / "zz_damaged.txt").write_text(damaged, encoding="utf-8")
        handle = await fake.interact("newsbot reindex", permissions=ADMIN, user=fake.owner)  # an operator
        await handle.response(timeout=10)  # deferred: the reindex is running
        code = await bot.stop(deadline=300)
    assert code == 0, bot.log[-3000:]
    assert "received SIGTERM; shutting down" in bot.log
    assert "repaired zz_damaged.txt" not in bot.log, "the reindex was finished before the process exited"
    assert handle.callback is not None
    assert "Traceback" not in bot.log
    assert "Exception in thread" not in bot.log
