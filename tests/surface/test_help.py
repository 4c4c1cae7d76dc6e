"""``/help`` on both surfaces lists exactly the commands that surface has: on Discord the commands actually synced
(the fake records them), on the console the commands it runs. Both come from the one registry."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from botkit import bot_running, guild_config
from fake_discord import GUILD_ID, FakeDiscord

from bot.commands import COMMANDS, MESSAGE_MENUS
from bot.config import Config
from bot.console import run_console_async

_USAGE = re.compile(r"`/([^`]+)`")


def synced_paths(fake: FakeDiscord) -> dict[str, str]:
    """Every command a member can run, as ``path -> description``: top level, and each group's subcommands."""
    paths = {}
    for command in fake.commands[GUILD_ID]:
        if command.get("type", 1) != 1:
            continue  # a message command: listed by name, below
        subs = [o for o in command.get("options") or [] if o["type"] == 1]
        if subs:
            paths |= {f"{command['name']} {o['name']}": o["description"] for o in subs}
        else:
            paths[command["name"]] = command["description"]
    return paths


def listed_paths(embed: dict[str, Any]) -> set[str]:
    texts = [embed.get("description") or "", *(f["value"] for f in embed.get("fields") or [])]
    found = set()
    for usage in _USAGE.findall("\n".join(texts)):
        words = [w for w in usage.split() if not w.startswith(("<", "["))]
        found.add(" ".join(words))
    return found


async def test_discord_help_lists_exactly_the_synced_commands(fake: FakeDiscord, sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config)):
        handle = await fake.interact("help")
        callback = await handle.response()
    synced = synced_paths(fake)
    assert listed_paths(callback.data["embeds"][0]) == set(synced)
    assert "stats" not in synced  # /stats exists only as /newsbot stats
    # One registry: every synced command is a spec with the same description.
    specs = {c.path: c for c in COMMANDS}
    assert {path: specs[path].description[:100] for path in synced} == synced
    # The message commands: each synced one is listed with its registry description, and nothing else is.
    menus = [c["name"] for c in fake.commands[GUILD_ID] if c.get("type") == 3]
    assert menus == [m.name for m in MESSAGE_MENUS]
    [field] = [f for f in callback.data["embeds"][0]["fields"] if f["name"] == "On a message (Apps menu)"]
    assert field["value"].splitlines() == [f"**{m.name}** — {m.description}" for m in MESSAGE_MENUS]


async def test_console_help_lists_exactly_the_commands_it_runs(sample_config: Config) -> None:
    names = [c.name for c in COMMANDS]
    out = io.StringIO()
    lines = ["/help", *(f"/{n}" for n in names)]
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    assert await run_console_async(sample_config, json_mode=True, stdin=stdin, stdout=out) == 0
    help_obj, *answers = [json.loads(line) for line in out.getvalue().splitlines()]
    listed = {c["name"] for c in help_obj["commands"]}
    runs = {n for n, obj in zip(names, answers, strict=True) if "Unknown command" not in obj.get("error", "")}
    assert listed == runs
    assert "stats" in listed
    assert "digest-now" not in listed  # Discord only: a digest belongs to a server
