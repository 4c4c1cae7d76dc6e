"""The console's ``--json`` contract (docs/console-json.md) is docs/console-json.schema.json: every line real console
sessions print validates against it, every console command of the registry has a definition, and the schema is
strict enough (no extra keys, every key required) that a renamed, added or dropped key fails here."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest
from feed_server import SAMPLE, FeedServer, rss, sample_items

from bot.app import build_app
from bot.commands import CONSOLE_COMMANDS
from bot.config import Config, FeedConfig
from bot.console import run_console_async

pytestmark = pytest.mark.timeout(180)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "console-json.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
DEFS: dict[str, Any] = SCHEMA["$defs"]
FAILURE = "failure"
ANSWERS = [ref["$ref"].removeprefix("#/$defs/") for ref in SCHEMA["oneOf"]]
"""The definitions a line can match: one per command result, plus ``failure``."""

# Every console command, with the lines that exercise its answer and its failures.
SESSION = [
    "/help",
    "/ask 哪一期讲了不用乘法的矩阵乘积？",
    "/ask CLIP foundation models",                      # an answer through a glossary bridge
    "/ask ViT robustness issue:31 count:3",             # restricted to one issue
    "/ask https://arxiv.org/abs/2106.10860",            # a link in the question
    "/ask 矩阵乘法 since:2021-09-01 section:papers",     # filters
    "/ask 矩阵乘法 since:2021-10-01",                    # a filter that empties the answer
    "/ask transformer",
    "/ask transformer",                                 # the same again: cached
    "/similar 1",                                       # the first result of the last /ask
    "/similar https://arxiv.org/abs/2010.11929 count:2",
    "/features",
    "/features 31",
    "/digest",
    "/issue week 13 2021",
    "/issue 19",
    "/latest",
    "/issues",
    "/issues 1",
    "/stats",
    "/reindex",
    "/subscribe protein folding **@everyone** section:papers",  # the console's own alerts (never delivered)
    "/subscribe transformer",
    "/subscriptions",
    "/unsubscribe 2",
    # failures
    "",
    "/bogus",
    "/ask",
    "/ask x count:99",
    "/ask 变压器 count:abc",
    "/ask x since:2021-02-30",                          # not a date
    "/ask x section:nosuch",                            # no such section
    "/features 999",
    "/issue 34",                                        # not found, with suggestions
    "/issue nosuch",                                    # not found, without
    "/issues 99",
    "/latest now",
    "/feed-retry",                                      # no feeds configured
    "/similar 99",                                      # more than the last answer had
    "/similar https://nowhere.example/x",               # no item has that link
]


def validator(name: str | None = None) -> jsonschema.Draft202012Validator:
    """The whole schema, or one of its definitions (with every other one reachable for ``$ref``)."""
    schema = SCHEMA if name is None else {"$schema": SCHEMA["$schema"], "$defs": DEFS, "$ref": f"#/$defs/{name}"}
    return jsonschema.Draft202012Validator(schema)


def definition_for(obj: dict[str, Any]) -> str:
    return FAILURE if "error" in obj else str(obj.get("command"))


def problems(obj: dict[str, Any]) -> list[str]:
    """Why ``obj`` breaks the contract (empty when it keeps it): first against the definition its command names,
    for a readable message, then against the whole schema, which must match exactly one definition."""
    name = definition_for(obj)
    if name not in DEFS:
        return [f"no definition {name!r} in the schema"]
    found = [f"{'/'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in validator(name).iter_errors(obj)]
    if not found and not validator().is_valid(obj):
        found.append("valid against its own definition but not exactly one of the schema's oneOf")
    return found


def assert_keeps_contract(objs: list[dict[str, Any]]) -> None:
    broken = {json.dumps(o, ensure_ascii=False)[:300]: p for o in objs if (p := problems(o))}
    assert not broken, json.dumps(broken, ensure_ascii=False, indent=1)


async def run_lines(config: Config, lines: list[str]) -> list[dict[str, Any]]:
    out = io.StringIO()
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    assert await run_console_async(config, json_mode=True, stdin=stdin, stdout=out) == 0
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(objs) == len(lines), "one JSON object per input line"
    return objs


def walk(schema: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object-typed subschema, with where it sits."""
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            yield where, schema
        for key, value in schema.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from walk(value, f"{where}/{i}")


# -- the schema itself ----------------------------------------------------------------------------------

def test_the_schema_is_valid_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_console_command_of_the_registry_has_a_definition() -> None:
    commands = {c.name for c in CONSOLE_COMMANDS}
    missing = sorted(commands - set(ANSWERS))
    assert not missing, f"console commands without a definition in {SCHEMA_PATH.name}: {missing}"
    for name in commands:
        assert DEFS[name]["properties"]["command"] == {"const": name}, name
    stale = sorted(set(ANSWERS) - commands - {FAILURE})
    assert not stale, f"definitions for commands the console does not have: {stale}"
    assert FAILURE in ANSWERS


def test_every_object_is_closed_and_its_keys_required() -> None:
    for where, schema in walk(DEFS, "#/$defs"):
        assert schema.get("additionalProperties") is False, where
        optional = set(schema["properties"]) - set(schema["required"])
        # Optional only: a failure's suggestions, an answer's filters (absent when none was given, so an unfiltered
        # /ask prints what it always did), and the archive's name in stats of a several-archive deployment.
        allowed = {f"#/$defs/{FAILURE}": {"suggestions"}, "#/$defs/ask": {"filters"},
                   "#/$defs/stats": {"archive_name"}}.get(where, set())
        assert optional <= allowed, (where, optional)


# -- real sessions --------------------------------------------------------------------------------------

async def test_every_answer_of_a_session_keeps_the_contract(sample_config: Config) -> None:
    objs = await run_lines(sample_config, SESSION)
    assert_keeps_contract(objs)
    answered = {o["command"] for o in objs if "error" not in o}
    assert answered == {c.name for c in CONSOLE_COMMANDS} - {"feed-retry"}  # feed-retry: below, with feeds
    failures = [o for o in objs if "error" in o]
    assert len(failures) == 15
    assert any("suggestions" in o for o in failures)
    assert any("suggestions" not in o for o in failures)
    asks = [o for o in objs if o["command"] == "ask" and "error" not in o]
    assert any(r["bridges"] for o in asks for r in o["results"])
    assert any(o["issues"] for o in asks)
    assert any(o["cached"] for o in asks)
    filtered = [o for o in asks if "filters" in o]
    assert [o["filters"] for o in filtered] == [{"since": "2021-09-01", "until": None, "section": "papers"},
                                                {"since": "2021-10-01", "until": None, "section": None}]
    assert filtered[0]["results"]
    assert not filtered[1]["results"]
    assert filtered[1]["notice"].startswith("No match since 2021-10-01; ")


async def test_stats_and_feed_retry_with_feeds_keep_the_contract(sample_config: Config, tmp_path: Path) -> None:
    """Feeds in every state the stats show: ok (with timestamps), off (with an error) and never polled."""
    archive = tmp_path / "archive"
    archive.mkdir()
    hand_saved = sorted(SAMPLE.glob("*.md"))[0]
    shutil.copy(hand_saved, archive / hand_saved.name)
    async with FeedServer() as server:
        server.publish("/ok", rss(sample_items()[:1]))
        server.fail("/gone", "status", status=410)
        polled = [FeedConfig(server.url("/ok"), "ok"), FeedConfig(server.url("/gone"), "gone")]
        config = msgspec.structs.replace(sample_config, archive=msgspec.structs.replace(
            sample_config.archive, path=str(archive), feeds=tuple(polled), feed_timeout_seconds=5.0))
        async with build_app(config, "ingest") as app:  # what `newsbot run` polls with, without Discord
            assert app.feeds is not None
            await app.feeds.poll()
        config = msgspec.structs.replace(config, archive=msgspec.structs.replace(
            config.archive, feeds=(*polled, FeedConfig(server.url("/new"), "new"))))
        objs = await run_lines(config, ["/stats", "/feed-retry gone", "/feed-retry", "/feed-retry nosuch"])
    assert_keeps_contract(objs)
    stats, retried_one, retried_all, unknown = objs
    assert {f["state"] for f in stats["feeds"]} == {"ok", "off", "new"}
    assert any(f["last_success"] and f["next_poll"] for f in stats["feeds"])
    assert any(f["error"] for f in stats["feeds"])
    assert retried_one["command"] == retried_all["command"] == "feed-retry"
    assert "error" not in retried_one
    assert "error" not in retried_all
    assert retried_one["retried"] == ["gone"]  # the reply names the feed it retried
    assert retried_all["retried"] == ["ok", "gone", "new"]
    assert unknown["error"]


def test_the_installed_console_in_a_process_keeps_the_contract(tmp_path: Path, shared_cache_dir: Path) -> None:
    """The real process, through ``python -m bot``: what a script reading the pipe gets."""
    env = {**os.environ, "NEWSBOT_STORAGE_CACHE_DIR": str(shared_cache_dir),
           "NEWSBOT_DB": str(tmp_path / "state.sqlite3"), "NEWSBOT_LOG_LEVEL": "WARNING"}
    lines = ["/ask transformer", "/features", "/issue 34", "/latest", "/issues", "/help", "/stats", "/digest",
             "/ask x count:99", "/issue nosuch", "/reindex", "/feed-retry", "", "/nope"]
    proc = subprocess.run([sys.executable, "-m", "bot", "console", "--json"], input="\n".join(lines) + "\n",
                          text=True, capture_output=True, cwd=tmp_path, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(objs) == len(lines)
    assert_keeps_contract(objs)


# -- a drift is caught ----------------------------------------------------------------------------------

async def test_an_added_renamed_or_dropped_key_breaks_the_contract(sample_config: Config) -> None:
    objs = await run_lines(sample_config, ["/ask transformer", "/stats", "/issue 34", "/issues", "/help"])
    assert_keeps_contract(objs)
    for obj in objs:
        added = obj | {"extra": 1}
        assert problems(added), f"an added key passed: {obj['command']}"
        key = next(k for k in obj if k != "command")
        dropped = {k: v for k, v in obj.items() if k != key}
        assert problems(dropped), f"a dropped key passed: {obj['command']}.{key}"
        renamed = dropped | {key + "s": obj[key]}
        assert problems(renamed), f"a renamed key passed: {obj['command']}.{key}"
    ask = copy.deepcopy(objs[0])
    ask["results"][0]["issue_name"] = ask["results"][0].pop("issue_title")
    assert problems(ask), "a renamed key inside a result passed"
    stats = copy.deepcopy(objs[1])
    stats["cache"]["hit_rate"] = "100%"
    assert problems(stats), "a wrongly typed value passed"


async def test_console_alerts_are_the_console_users_own_and_shown_literally(sample_config: Config) -> None:
    objs = await run_lines(sample_config, ["/subscribe **GPU** <@&1> section:Papers", "/subscribe   ",
                                           "/subscribe x section:poems", "/subscriptions", "/unsubscribe 7"])
    assert_keeps_contract(objs)
    added, empty, bad_section, listing, unknown = objs
    assert added["alert"]["query"] == "**GPU** <@&1>"
    assert added["alert"]["section"] == "papers"
    assert added["delivered_here"] is False
    assert "needs query" in empty["error"]
    assert "poems" in bad_section["error"]
    assert [a["query"] for a in listing["alerts"]] == ["**GPU** <@&1>"]
    assert "no alert number 7" in unknown["error"]
