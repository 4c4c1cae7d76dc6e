"""The search engine on the sample archive: lifecycle, issue-aware queries, "also in", odd input."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from bot.commands import search_settings
from bot.config import Config, sample_archive_dir
from retrieval.archive import load_archive
from retrieval.errors import UnknownIssueError
from retrieval.search import SearchEngine, SearchSettings

SAM = "https://arxiv.org/abs/2010.01412"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> SearchSettings:
    from bot.config import load_config

    config = load_config(env={}, storage__cache_dir=str(tmp_path_factory.mktemp("search-cache")))
    return search_settings(config)


@pytest.fixture(scope="module")
def engine(settings: SearchSettings) -> SearchEngine:
    return SearchEngine.build(load_archive(sample_archive_dir()), settings)


def test_restart_tokenizes_nothing_and_a_change_only_what_changed(tmp_path: Path, sample_config: Config) -> None:
    archive_dir = tmp_path / "archive"
    shutil.copytree(sample_archive_dir(), archive_dir)
    settings = search_settings(dataclasses.replace(
        sample_config, storage=dataclasses.replace(sample_config.storage, cache_dir=str(tmp_path / "cache"))))
    first = SearchEngine.build(load_archive(archive_dir), settings)
    assert first.tokenized_now == first.size == 56
    again = SearchEngine.build(load_archive(archive_dir), settings, analyzer=first.analyzer)
    assert again.tokenized_now == 0
    assert again.fingerprint == first.fingerprint
    path = archive_dir / "akiras-machine-learning-news-issue-31-5a3e0c000031.md"
    path.write_text(path.read_text(encoding="utf-8").replace("MADDNESS", "MADDNESS 算法"), encoding="utf-8")
    changed = SearchEngine.build(load_archive(archive_dir), settings, analyzer=first.analyzer)
    assert changed.tokenized_now == 1
    assert changed.fingerprint != first.fingerprint


@pytest.mark.parametrize(("query", "label"), [
    ("第 31 期 矩阵", "#31"), ("#19 鲁棒性", "#19"), ("issue 31 表格", "#31"), ("2021 年第 13 周 变压器", "2021-W13"),
    ("week 13 2021 CutMix", "2021-W13"), ("2020 年 10 月 SAM", "2020-10"), ("最新一期 矩阵", "#31"),
])
def test_issue_references_in_a_question_restrict_the_results(engine: SearchEngine, query: str, label: str) -> None:
    result = engine.search(query, k=10)
    assert result.hits, result.notice
    allowed = {i.label for i in result.issues}
    assert label in allowed
    assert {h.issue.label for h in result.hits} <= allowed
    if "月" not in query:
        assert allowed == {label}
    else:  # a month names its monthly digest and the weekly issues of that month
        assert allowed == {"2020-10", "2020-W41"}


def test_an_issue_alone_lists_that_issue(engine: SearchEngine) -> None:
    result = engine.search("第 19 期", k=3)
    assert [h.issue.label for h in result.hits] == ["#19"] * 3
    assert result.hits[0].entry.feature


def test_same_paper_in_two_issues_is_one_result_with_also_in(engine: SearchEngine) -> None:
    result = engine.search("sharpness-aware minimization 锐度", k=10)
    hits = [h for h in result.hits if h.entry.url == SAM]
    assert len(hits) == 1
    assert {i.label for i in hits[0].also_in} | {hits[0].issue.label} == {"2020-W41", "2020-10"}


def test_english_question_finds_chinese_text_through_the_bridges(engine: SearchEngine) -> None:
    assert engine.search("deep learning on tabular data", k=3).hits[0].entry.url == "https://arxiv.org/abs/2106.11959"
    assert engine.search("multiplying matrices without multiplication", k=3).hits[0].entry.url == \
        "https://arxiv.org/abs/2106.10860"


def test_traditional_characters_match(engine: SearchEngine) -> None:
    simplified = engine.search("矩阵乘法", k=3)
    traditional = engine.search("矩陣乘法", k=3)
    assert [h.entry.key for h in traditional.hits] == [h.entry.key for h in simplified.hits]


def test_snippet_marks_matched_terms(engine: SearchEngine) -> None:
    hit = engine.search("CutMix", k=1).hits[0]
    assert hit.highlights
    assert all(hit.snippet[a:b].lower() == "cutmix" for a, b in hit.highlights)


@pytest.mark.parametrize("query", ["", "   ", "的 了 吗", "？！。，", "😀🚀🔥", "x" * 5000, "SELECT * FROM t; --",
                                   "**[x](y)** `z`", "\x00\x07\u202e", "第 999 期"])
def test_odd_queries_never_raise(engine: SearchEngine, query: str) -> None:
    result = engine.search(query)
    assert result.hits or result.notice


def test_unknown_issue_names_get_suggestions(engine: SearchEngine) -> None:
    with pytest.raises(UnknownIssueError) as err:
        engine.find_issue("第 91 期")
    assert err.value.suggestions
    assert engine.find_issue("2020 年 10 月").label == "2020-10"
    assert engine.find_issue("#19").label == "#19"
    assert engine.find_issue("W13 2021").label == "2021-W13"
