"""The console adapter: the same commands as the Discord bot, typed like slash commands.

``/ask ViT 鲁棒性 issue:34 count:3`` on a line runs ``ask``; options use Discord's ``name:value`` form
(quote values with spaces: ``issue:"week 13 2021"``). With a TTY this is an interactive prompt with
history, tab completion and colour; otherwise it reads one command per line from stdin. ``--json``
prints exactly one JSON object per input line (the contract is docs/console-json.md). A bad line never
prints a traceback and never ends the session; end of input exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot import render_json, render_text
from bot.app import build_app
from bot.commands import COMMANDS_BY_NAME, CONSOLE_COMMANDS, Newsbot
from bot.config import Config
from bot.i18n import EN, Lang
from bot.results import Result
from bot.textutil import escape_controls
from retrieval.errors import NewsbotError, QueryError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Invocation:
    command: str
    args: dict[str, str] = field(default_factory=dict)


def parse_line(line: str) -> Invocation:
    """Parse a console line into a command and its options.

    >>> parse_line("/ask ViT 鲁棒性")
    Invocation(command='ask', args={'question': 'ViT 鲁棒性'})
    >>> parse_line('/ask 变压器 issue:"week 13 2021" count:3')
    Invocation(command='ask', args={'question': '变压器', 'issue': 'week 13 2021', 'count': '3'})
    >>> parse_line("/features 34")
    Invocation(command='features', args={'issue': '34'})
    >>> parse_line("/issue week 13 2021")
    Invocation(command='issue', args={'issue': 'week 13 2021'})
    >>> parse_line("ask what is CLIP?")
    Invocation(command='ask', args={'question': 'what is CLIP?'})
    >>> parse_line("/nope")
    Traceback (most recent call last):
    ...
    retrieval.errors.QueryError: Unknown command “nope”. Try /help.
    """
    text = line.strip()
    if not text:
        raise QueryError("Type a command, e.g. /ask ViT 鲁棒性, or /help.")
    name, _, rest = text.lstrip("/").partition(" ")
    name = name.lower()
    spec = COMMANDS_BY_NAME.get(name)
    if spec is None or not spec.console:
        raise QueryError("Unknown command “{name}”. Try /help.", name=name)
    args: dict[str, str] = {}
    names = {p.name for p in spec.params}
    rest = rest.strip()
    # Named options come last, as in Discord's input box; take them from the end.
    while True:
        m = _TRAILING_OPTION.search(rest)
        if not m or m.group("name").lower() not in names or m.group("name").lower() in args:
            break
        value = m.group("value")
        if value.startswith('"') or value.startswith("'"):
            try:
                value = shlex.split(value)[0]
            except (ValueError, IndexError):
                value = value.strip("\"'")
        args[m.group("name").lower()] = value
        rest = rest[: m.start()].rstrip()
    positional = [p for p in spec.params if p.name not in args]
    if rest:
        if not positional:
            raise QueryError("/{name} takes no text here. Usage: {usage}", name=name, usage=spec.usage)
        args[positional[0].name] = rest
    ordered = {p.name: args[p.name] for p in spec.params if p.name in args}
    return Invocation(name, ordered)


_TRAILING_OPTION = re.compile(r"(?:^|\s)(?P<name>[a-zA-Z_]+):(?P<value>\"[^\"]*\"|'[^']*'|\S+)\s*$")


async def dispatch(bot: Newsbot, inv: Invocation) -> Result:
    """Run one parsed command: the spec's method, with its options converted to the spec's kinds."""
    spec = COMMANDS_BY_NAME[inv.command]
    missing = [p.name for p in spec.params if p.required and not inv.args.get(p.name, "").strip()]
    if missing:
        raise QueryError("/{name} needs {missing}. Usage: {usage}", name=spec.name, missing=', '.join(missing),
                         usage=spec.usage)
    kwargs: dict[str, Any] = {}
    for p in spec.params:
        if p.name not in inv.args:
            continue
        value = inv.args[p.name]
        if p.kind == "int":
            try:
                kwargs[p.name] = int(value)
            except ValueError:
                raise QueryError("{name} must be a whole number, not “{value}”.", name=p.name, value=value) from None
        else:
            kwargs[p.name] = value
    if "operator" in spec.context:
        kwargs["operator"] = True  # whoever runs the console runs the deployment
    method: Callable[..., Awaitable[Result]] = getattr(bot, spec.method)
    return await method(**kwargs)


class Console:
    """Runs lines against a :class:`Newsbot` and writes rendered output."""

    def __init__(self, bot: Newsbot, out: TextIO, *, json_mode: bool, color: bool, lg: Lang = EN) -> None:
        self.bot = bot
        self.out = out
        self.json_mode = json_mode
        self.color = color
        self.lg = lg
        """The text answers' language (``--lang``); --json is language-neutral, a contract."""

    async def handle(self, line: str) -> None:
        # Input is data: a control sequence typed or piped in is echoed as text, never obeyed by the terminal.
        line = escape_controls(line)
        name = line.strip().lstrip("/").partition(" ")[0].lower()
        try:
            inv = parse_line(line)
            result = await dispatch(self.bot, inv)
        except NewsbotError as err:
            self._error(name, err)
        except Exception as err:  # the console's single error boundary: a line must not end the session
            log.debug("command failed", exc_info=True)
            self._error(name, RuntimeError(f"internal error ({type(err).__name__}); the session continues"))
        else:
            if self.json_mode:
                self._write_json(render_json.render(inv.command, result))
            else:
                self.out.write(render_text.render(result, color=self.color, lg=self.lg) + "\n")
        self.out.flush()

    def _error(self, name: str, err: Exception) -> None:
        if self.json_mode:
            self._write_json(render_json.error(name, err))
        else:
            self.out.write(render_text.error(err, color=self.color, lg=self.lg) + "\n")

    def _write_json(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _lines(stream: TextIO) -> Iterator[str]:
    for raw in stream:
        yield raw.rstrip("\n")


def _interactive(console: Console, runner: asyncio.Runner) -> None:
    """The prompt, in the main thread: there Ctrl-C reaches ``input()`` and readline drops the line typed so
    far. Each command runs on ``runner``'s loop; Ctrl-C while one runs cancels that command only."""
    import readline

    history = Path(os.environ.get("NEWSBOT_HISTORY", "~/.newsbot_history")).expanduser()
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    names = [f"/{c.name}" for c in CONSOLE_COMMANDS]

    def complete(text: str, state: int) -> str | None:
        options = [n for n in names if n.startswith(text if text.startswith("/") else "/" + text)]
        return options[state] if state < len(options) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" ")
    readline.parse_and_bind("tab: complete")
    prompt = "\x1b[1;36mnewsbot>\x1b[0m " if console.color else "newsbot> "
    console.out.write("newsbot console: type /help, Ctrl-C to cancel a line, Ctrl-D to quit.\n")
    console.out.flush()
    try:
        while True:
            try:
                line = input(prompt)
            except EOFError:
                console.out.write("\n")
                break
            except KeyboardInterrupt:
                console.out.write("^C\n")  # the line is dropped; the session goes on
                console.out.flush()  # before the next prompt: readline writes it on its own stream
                continue
            if not line.strip():
                continue
            try:
                runner.run(console.handle(line))
            except KeyboardInterrupt:
                console.out.write("^C cancelled\n")
            console.out.flush()
    finally:
        with contextlib.suppress(OSError):
            readline.write_history_file(history)


async def run_console_async(config: Config, *, json_mode: bool, stdin: TextIO, stdout: TextIO,
                            lg: Lang = EN) -> int:
    """One command per line of ``stdin`` until its end (the non-interactive console)."""
    async with build_app(config, "console") as app:
        console = Console(app.service, stdout, json_mode=json_mode, color=False, lg=lg)
        for line in _lines(stdin):
            # --json answers every line (one object per line); text mode skips blank lines.
            if json_mode or line.strip():
                await console.handle(line)
                await asyncio.sleep(0)  # a turn of the loop between lines, for the query cache's writer
    return 0


def run_console(config: Config, *, json_mode: bool, lg: Lang = EN) -> int:
    if json_mode or not sys.stdin.isatty():
        return asyncio.run(run_console_async(config, json_mode=json_mode, stdin=sys.stdin, stdout=sys.stdout,
                                             lg=lg))
    with asyncio.Runner() as runner:
        # The app lives across the prompt's many runner.run() calls, so it is entered and closed by hand.
        resources = contextlib.AsyncExitStack()
        try:
            app = runner.run(resources.enter_async_context(build_app(config, "console", progress=True)))
            color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
            _interactive(Console(app.service, sys.stdout, json_mode=False, color=color, lg=lg), runner)
        finally:
            runner.run(resources.aclose())
    return 0
