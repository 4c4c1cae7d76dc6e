"""Data-driven golden test: the parser against the hand-written ``tests/unit/golden/sample_archive.json``.

One case per issue in the golden file, each comparing the issue's fields and its entries
(section, title, url, feature) with what :func:`retrieval.parse.parse_markdown` makes of the file in
``retrieval/sample_archive/``. Known disagreements go in ``KNOWN_FAILURES`` as strict xfails, so a
fix on either side is noticed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from retrieval.parse import parse_markdown

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "unit" / "golden" / "sample_archive.json"
SAMPLES = ROOT / "retrieval" / "sample_archive"
FIELDS = ("id", "title", "source_url", "number", "year", "week", "month")

# file name -> reason; empty while the parser and the golden file agree.
KNOWN_FAILURES: dict[str, str] = {}


def _cases() -> list[Any]:
    if not GOLDEN.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{GOLDEN} not written yet"))]
    issues = json.loads(GOLDEN.read_text(encoding="utf-8"))["issues"]
    return [
        pytest.param(
            case,
            id=case["file"],
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case["file"]])]
            if case["file"] in KNOWN_FAILURES else [],
        )
        for case in issues
    ]


@pytest.mark.parametrize("case", _cases())
def test_sample_issue_matches_golden(case: dict[str, Any]) -> None:
    text = (SAMPLES / case["file"]).read_text(encoding="utf-8")
    issue = parse_markdown(text, path=case["file"])
    assert {f: getattr(issue, f) for f in FIELDS} == {f: case[f] for f in FIELDS}
    if issue.date_estimated:
        # The golden schema has no date_estimated: it records no date where none is printed.
        assert case["date"] is None
    else:
        assert (issue.date.isoformat() if issue.date else None) == case["date"]
    got = [{"section": e.section, "title": e.title, "url": e.url, "feature": e.feature} for e in issue.entries]
    assert got == case["entries"]


def test_every_sample_file_is_in_the_golden_file() -> None:
    if not GOLDEN.is_file():
        pytest.skip(f"{GOLDEN} not written yet")
    named = {case["file"] for case in json.loads(GOLDEN.read_text(encoding="utf-8"))["issues"]}
    assert {p.name for p in SAMPLES.glob("*.md")} == named
