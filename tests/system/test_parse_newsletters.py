"""The generic reader and its profiles against the two other real archives in ``../shared/corpus`` (科技爱好者周刊 and
This Week in Rust), read at run time, never copied here. Each archive is loaded once, as ``newsbot`` loads it: no
profile given, so detection must pick the right one."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import pytest

from retrieval.archive import LoadOptions, load_archive
from retrieval.models import Archive

pytestmark = pytest.mark.corpus

_NUMBERED = re.compile(r"^\s*(?:\*\*)?\s*(?:\d{1,3}\s*[、.．](?![\d.])|[（(]\s*\d{1,3}\s*[）)])", re.MULTILINE)


def _load(corpus_dir: Path, name: str) -> Archive:
    return load_archive(corpus_dir / name, LoadOptions(progress=False, workers=2))


@pytest.fixture(scope="module")
def ruanyf(corpus_dir: Path) -> Archive:
    return _load(corpus_dir, "ruanyf-weekly")


@pytest.fixture(scope="module")
def twir(corpus_dir: Path) -> Archive:
    return _load(corpus_dir, "this-week-in-rust")


def _files(corpus_dir: Path, name: str) -> list[Path]:
    return sorted((corpus_dir / name).glob("*.md"))


@pytest.mark.parametrize(("name", "profile"), [("ruanyf-weekly", "ruanyf-weekly"),
                                               ("this-week-in-rust", "this-week-in-rust")])
def test_every_file_is_an_issue_with_items(corpus_dir: Path, name: str, profile: str, request: pytest.FixtureRequest
                                           ) -> None:
    archive: Archive = request.getfixturevalue("ruanyf" if name == "ruanyf-weekly" else "twir")
    assert archive.profile == profile
    assert not archive.skipped
    assert not archive.duplicates
    assert {i.path for i in archive.newsletter_issues} == {p.name for p in _files(corpus_dir, name)}
    assert len(archive.newsletter_issues) == len(archive.issues)
    assert all(i.entries for i in archive.issues)
    assert not archive.notes


@pytest.mark.parametrize("name", ["ruanyf", "twir"])
def test_features_for_nearly_every_issue(name: str, request: pytest.FixtureRequest) -> None:
    archive: Archive = request.getfixturevalue(name)
    issues = archive.newsletter_issues
    with_features = [i for i in issues if i.features]
    assert len(with_features) >= 0.95 * len(issues)
    # Features are a pick, not the whole issue.
    assert sum(len(i.features) for i in issues) < 0.2 * len(archive.entries)


def test_ruanyf_numbers_are_the_file_numbers_and_dates_follow_them(ruanyf: Archive) -> None:
    issues = ruanyf.newsletter_issues
    assert len(issues) == 407
    for issue in issues:
        assert issue.number == int(issue.path.removeprefix("issue-").removesuffix(".md")), issue.path
        assert issue.date is not None, issue.path
        assert issue.date.weekday() == 4, issue.path  # published on Fridays
    by_number = sorted(issues, key=lambda i: i.number or 0)
    dates = [i.date for i in by_number if i.date]
    # Image upload days can lag: allow a few issues out of order, never a jump of more than a few weeks back.
    backwards = sum(1 for a, b in itertools.pairwise(dates) if b < a)
    assert backwards <= 5
    assert dates[0].year == 2018
    assert dates[-1].year >= 2026


def test_ruanyf_the_opening_essay_is_one_feature_entry(ruanyf: Archive) -> None:
    issue = next(i for i in ruanyf.newsletter_issues if i.number == 350)
    features = issue.features
    assert len(features) == 1
    assert features[0].title in issue.title
    assert features[0].section == "本周话题"
    # 往年回顾 (past issues) is not content; 科技动态 is, one entry per numbered news item.
    assert "往年回顾" not in issue.sections
    news = [e for e in issue.entries if e.section == "科技动态"]
    assert len(news) >= 3
    assert all(e.url for e in news)


def test_twir_dates_and_numbers_come_from_front_matter(twir: Archive, corpus_dir: Path) -> None:
    issues = twir.newsletter_issues
    assert len(issues) == 606
    for issue in issues:
        # Front matter's Date wins; the file name's date is the week's, a few days apart at most.
        file_date = dt.date.fromisoformat(issue.path[:10])
        assert issue.date is not None, issue.path
        assert abs(issue.date - file_date) <= dt.timedelta(days=7), issue.path
        assert issue.number is not None, issue.path
    numbers = [i.number for i in issues]  # the archive is sorted by date
    assert numbers == sorted(numbers)
    crate = [i for i in issues if any(e.section == "Crate of the Week" and e.feature for e in i.entries)]
    assert len(crate) >= 0.9 * len(issues)
    skipped = {"Upcoming Events", "Jobs", "Rust Jobs"}
    assert not skipped & {e.section for e in twir.entries}


@pytest.mark.parametrize("name", ["ruanyf", "twir"])
def test_no_entry_spans_several_numbered_items(name: str, request: pytest.FixtureRequest) -> None:
    """An entry opened by an item line holds that item's few links, never a list's (the bug that made whole sections
    into entries); a section read whole (an essay, a list of thanks) is the section's own entry, titled by it."""
    archive: Archive = request.getfixturevalue(name)
    items = [e for e in archive.entries if e.title != e.section]
    assert len(items) > 0.9 * len(archive.entries)
    for entry in items:
        assert len(entry.links) <= 12, (entry.key, entry.title)


def test_twir_every_linked_bullet_is_one_entry(twir: Archive, corpus_dir: Path) -> None:
    """On a sample of issues, each top-level bullet with a link in a content section is exactly one entry."""
    issue = next(i for i in twir.newsletter_issues if i.number == 528)
    text = (corpus_dir / "this-week-in-rust" / issue.path).read_text(encoding="utf-8")
    body = text.split("## Updates from Rust Community", 1)[1].split("## Crate of the Week", 1)[0]
    body = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)
    bullets = [ln for ln in body.splitlines() if re.match(r"^\* .*\]\(https?://", ln)]
    community = [e for e in issue.entries if e.section == "Updates from Rust Community"]
    assert len(community) == len(bullets)
    assert [e.url for e in community] == [re.search(r"\]\((https?://[^)\s]+)\)", b).group(1) for b in bullets]


def test_ruanyf_numbered_items_are_entries(ruanyf: Archive, corpus_dir: Path) -> None:
    """In 文章, 工具 and 资源 each numbered line is one entry, in order."""
    for number in (150, 250, 350, 400):
        issue = next(i for i in ruanyf.newsletter_issues if i.number == number)
        text = (corpus_dir / "ruanyf-weekly" / issue.path).read_text(encoding="utf-8")
        for section in ("文章", "工具", "资源"):
            if f"\n## {section}\n" not in text:
                continue
            block = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
            numbered = len(_NUMBERED.findall(block))
            entries = [e for e in issue.entries if e.section == section]
            assert len(entries) == numbered, (number, section)
