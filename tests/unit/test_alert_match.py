"""Keyword alerts' matching on the sample archive: the /ask engine restricted to one issue, above the threshold."""

from __future__ import annotations

import pytest

from bot.alerts.book import check_query, pick
from bot.alerts.match import member_matches, query_hits
from bot.config import AlertsConfig, load_config, sample_archive_dir
from bot.errors import AlertError
from bot.library import search_settings
from bot.results import AlertSub
from retrieval.archive import load_archive
from retrieval.models import Issue
from retrieval.search import SearchEngine

DEFAULT = AlertsConfig().min_score


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    config = load_config(env={}, storage__cache_dir=str(tmp_path_factory.mktemp("alert-cache")))
    return SearchEngine.build(load_archive(sample_archive_dir()), search_settings(config))


def issue(engine: SearchEngine, ref: str) -> Issue:
    return engine.find_issue(ref)


def test_only_the_issues_own_entries_match(engine: SearchEngine) -> None:
    w31 = issue(engine, "31")
    hits = query_hits(engine, w31, "protein folding", "", DEFAULT)
    assert hits, "the AlphaFold item of #31 matches"
    assert all(key.startswith(w31.id + "#") for key, _ in hits)
    assert all(score >= DEFAULT for _, score in hits)
    # The same words in another issue that has no such item: nothing.
    assert query_hits(engine, issue(engine, "week 13 2021"), "protein folding", "", DEFAULT) == []


def test_the_threshold_decides(engine: SearchEngine) -> None:
    w31 = issue(engine, "31")
    scores = [s for _, s in query_hits(engine, w31, "数据", "", 0.0)]
    assert scores
    assert max(scores) < DEFAULT
    assert query_hits(engine, w31, "数据", "", DEFAULT) == []
    strong = query_hits(engine, w31, "protein folding", "", 0.0)
    assert query_hits(engine, w31, "protein folding", "", strong[0][1] + 0.01) == []  # above the best: none


def test_common_words_never_match_even_at_threshold_zero(engine: SearchEngine) -> None:
    assert query_hits(engine, issue(engine, "31"), "the", "", 0.0) == []


def test_section_restricts(engine: SearchEngine) -> None:
    w31 = issue(engine, "31")
    [(key, _)] = query_hits(engine, w31, "protein folding", "", DEFAULT)[:1]
    section = next(e.section for e in w31.entries if e.key == key)
    other = next(s for s in ("features", "use_cases", "papers", "articles", "other") if s != section)
    assert query_hits(engine, w31, "protein folding", section, DEFAULT)
    assert query_hits(engine, w31, "protein folding", other, DEFAULT) == []


def test_one_member_gets_each_item_once_with_every_query_that_found_it(engine: SearchEngine) -> None:
    w31 = issue(engine, "31")
    matches = member_matches(engine, w31, [("protein folding", ""), ("AlphaFold", ""), ("数据", "")], DEFAULT, 5)
    keys = [m.entry.key for m in matches]
    assert len(keys) == len(set(keys))
    alpha = next(m for m in matches if "AlphaFold" in m.entry.title)
    assert set(alpha.queries) == {"protein folding", "AlphaFold"}
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert len(member_matches(engine, w31, [("transformer", ""), ("GPT-3", "")], DEFAULT, 1)) <= 1


def test_member_input_is_checked() -> None:
    with pytest.raises(AlertError):
        check_query("x" * 201)
    subs = (AlertSub(1, (1 << 52) + 5, "a"),)
    assert pick(subs, str((1 << 52) + 5)).query == "a"
    for bad in ("0", "-1", "²", "9" * 5000, "one"):
        with pytest.raises(AlertError):
            pick(subs, bad)
