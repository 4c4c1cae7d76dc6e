"""Several archives in one deployment, as members and admins meet them: the console (``archive:NAME`` through the
registry's generic dispatch) and the real discord.py client against the fake Discord (an ``archive`` option with
autocomplete, a server's default archive). With one archive nothing of it shows."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from botkit import bot_running, guild_config, live_markdown, mentions_in
from fake_discord import GUILD_ID, FakeDiscord
from fake_discord.payloads import MEMBER_PERMISSIONS
from second_archive import SECOND, two_archives
from test_json_contract import assert_keeps_contract

from bot.config import Config
from bot.console import run_console_async

ADMIN = MEMBER_PERMISSIONS | (1 << 5)  # Manage Server
GARDEN_LINKS = "https://garden.example/"


async def console(config: Config, lines: list[str]) -> list[dict[str, Any]]:
    out = io.StringIO()
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    assert await run_console_async(config, json_mode=True, stdin=stdin, stdout=out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def urls(answer: dict[str, Any]) -> list[str]:
    return [r["url"] or "" for r in answer["results"]]


# -- the console ---------------------------------------------------------------------------------------

async def test_the_console_answers_from_the_archive_a_line_names(sample_config: Config, tmp_path: Path) -> None:
    config = two_archives(sample_config, tmp_path / "garden")
    objs = await console(config, [
        f"/ask sourdough starter hydration archive:{SECOND}",
        "/ask sourdough starter hydration",
        f"/latest archive:{SECOND}",
        "/latest",
        f"/issues archive:{SECOND}",
        f"/stats archive:{SECOND}",
        "/stats",
        "/ask matrix archive:nosuch",
        '/ask matrix archive:"**x** @everyone"',
        "/help",
    ])
    assert_keeps_contract(objs)
    garden, default, latest_garden, latest_default, issues, stats_garden, stats_default, unknown, hostile, help_ = objs
    assert urls(garden)[0] == "https://garden.example/sourdough-hydration"
    assert not any(u.startswith(GARDEN_LINKS) for u in urls(default))  # the default archive knows no sourdough
    assert latest_garden["issue_label"] == "#91"
    assert latest_default["issue_label"] != "#91"
    assert issues["total"] == 2
    assert (stats_garden["archive_name"], stats_garden["issues"]) == (SECOND, 2)
    assert stats_default["archive_name"] == "akira"
    assert stats_default["issues"] > 2
    # An unknown name: one line naming the valid ones; what was typed is shown as typed, on one line.
    assert unknown["error"] == f"No archive named “nosuch”. Archives: akira, {SECOND}."
    assert hostile["error"] == f"No archive named “**x** @everyone”. Archives: akira, {SECOND}."
    usage = {c["name"]: c["usage"] for c in help_["commands"]}
    assert usage["ask"] == "/ask <question> [issue] [count] [since] [until] [section] [archive]"
    assert usage["latest"] == "/latest [archive]"


async def test_the_query_cache_never_answers_one_archive_with_anothers(sample_config: Config,
                                                                      tmp_path: Path) -> None:
    config = two_archives(sample_config, tmp_path / "garden")
    first, cached, other = await console(config, ["/ask tidal lagoon turbines archive:garden",
                                                  "/ask tidal lagoon turbines archive:garden",
                                                  "/ask tidal lagoon turbines"])
    assert cached["cached"]
    assert urls(cached) == urls(first)
    assert not other["cached"]  # the same question in the other archive is its own entry
    assert not any(u.startswith(GARDEN_LINKS) for u in urls(other))


async def test_with_one_archive_the_console_shows_no_archive_option(sample_config: Config) -> None:
    [help_, stats] = await console(sample_config, ["/help", "/stats"])
    assert not any("archive" in c["usage"] for c in help_["commands"])
    assert "archive_name" not in stats


# -- Discord -------------------------------------------------------------------------------------------

def synced(fake: FakeDiscord, path: str) -> dict[str, Any]:
    root, *rest = path.split()
    node = next(c for c in fake.commands[GUILD_ID] if c["name"] == root)
    for part in rest:
        node = next(o for o in node["options"] if o["name"] == part)
    return node


def option(node: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((o for o in node.get("options") or [] if o["name"] == name), None)


def text(data: dict[str, Any]) -> str:
    parts = [data.get("content") or ""]
    for e in data.get("embeds") or []:
        parts += [e.get("title") or "", e.get("description") or ""]
        parts += [f"{f['name']} {f['value']}" for f in e.get("fields") or []]
    return "\n".join(parts)


async def ask(fake: FakeDiscord, options: dict[str, Any], **kw: Any) -> str:
    handle = await fake.interact("ask", options, **kw)
    await handle.response()
    [answer] = await handle.followups(1)
    return text(answer.data)


async def test_discord_archive_option_autocomplete_and_a_servers_default(fake: FakeDiscord, sample_config: Config,
                                                                         tmp_path: Path) -> None:
    config = guild_config(two_archives(sample_config, tmp_path / "garden"))
    async with bot_running(fake, config):
        for path in ("ask", "similar", "features", "issue", "issues", "latest", "digest", "newsbot stats",
                     "newsbot digest-on", "newsbot archive-default"):
            archive = option(synced(fake, path), "archive")
            assert archive is not None, path
            assert (archive["type"], archive.get("required", False), archive.get("autocomplete")) == (3, False, True)

        typed = await fake.interact("ask", {"question": "x", "archive": "gar"}, type=4, focused="archive")
        assert [c["value"] for c in (await typed.response()).data["choices"]] == [SECOND]
        every = await fake.interact("latest", {"archive": ""}, type=4, focused="archive")
        assert [c["value"] for c in (await every.response()).data["choices"]] == ["akira", SECOND]
        # The issue autocomplete offers the issues of the archive the option names.
        issues = await fake.interact("features", {"issue": "", "archive": SECOND}, type=4, focused="issue")
        assert [c["name"][:3] for c in (await issues.response()).data["choices"]] == ["#91", "#90"]

        # A name that is no archive: one private line naming the valid ones; what was typed pings no one and
        # renders no markdown.
        bad = await fake.interact("ask", {"question": "tidal", "archive": "**x** @everyone <@&1>"})
        refusal = await bad.response()
        assert refusal.data["flags"] & 64  # ephemeral
        assert refusal.data["allowed_mentions"] == {"parse": []}
        line = text(refusal.data)
        assert f"Archives: akira, {SECOND}." in line
        assert "\n" not in line.strip()
        assert not mentions_in(line)
        assert not live_markdown(line)
        assert "garden.example/tidal-lagoon" in await ask(fake, {"question": "tidal lagoon", "archive": SECOND})
        assert "garden.example" not in await ask(fake, {"question": "tidal lagoon"})

        # A member may not choose the server's default; an admin may, and then every member's /ask uses it.
        refused = await fake.interact("newsbot archive-default", {"archive": SECOND})
        assert "permission" in text((await refused.response()).data).lower()
        chosen = await fake.interact("newsbot archive-default", {"archive": SECOND}, permissions=ADMIN)
        await chosen.response()
        [reply] = await chosen.followups(1)
        assert f"now get the {SECOND} archive" in text(reply.data)
        assert "garden.example/tidal-lagoon" in await ask(fake, {"question": "tidal lagoon"})
        assert "garden.example" not in await ask(fake, {"question": "tidal lagoon", "archive": "akira"})
        unknown = await fake.interact("newsbot archive-default", {"archive": "nosuch"}, permissions=ADMIN)
        await unknown.response()
        [refusal] = await unknown.followups(1)
        assert f"Archives: akira, {SECOND}." in text(refusal.data)

        stats = await fake.interact("newsbot stats", {"archive": SECOND}, permissions=ADMIN)
        await stats.response()
        [figures] = await stats.followups(1)
        assert f"newsbot stats · {SECOND}" in text(figures.data)
        assert "2 issues" in text(figures.data)

    # A restart keeps the server's choice: it is in the shared store.
    async with bot_running(fake, config):
        assert "garden.example/tidal-lagoon" in await ask(fake, {"question": "tidal lagoon"})


async def test_discord_with_one_archive_shows_no_archive_option(fake: FakeDiscord, sample_config: Config) -> None:
    async with bot_running(fake, guild_config(sample_config)):
        pass
    for command in fake.commands[GUILD_ID]:
        for o in command.get("options") or []:
            assert o["name"] != "archive", command["name"]
            assert o["name"] != "archive-default"
            for sub in o.get("options") or []:
                assert sub["name"] != "archive", (command["name"], o["name"])
