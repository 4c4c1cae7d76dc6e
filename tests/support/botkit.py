"""Starting the real newsbot client against the fake Discord, shared by the Discord-level tests: in this process
(:func:`bot_running`) or as a ``newsbot`` child process (:class:`BotProcess`)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import msgspec
from fake_discord import GUILD_ID, FakeChannel, FakeDiscord, FakeGuild, FakeRole, running
from fake_discord.payloads import MEMBER_PERMISSIONS

from bot.app import build_app
from bot.config import Config
from bot.digest.schedule import shard_owner
from bot.discord_adapter.client import NewsbotClient
from bot.discord_adapter.launcher import make_client


class _NoIdentifyWait:
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the default sleeps 5 s before a re-IDENTIFY; the fake has no IDENTIFY limit


class FastReconnectClient(_NoIdentifyWait, NewsbotClient):
    pass


def guild_config(config: Config, **archive: Any) -> Config:
    """Commands synced to the fake's guild, no /ask cooldown, and optionally another archive (``path=...``)."""
    config = msgspec.structs.replace(config, discord=msgspec.structs.replace(config.discord, guild_ids=(GUILD_ID,),
                                                                           ask_cooldown_seconds=0.0))
    if archive:
        config = msgspec.structs.replace(config, archive=msgspec.structs.replace(config.archive, **archive))
    return config


@contextlib.asynccontextmanager
async def bot_running(fake: FakeDiscord, config: Config, *, factory: type[NewsbotClient] = FastReconnectClient,
                      **options: Any) -> AsyncIterator[Any]:
    """The real client (``factory``), built as ``newsbot run`` builds it (:func:`bot.app.build_app`, then
    :func:`~bot.discord_adapter.launcher.make_client`) on the store of ``config.storage_url``, logged in to
    ``fake`` and ready. ``options``: ``shards`` and ``clock`` for the app, the rest (``digest_interval``…) for
    the client.

    Leaving the block closes everything, so a second block on the same config is a restart of the bot."""
    options.setdefault("guild_ready_timeout", 0.1)
    shards, clock = options.pop("shards", None), options.pop("clock", None)
    async with build_app(config, "discord", shards=shards, clock=clock) as app:
        client = make_client(app, shards=shards, client_cls=factory, **options)
        async with running(client, fake.token) as ready:
            yield ready


def bot_env(fake: FakeDiscord, db_path: Path, cache_dir: Path, *, log_level: str = "INFO") -> dict[str, str]:
    """Environment for ``newsbot run`` as a subprocess talking to ``fake``."""
    import os

    return {
        **os.environ,
        "DISCORD_TOKEN": fake.token,
        "NEWSBOT_API_BASE": fake.api_base,
        "NEWSBOT_GATEWAY_URL": fake.gateway_url,
        "NEWSBOT_DB": str(db_path),
        "NEWSBOT_STORAGE_CACHE_DIR": str(cache_dir),
        "NEWSBOT_DISCORD_GUILD_IDS": str(GUILD_ID),
        "NEWSBOT_LOG_LEVEL": log_level,
    }


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class BotProcess:
    """``newsbot`` (``run`` unless ``args`` say otherwise) as a child process, for the tests that need the real
    process: its signals, exit codes and log. stdout and stderr are merged and kept as lines (colour codes
    stripped), so a test can wait for a log line and quote the log when it fails.

    Every wait has a deadline and fails with the log's tail: a bot that never says what a test waits for is a
    failure, never a hang. ``async with`` starts it and always kills it at the end, whatever failed."""

    def __init__(self, env: Mapping[str, str], cwd: Path, *, args: Sequence[str] = ("run",),
                 prefix: Sequence[str] = (), name: str = "newsbot", stop_deadline: float = 30) -> None:
        self.env, self.cwd, self.args, self.prefix = env, cwd, tuple(args), tuple(prefix)
        self.name = name  # in failure messages: which of several processes it was
        self.stop_deadline = stop_deadline
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._grew = asyncio.Event()  # set whenever lines are added or the output ends

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def start(self) -> None:
        """Start (or, after it has exited, restart) the process; the log starts afresh."""
        if self.proc is not None:
            assert self.proc.returncode is not None, f"{self.name} is still running"
            await self.close()  # the last run's output is all read before the log starts afresh
        self.lines = []
        self._grew.clear()
        # stdin is /dev/null: the bot never waits on the test runner's terminal.
        self.proc = await asyncio.create_subprocess_exec(
            *self.prefix, sys.executable, "-m", "bot.cli", *self.args, env=self.env, cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.create_task(self._read(self.proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        # Chunks, not readline(): no line length limit. Only whole lines are kept until the output ends, so a
        # waiter never matches half a line.
        assert proc.stdout is not None
        pending = b""
        while chunk := await proc.stdout.read(65536):
            *whole, pending = (pending + chunk).split(b"\n")
            if whole:
                self.lines.extend(self._text(raw) for raw in whole)
                self._grew.set()
        if pending:
            self.lines.append(self._text(pending))
        self._grew.set()

    @staticmethod
    def _text(raw: bytes) -> str:
        return _ANSI.sub("", raw.decode("utf-8", "replace"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    @property
    def pid(self) -> int:
        return self._started().pid

    def failure(self, what: str) -> AssertionError:
        """An assertion error naming the process and quoting its log's tail: what a test raises when a wait fails."""
        return AssertionError(f"{self.name}: {what}; log tail:\n{self.log[-3000:]}")

    def _started(self) -> asyncio.subprocess.Process:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc

    async def wait_for_line(self, needle: str, deadline: float = 60) -> str:
        """The first log line containing ``needle``; fails if the process ends without one or ``deadline`` passes."""
        proc = self._started()
        assert self._reader is not None
        seen = 0
        try:
            async with asyncio.timeout(deadline):
                while True:
                    for line in self.lines[seen:]:
                        if needle in line:
                            return line
                    seen = len(self.lines)
                    if self._reader.done():  # all output is read: the line will never come
                        raise self.failure(f"exited {await proc.wait()} before {needle!r}")
                    self._grew.clear()
                    await self._grew.wait()
        except TimeoutError:
            raise self.failure(f"no {needle!r} within {deadline}s") from None

    async def wait(self, deadline: float = 60) -> int:
        """The exit code, once the process has ended by itself (or by a signal already sent) and its output is read."""
        proc = self._started()
        assert self._reader is not None
        try:
            async with asyncio.timeout(deadline):
                code = await proc.wait()
                await self._reader
        except TimeoutError:
            raise self.failure(f"still running after {deadline}s") from None
        return code

    async def stop(self, sig: signal.Signals = signal.SIGTERM, *, deadline: float | None = None) -> int:
        """Send ``sig`` (SIGTERM: the clean shutdown; SIGKILL: a crash) and return the exit code. A process that
        outlives ``deadline`` (default ``stop_deadline``) is killed and the wait fails."""
        proc = self._started()
        if proc.returncode is None:
            proc.send_signal(sig)
        try:
            return await self.wait(self.stop_deadline if deadline is None else deadline)
        finally:
            await self.close()

    async def close(self) -> None:
        """Kill the process if it still runs and reap it, so no test leaves a bot behind. Idempotent."""
        proc, reader = self.proc, self._reader
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                proc.kill()
        await proc.wait()
        if reader is not None and not (await asyncio.wait({reader}, timeout=10))[0]:
            reader.cancel()  # something else holds the pipe open: the log is as complete as it gets


# -- what a Discord client would act on in text the bot sent ---------------------------------------------

# What Discord turns into a ping or a rendered mention: @everyone/@here, users, roles, channels, slash commands.
MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>|</[-_\w]+(?: [-_\w]+){0,2}:\d+>|<id:\w+>")
_MASKED_TARGET = re.compile(r"\]\(https?://[^\s<>\"]+\)")
# discord.utils' URL pattern: links are matched before markdown, so markdown characters inside one are inert.
_URL = re.compile(r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]")
_MARKDOWN_CHARS = "*_~|`"


def mentions_in(text: str) -> list[str]:
    return MENTION.findall(_MASKED_TARGET.sub("](URL)", text))


def live_markdown(text: str) -> list[str]:
    """Markdown characters a Discord client would act on: not backslash-escaped (Discord escapes any
    non-alphanumeric, non-space character that way) and not inside a link; plus an active ``[..](..)``."""
    text = _URL.sub(" ", text)
    live: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and not text[i + 1].isalnum() and not text[i + 1].isspace():
            i += 2
            continue
        if c in _MARKDOWN_CHARS:
            live.append(c)
        elif c == "[" and re.match(r"\[[^\]]*\]\(", text[i:]):
            live.append("[link]")
        i += 1
    return live


def guild_per_shard(shards: int = 2) -> dict[int, FakeGuild]:
    """One guild for each shard of ``shards`` (keyed by shard), each with a #general channel and members who may
    use the commands: what a test of several ``newsbot run`` hosts needs."""
    out: dict[int, FakeGuild] = {}
    gid = 1180000000000000100
    while len(out) < shards:
        gid += 1 << 22
        shard = shard_owner(gid, shards)
        if shard not in out:
            out[shard] = FakeGuild(gid, f"guild-{shard}", channels=(FakeChannel(gid + 1, "general"),),
                                   roles=(FakeRole(gid, "@everyone", permissions=MEMBER_PERMISSIONS),))
    return out
