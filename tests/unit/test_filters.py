"""Filters on /ask (since, until, section) on the sample archive: parsing dates and issue references, the
section accessor, and the engine filtering its candidates before the top k."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import sample_archive_dir
from bot.library import search_settings
from retrieval.archive import load_archive
from retrieval.errors import QueryError, UnknownIssueError
from retrieval.filters import SearchFilter, parse_date, resolve_filter, section_choices, section_names
from retrieval.issueref import parse_issue_ref
from retrieval.models import Entry
from retrieval.search import SearchEngine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    from bot.config import load_config

    config = load_config(env={}, storage__cache_dir=str(tmp_path_factory.mktemp("filter-cache")))
    return SearchEngine.build(load_archive(sample_archive_dir()), search_settings(config))


@pytest.mark.parametrize(("text", "date"), [
    ("2021-03-01", dt.date(2021, 3, 1)), ("2021/3/1", dt.date(2021, 3, 1)), ("2021.03.01", dt.date(2021, 3, 1)),
    ("20210301", dt.date(2021, 3, 1)), ("2021 年 3 月 1 日", dt.date(2021, 3, 1)),
    (" 2021-12-31 ", dt.date(2021, 12, 31)),
])
def test_a_date_is_read_in_the_forms_readers_type(text: str, date: dt.date) -> None:
    assert parse_date(text) == date


@pytest.mark.parametrize("text", ["2021-03", "#31", "第 31 期", "week 13 2021", "yesterday", "2021-3", ""])
def test_what_is_not_shaped_like_a_date_is_not_one(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize("text", ["2021-02-29", "2021-13-01", "2021-00-10", "2021-04-31"])
def test_a_date_that_does_not_exist_is_one_clear_error(text: str) -> None:
    with pytest.raises(QueryError, match="is not a date"):
        parse_date(text)


def test_an_issue_reference_stands_for_its_date(engine: SearchEngine) -> None:
    d = engine.directory
    issue31 = d.find_issue("#31")
    assert issue31.date is not None
    for ref in ("#31", "第 31 期", "31期", issue31.id):
        assert resolve_filter(d, since=ref).since == issue31.date, ref
        assert resolve_filter(d, until=ref).until == issue31.date, ref
    w13 = d.find_issue("week 13 2021")
    assert resolve_filter(d, since="2021-W13").since == w13.date
    latest = engine.archive.latest
    assert latest is not None
    assert resolve_filter(d, since="latest").since == latest.date


def test_a_reference_to_several_issues_bounds_by_the_earliest_and_the_latest(engine: SearchEngine) -> None:
    # A year names many issues (/issue would ask which one); since takes the first of them, until the last,
    # so since:2021 means "from 2021 on" instead of an error.
    d = engine.directory
    ref = parse_issue_ref("2021-03")
    assert ref is not None
    dates = sorted(i.date for i in d.resolve(ref) if i.date)
    assert len(dates) >= 2
    assert resolve_filter(d, since="2021-03").since == dates[0]
    assert resolve_filter(d, until="2021-03").until == dates[-1]


def test_bad_filters_are_one_clear_error_each(engine: SearchEngine) -> None:
    d = engine.directory
    with pytest.raises(UnknownIssueError, match=r"^since: No issue matches issue \#99") as err:
        resolve_filter(d, since="#99")
    assert err.value.suggestions  # "did you mean", as /issue gives
    with pytest.raises(UnknownIssueError, match=r"^until takes a date"):
        resolve_filter(d, until="no such thing at all")
    with pytest.raises(QueryError, match=r"since \(2021-10-01\) is after until \(2021-01-01\)"):
        resolve_filter(d, since="2021-10-01", until="2021-01-01")
    with pytest.raises(QueryError, match=r"No section called “nosuch”\. Sections of this archive: "):
        resolve_filter(d, section="nosuch")
    with pytest.raises(QueryError) as caught:
        resolve_filter(d, since="2021-02-30")
    assert str(caught.value) == "“2021-02-30” is not a date: day is out of range for month."


def test_a_section_is_named_by_its_key_or_either_label(engine: SearchEngine) -> None:
    d = engine.directory
    for name in ("papers", "Papers", "论文", " PAPERS "):
        assert resolve_filter(d, section=name).section == "papers", name
    assert section_names(Entry("w", 0, "Crate of the Week", "t", None, "")) == ("Crate of the Week",)
    choices = section_choices(engine.archive)
    assert {key for _, key in choices} == {e.section for e in engine.archive.entries}
    assert section_choices(engine.archive, "论文") == [("论文 / Papers / papers", "papers")]
    assert section_choices(engine.archive, "zzz") == []


def test_a_filter_applies_before_the_top_k(engine: SearchEngine) -> None:
    # The best match without a filter is older than the bound; with it, the page is filled from further down.
    everything = engine.search("transformer", k=engine.size)
    bound = dt.date(2021, 6, 1)
    newer = [h for h in everything.hits if h.issue.date is not None and h.issue.date >= bound]
    assert everything.hits[0].issue.date is not None
    assert everything.hits[0].issue.date < bound
    assert len(newer) >= 2
    found = engine.search("transformer", k=2, filters=SearchFilter(since=bound))
    assert [h.entry.key for h in found.hits] == [h.entry.key for h in newer[:2]]
    assert found.notice is None


def test_section_and_dates_combine_with_the_question_and_its_issue(engine: SearchEngine) -> None:
    f = SearchFilter(until=dt.date(2021, 3, 28), section="papers")
    found = engine.search("变压器", k=10, filters=f)
    assert found.hits
    assert all(h.entry.section == "papers" and h.issue.date and h.issue.date <= f.until for h in found.hits)
    # an issue named in the question and a filter: both hold
    inside = engine.search("第 31 期 矩阵", k=10, filters=SearchFilter(section="papers"))
    assert inside.hits
    assert {h.issue.label for h in inside.hits} == {"#31"}
    assert all(h.entry.section == "papers" for h in inside.hits)


def test_an_empty_answer_says_which_filter_emptied_it(engine: SearchEngine) -> None:
    unfiltered = engine.search("矩阵乘法", k=engine.size)
    latest = max(h.issue.date for h in unfiltered.hits if h.issue.date)
    after = latest + dt.timedelta(days=1)
    found = engine.search("矩阵乘法", k=5, filters=SearchFilter(since=after, section="papers"))
    in_papers = engine.search("矩阵乘法", k=engine.size, filters=SearchFilter(section="papers"))
    papers = {h.entry.key for h in in_papers.hits}
    assert not found.hits
    n = len(papers)
    assert found.notice == f"No match since {after}; {n} match{'es' * (n != 1)} without that filter."
    # nothing matches even without the filters: it says so, instead of blaming one
    none = engine.search("zzqqxx", k=5, filters=SearchFilter(section="papers"))
    assert not none.hits
    assert none.notice == "No entries match that question, even without its filters."


def test_undated_issues_are_outside_any_date_bound() -> None:
    from retrieval.models import Issue

    undated = Issue("u", "U", None, "issue", ())
    assert SearchFilter(section="papers").admits(undated, "papers")
    assert not SearchFilter(since=dt.date(2000, 1, 1)).admits(undated, "papers")
    assert not SearchFilter(until=dt.date(2100, 1, 1)).admits(undated, "papers")
