"""/ask's since, until and section on the console: parsed by the registry's generic dispatch, applied by the
engine, kept apart in the query cache, and one clear line for a bad value."""

from __future__ import annotations

import io
import json
from typing import Any

from bot.config import Config
from bot.console import run_console_async


async def run(config: Config, lines: list[str], *, json_mode: bool = True) -> list[Any]:
    out = io.StringIO()
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    assert await run_console_async(config, json_mode=json_mode, stdin=stdin, stdout=out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()] if json_mode else [out.getvalue()]


async def test_filters_are_options_of_ask_and_the_cache_keeps_them_apart(sample_config: Config) -> None:
    plain, papers, again, dated, both = await run(sample_config, [
        "/ask transformer count:5",
        "/ask transformer count:5 section:papers",
        "/ask transformer count:5 section:论文",       # the same filter by its label: the same cache entry
        '/ask transformer count:5 since:"week 13 2021"',
        "/ask transformer count:5 since:2020-11-01 until:#19 section:Papers",
    ])
    assert "filters" not in plain
    assert {r["section"] for r in plain["results"]} != {"papers"}  # else the section filter proves nothing
    assert not papers["cached"]
    assert papers["results"]
    assert {r["section"] for r in papers["results"]} == {"papers"}
    assert again["cached"]
    assert again["results"] == papers["results"]
    assert again["filters"] == {"since": None, "until": None, "section": "papers"}
    assert dated["filters"] == {"since": "2021-03-28", "until": None, "section": None}
    assert dated["results"]
    assert all(r["issue_date"] >= "2021-03-28" for r in dated["results"])
    assert both["filters"] == {"since": "2020-11-01", "until": "2021-06-13", "section": "papers"}
    assert all("2020-11-01" <= r["issue_date"] <= "2021-06-13" and r["section"] == "papers"
               for r in both["results"])


async def test_a_bad_filter_is_one_clear_line_and_the_session_goes_on(sample_config: Config) -> None:
    [text] = await run(sample_config, [
        "/ask transformer since:2021-13-01",
        "/ask transformer until:#99",
        "/ask transformer section:<@123>",
        "/ask transformer since:2021-10-01 until:2021-01-01",
        "/ask 矩阵乘法 since:2021-10-01",
        "/ask 矩阵乘法 section:papers count:1",
    ], json_mode=False)
    lines = text.splitlines()
    assert lines[0] == "error: “2021-13-01” is not a date: month must be in 1..12."
    assert lines[1] == "error: until: No issue matches issue #99."
    assert lines[2].startswith("Did you mean")
    assert lines[3].startswith("error: No section called “<@123>”. Sections of this archive: ")
    assert lines[4] == "error: since (2021-10-01) is after until (2021-01-01): nothing can be in between."
    assert lines[5].startswith("No match since 2021-10-01; ")
    assert lines[5].endswith(" matches without that filter.")
    assert lines[6] == "filtered: in section papers"
    assert lines[7].startswith("1. ")
    assert "Traceback" not in text
