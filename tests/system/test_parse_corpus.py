"""The parser against the real archive in ``../shared/corpus`` (read at run time, never copied here)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.models import Issue
from retrieval.parse import ParseError, parse_markdown

pytestmark = pytest.mark.corpus

# The 2021 layout ("Machine Learning News", week 9 of 2021 → issue 34) is exactly the
# "akiras-machine-learning-news" slugs; the older "ML News" issues are "akiras-ml-news".
ERA_B_SLUG = "akiras-machine-learning-news"
_PICKS_HEADING = re.compile(r"^#+\s*—?\s*每[周月]编辑精选", re.MULTILINE)
_BULLET = re.compile(r"^\*\s+(.*)$")
_ARXIV = re.compile(r"arxiv\.org/abs/(\d{4}\.\d{4,5})")


@pytest.fixture(scope="module")
def issues(corpus_dir: Path) -> dict[str, tuple[Issue, str]]:
    out: dict[str, tuple[Issue, str]] = {}
    for path in sorted((corpus_dir / "akira").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        out[path.name] = (parse_markdown(text, path=path.name), text)
    return out


def _all(issues: dict[str, tuple[Issue, str]]) -> Iterator[Issue]:
    return (issue for issue, _ in issues.values())


def test_all_48_files_are_issues_with_entries(issues: dict[str, tuple[Issue, str]]) -> None:
    assert len(issues) == 48
    for name, (issue, _) in issues.items():
        assert issue.kind == "issue", name
        assert issue.entries, name
        assert name.startswith(issue.id), name  # the files keep their slug names
        assert issue.date is not None, name


def test_every_issue_has_a_distinct_label(issues: dict[str, tuple[Issue, str]]) -> None:
    labels = [i.label for i in _all(issues)]
    assert len(set(labels)) == len(labels)


def test_era_b_issues_have_feature_entries(issues: dict[str, tuple[Issue, str]]) -> None:
    era_b = [i for i in _all(issues) if i.id.startswith(ERA_B_SLUG)]
    assert len(era_b) == 20
    for issue in era_b:
        assert issue.features, issue.label
        for e in issue.entries:
            # In this layout the features are exactly the items of 本周特稿/新闻.
            assert e.feature == (e.section == "features"), (issue.label, e.title)
    assert sum(len(i.features) for i in era_b) >= 40


def test_era_a_editor_picks_are_features(issues: dict[str, tuple[Issue, str]]) -> None:
    checked = 0
    for name, (issue, text) in issues.items():
        if issue.id.startswith(ERA_B_SLUG):
            continue
        m = _PICKS_HEADING.search(text)
        if m is None:
            assert not issue.features, name
            continue
        bullets = []
        for line in text[m.end():].split("\n")[1:]:
            if line.startswith("#"):
                break
            if bm := _BULLET.match(line):
                bullets.append(bm.group(1))
        assert bullets, name
        assert len(issue.features) == len(bullets), name
        feature_text = " ".join(f"{e.url} {e.summary} {e.title}" for e in issue.features)
        for bullet in bullets:
            for arxiv_id in _ARXIV.findall(bullet):
                assert arxiv_id in feature_text, (name, arxiv_id)
        checked += 1
    assert checked == 21  # weeks 43–52 of 2020, the Oct 2020 – Jan 2021 digests, weeks 2–8 of 2021


def test_truncated_monthly_digests_are_only_their_picks(issues: dict[str, tuple[Issue, str]]) -> None:
    for month in ("october-2020", "november-2020", "december-2020", "january-2021"):
        (issue,) = (i for i in _all(issues) if month in i.id)
        assert issue.month is not None
        assert issue.week is None
        assert len(issue.entries) == 4
        assert all(e.feature and e.section == "features" for e in issue.entries)


def test_at_least_95_percent_of_entries_have_a_url(issues: dict[str, tuple[Issue, str]]) -> None:
    entries = [e for i in _all(issues) for e in i.entries]
    with_url = [e for e in entries if e.url]
    assert len(with_url) >= 0.95 * len(entries)
    for e in with_url:
        assert e.url is not None
        assert e.url.startswith(("http://", "https://"))
        assert "utm_" not in e.url
        assert not e.url.startswith("https://medium.com/img")


def test_titles_are_clean(issues: dict[str, tuple[Issue, str]]) -> None:
    for issue in _all(issues):
        assert issue.title
        assert "*" not in issue.title
        for e in issue.entries:
            assert e.title.strip(), (issue.label, e.position)
            assert not any(bad in e.title for bad in ("*", "](", "###")), (issue.label, e.title)


def test_summaries_are_clean(issues: dict[str, tuple[Issue, str]]) -> None:
    for issue in _all(issues):
        for e in issue.entries:
            assert not any(bad in e.summary for bad in ("**", "](", "![", "— — —", "utm_")), (issue.label, e.title)


def test_sections_follow_the_issue_order(issues: dict[str, tuple[Issue, str]]) -> None:
    for issue in _all(issues):
        assert [e.position for e in issue.entries] == list(range(len(issue.entries)))
        assert all(e.issue_id == issue.id for e in issue.entries)


def test_weeks_numbers_and_dates_agree(issues: dict[str, tuple[Issue, str]]) -> None:
    numbered = sorted((i for i in _all(issues) if i.number is not None), key=lambda i: i.number or 0)
    assert [i.number for i in numbered] == [18, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 33, 34]
    dates = [i.date for i in numbered if i.date is not None]
    assert dates == sorted(dates)
    assert len(set(dates)) == len(dates)
    # Printed dates up to #24, estimated after it.
    assert [i.date_estimated for i in numbered] == [False] * 6 + [True] * 9
    weekly = sorted((i for i in _all(issues) if i.week is not None and i.number is None),
                    key=lambda i: (i.year or 0, i.week or 0))
    weekly_dates = [i.date for i in weekly if i.date is not None]
    assert weekly_dates == sorted(weekly_dates)
    assert len(set(weekly_dates)) == len(weekly_dates)
    by_label = {i.label: i for i in _all(issues)}
    assert by_label["2020-W48"].week == 48  # its intro says week 47; the slug wins
    assert by_label["#18"].week == 23
    assert by_label["#18"].year == 2021
    assert by_label["2020-09"].month == 9


def test_seeds_parse_to_their_twins_ids(corpus_dir: Path, issues: dict[str, tuple[Issue, str]]) -> None:
    by_text = {text: issue for issue, text in issues.values()}
    seeds = {seed.name[:3]: seed.read_text(encoding="utf-8") for seed in (corpus_dir / "seeds").glob("*.txt")}
    assert sorted(seeds) == ["000", "001", "003"]
    # 001 and 003 are byte-identical to two archive files; 000 is 001 as mojibake (SEEDS.md).
    twins = {"000": by_text[seeds["001"]], "001": by_text[seeds["001"]], "003": by_text[seeds["003"]]}
    for name, text in seeds.items():
        issue = parse_markdown(text, path=f"{name}.txt")
        assert issue.id == twins[name].id, name
        assert issue.kind == "issue", name
        if name != "000":
            assert issue.entries == twins[name].entries, name


@pytest.mark.slow
def test_stress_corpus_never_crashes(corpus_dir: Path) -> None:
    failures: list[str] = []
    count = 0
    for path in sorted((corpus_dir / "stress").rglob("*.md")):
        count += 1
        text = path.read_text(encoding="utf-8")
        try:
            issue = parse_markdown(text, path=path.name)
        except ParseError:
            failures.append(path.name)
            continue
        assert issue.kind == "document", path
        for e in issue.entries:
            assert e.title, path
            assert not any(bad in e.title for bad in ("*", "](", "###")), path
    assert count == 3000
    assert failures == ["0656.md"]  # the one empty file
