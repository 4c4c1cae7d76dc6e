"""Deployment edges: the store at start-up (unreachable, not migrated), the identify queue, the store lost while
serving. Real processes, a real PostgreSQL server and the fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web
from botkit import bot_running, guild_config
from fake_discord import DIGEST_CHANNEL_ID, GUILD_ID, FakeDiscord
from fake_discord.payloads import MEMBER_PERMISSIONS
from pgserver import PASSWORD

from bot.config import Config
from bot.discord_adapter.client import NewsbotClient

ADMIN = MEMBER_PERMISSIONS | (1 << 5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, cache: Path, url: str) -> dict[str, str]:
    # Discord is never reached: the store is checked before anything connects.
    return {**os.environ, "DISCORD_TOKEN": "MTE4.fake.token", "NEWSBOT_DB": str(tmp_path / "cache.sqlite3"),
            "NEWSBOT_STORAGE_CACHE_DIR": str(cache), "NEWSBOT_STORAGE_URL": url, "NEWSBOT_LOG_LEVEL": "DEBUG",
            "NEWSBOT_API_BASE": f"http://127.0.0.1:{_closed_port()}/api/v10"}


def _newsbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_postgres_down_at_start_is_a_clear_error(tmp_path: Path, shared_cache_dir: Path) -> None:
    pytest.importorskip("asyncpg")
    url = f"postgresql://newsbot:{PASSWORD}@127.0.0.1:{_closed_port()}/newsbot"
    env = _env(tmp_path, shared_cache_dir, url)
    for command in ("run", "migrate"):
        out = _newsbot(command, env=env, cwd=tmp_path)
        assert out.returncode == 1, out
        first = out.stderr.strip().splitlines()[-1]
        assert first.startswith("newsbot: cannot reach PostgreSQL at postgresql://newsbot@127.0.0.1:"), out.stderr
        assert "Is the server up" in first
        assert "Traceback" not in out.stderr
        assert PASSWORD not in out.stderr + out.stdout


def test_an_unmigrated_postgres_database_is_refused_with_what_to_run(pg_server: Any, tmp_path: Path,
                                                                       shared_cache_dir: Path) -> None:
    url = pg_server.new_database()
    env = _env(tmp_path, shared_cache_dir, url)
    out = _newsbot("run", env=env, cwd=tmp_path)
    assert out.returncode == 1
    assert "schema version 0 and this newsbot needs" in out.stderr
    assert "run `newsbot migrate` first" in out.stderr
    migrated = _newsbot("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith(f"postgresql://newsbot@127.0.0.1:{pg_server.port}/")
    assert "schema migrated from version 0 to" in migrated.stdout
    again = _newsbot("migrate", env=env, cwd=tmp_path)
    assert "nothing to do" in again.stdout
    for out in (migrated, again):
        assert PASSWORD not in out.stdout + out.stderr


def _psql(pg_server: Any, database: str, sql: str) -> None:
    subprocess.run([str(pg_server.bindir / "psql"), "-h", str(pg_server.root), "-p", str(pg_server.port), "-U",
                    "newsbot", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, capture_output=True, timeout=60)


def test_a_missing_role_or_one_without_create_is_one_line_not_a_traceback(pg_server: Any, tmp_path: Path,
                                                                          shared_cache_dir: Path) -> None:
    database = pg_server.new_database().rsplit("/", 1)[1]
    _psql(pg_server, database, "CREATE ROLE weak LOGIN PASSWORD 'weak-pw'")
    socket_url = f"postgresql:///{database}?host={pg_server.root}&port={pg_server.port}"
    cases = {  # over the socket (trust), an unknown role is named as such; over TCP it is a failed password
        "ghost": (socket_url.replace(":///", "://ghost@/"), 'refused the login: role "ghost" does not exist'),
        "weak": (f"postgresql://weak:weak-pw@127.0.0.1:{pg_server.port}/{database}",
                 "this role may not create the tables"),
    }
    for url, expected in cases.values():
        env = {**_env(tmp_path, shared_cache_dir, url), "NEWSBOT_LOG_LEVEL": "WARNING"}
        out = _newsbot("migrate", env=env, cwd=tmp_path)
        assert out.returncode == 1, out
        [line] = out.stderr.strip().splitlines()
        assert line.startswith("newsbot: ")
        assert expected in line
        assert "weak-pw" not in out.stderr


# -- the identify queue ----------------------------------------------------------------------------

class GatewayQueue:
    """A gateway-queue as twilight's serves it: ``GET /?shard=N`` is answered when the shard may IDENTIFY.
    This one holds every request until :meth:`open`."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.arrived = asyncio.Event()
        self._open = asyncio.Event()
        self.url = ""

    def open(self) -> None:
        self._open.set()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.query.get("shard", ""))
        self.arrived.set()
        await self._open.wait()
        return web.json_response({"message": "You're free to connect now! :)"})

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[GatewayQueue]:
        app = web.Application()
        app.router.add_get("/", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"
        try:
            yield self
        finally:
            self._open.set()
            await runner.cleanup()


def _queue_config(config: Config, url: str) -> Config:

    config = guild_config(config)
    return msgspec.structs.replace(config, discord=msgspec.structs.replace(config.discord, identify_queue_url=url))


async def test_identify_waits_for_the_queue(fake: FakeDiscord, sample_config: Config) -> None:
    async with GatewayQueue().serving() as queue:
        config = _queue_config(sample_config, queue.url)
        started = asyncio.create_task(_run_until_ready(fake, config))
        await asyncio.wait_for(queue.arrived.wait(), timeout=60)
        await asyncio.sleep(0.3)  # the client is waiting on the queue: it must not have identified meanwhile
        assert not any(c.identified for c in fake.gateway_connections)
        queue.open()
        assert await asyncio.wait_for(started, timeout=60) == ["0"]
        assert queue.requests == ["0"]
        assert any(c.identified for c in fake.gateway_connections)


async def test_an_unreachable_queue_falls_back_to_local_pacing(fake: FakeDiscord, sample_config: Config,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    config = _queue_config(sample_config, f"http://127.0.0.1:{_closed_port()}/")
    await asyncio.wait_for(_run_until_ready(fake, config), timeout=60)
    assert "identify queue did not answer for shard 0" in caplog.text


async def _run_until_ready(fake: FakeDiscord, config: Config) -> list[str]:
    # NewsbotClient itself, not the tests' fast-reconnect subclass: its before_identify_hook is the one tested.
    async with bot_running(fake, config, factory=NewsbotClient) as client:
        assert client.is_ready()
        return [str(s) for s in client.shards]


# -- the store lost while serving ------------------------------------------------------------------

async def test_postgres_lost_while_serving(pg_server: Any, fake: FakeDiscord, sample_config: Config) -> None:
    """/ask needs no shared state and keeps answering; stats says the digest waits; the bot comes back with it."""

    from bot.store import migrate_store

    url = pg_server.new_database()
    await migrate_store(url)
    config = guild_config(sample_config)
    config = msgspec.structs.replace(config, storage=msgspec.structs.replace(config.storage, url=url))
    async with bot_running(fake, config, digest_interval=0.05) as client:
        await client.scheduler.configure(GUILD_ID, channel_id=DIGEST_CHANNEL_ID)
        await client.scheduler.enable(GUILD_ID)
        pg_server.stop()
        try:
            await fake.wait_until(lambda: client.scheduler.store_trouble is not None, timeout=30,
                                  what="the scheduler noticing the store is gone")
            ask = await fake.interact("ask", {"question": "CutMix 数据增强"})
            assert (await ask.response(timeout=10)).elapsed < 3.0
            [answer] = await ask.followups(1, timeout=20)
            assert "https://arxiv.org/abs/1905.04899" in str(answer.data)
            stats = await fake.interact("newsbot stats", permissions=ADMIN)
            await stats.response(timeout=10)
            [shown] = await stats.followups(1, timeout=20)
            assert "shared state store (postgresql) has been unreachable since" in str(shown.data)
            assert "digests resume when it is back" in str(shown.data)
            assert PASSWORD not in str(shown.data)
        finally:
            pg_server.start()
        await fake.wait_until(lambda: client.scheduler.store_trouble is None, timeout=60,
                              what="the scheduler noticing the store is back")
        stats = await fake.interact("newsbot stats", permissions=ADMIN)
        await stats.response(timeout=10)
        [shown] = await stats.followups(1, timeout=20)
        assert "unreachable" not in str(shown.data)
        assert "Monday at 09:00 UTC" in str(shown.data)


def test_the_password_may_come_from_pgpassword(pg_server: Any, tmp_path: Path, shared_cache_dir: Path) -> None:
    """A URL without a password takes the standard PG* variables (asyncpg reads them, as libpq does)."""
    bare = pg_server.new_database().replace(f":{PASSWORD}@", "@")
    env = _env(tmp_path, shared_cache_dir, bare)
    env.pop("PGPASSWORD", None)
    refused = _newsbot("migrate", env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert "refused the password (from the URL or PGPASSWORD)" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    migrated = _newsbot("migrate", env={**env, "PGPASSWORD": PASSWORD}, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema migrated from version 0 to" in migrated.stdout
    assert PASSWORD not in migrated.stdout + migrated.stderr
