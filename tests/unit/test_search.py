"""The search engine on the sample archive: lifecycle, issue-aware queries, "also in", odd input."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pytest

from bot.config import Config, sample_archive_dir
from bot.library import search_settings
from retrieval.archive import load_archive
from retrieval.errors import UnknownIssueError
from retrieval.measure.explain import explain
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
    settings = search_settings(msgspec.structs.replace(
        sample_config, storage=msgspec.structs.replace(sample_config.storage, cache_dir=str(tmp_path / "cache"))))
    first = SearchEngine.build(load_archive(archive_dir), settings)
    assert first.tokenized_now == first.size == 57
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


def test_a_date_in_a_question_restricts_to_the_issue_of_that_week(engine: SearchEngine) -> None:
    dated = [i for i in engine.archive.newsletter_issues if i.date is not None and not i.date_estimated]
    assert dated
    issue = dated[0]
    result = engine.search(f"the week of {issue.date.isoformat()} 矩阵", k=5)
    assert issue in result.issues
    assert all(i.date is not None and i.date.isocalendar()[:2] == issue.date.isocalendar()[:2]
               for i in result.issues)
    assert {h.issue.id for h in result.hits} <= {i.id for i in result.issues}


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


def test_a_bridge_match_says_so_and_a_typed_match_does_not(engine: SearchEngine) -> None:
    result = engine.search("CLIP foundation models", k=5)
    by_url = {h.entry.url: h for h in result.hits}
    bridged = [h for h in result.hits if h.bridges]
    assert bridged
    assert ("CLIP", "剪辑") in bridged[0].bridges
    clip_paper = by_url.get("https://arxiv.org/abs/2103.00020")
    if clip_paper is not None:  # its text says "CLIP" itself: no bridge needed
        assert all(typed != "CLIP" for typed, _ in clip_paper.bridges)
    again = engine.from_cache(result.query, engine.cache_payload(result))
    assert again is not None
    assert [h.bridges for h in again.hits] == [h.bridges for h in result.hits]


@pytest.mark.parametrize("query", ["https://arxiv.org/abs/2106.10860", "矩阵 http://arxiv.org/pdf/2106.10860v2 那一期",
                                   "robustness https://arxiv.org/abs/2106.10860。"])
def test_a_question_with_a_link_puts_that_link_first(engine: SearchEngine, query: str) -> None:
    hits = engine.search(query, k=5).hits
    assert hits[0].entry.url == "https://arxiv.org/abs/2106.10860"
    assert [h.entry.url for h in hits].count("https://arxiv.org/abs/2106.10860") == 1


def test_a_link_outside_the_issue_filter_is_not_pinned(engine: SearchEngine) -> None:
    week13 = engine.find_issue("week 13 2021")
    hits = engine.search("https://arxiv.org/abs/2106.10860 变压器", k=5, issue=week13).hits
    assert all(h.issue.id == week13.id for h in hits)


def test_several_items_answering_one_question_are_all_in_the_top_five(engine: SearchEngine) -> None:
    # The SAM paper is in two issues (one result, "also in" the other); ASAM, its follow-up, is a second answer.
    hits = engine.search("sharpness-aware minimization 锐度", k=5).hits
    urls = [h.entry.url for h in hits]
    assert urls.count(SAM) == 1
    sam = hits[urls.index(SAM)]
    assert len(sam.also_in) == 1


CARD_ISSUE = """# Akira 的机器学习新闻 #41

> 原文：<https://medium.com/analytics-vidhya/akiras-machine-learning-news-issue-41-0a1b2c3d4e5f>

# 1.本周特稿/新闻

[**更快的目标检测器**](https://arxiv.org/abs/2011.08036)**——**[**arxiv.org**](https://arxiv.org/abs/2011.08036)

提出了 Scaled-YOLOv4，通过缩放网络在速度和精度之间取得平衡。

# 4.技术文章

[**一篇关于部署的博客**](https://example.com/blog/deploy)**——**[**example.com**](https://example.com/blog/deploy)

[](https://example.com/blog/deploy) [## 在树莓派上运行量化模型

### 本文介绍如何把模型量化到八位整数…

example.com](https://example.com/blog/deploy)

作者介绍了部署的经验，代码在 [GitHub](https://github.com/x/deploy)。

# 其他博客

![](img/a.png)

[**机器学习 2020 总结:84 篇有趣的论文**](https://towardsdatascience.com/machine-learning-2020-summary-45bd45c0d35b)
在这篇文章中，我介绍了 2020 年发表的有趣论文。

[](https://towardsdatascience.com/pruning-in-practice-1a2b3c4d5e6f) [## 剪枝的实践与误区

### 为什么稀疏网络在手机上不一定更快…

@CHAINED@

### 梯度提升树为什么仍然难以超越…

medium.com](https://medium.com/@akira/tabular-notes-9f8e7d6c5b4a)

****[**medium.com**](/analytics-vidhya/few-shot-notes-0a0b0c0d0e0f?utm_source=Revue%20newsletter)
少样本学习读书笔记|藤井昭弘|Medium**——**[**从元学习到提示，一篇笔记串起来..**](/analytics-vidhya/few-shot-notes-0a0b0c0d0e0f)

# 关于我

制造工程师。
""".replace("@CHAINED@",  # two cards chained on one line, as Medium exports them
            "towardsdatascience.com](https://towardsdatascience.com/pruning-in-practice-1a2b3c4d5e6f?gi=5e36973da6db)"
            " [](https://medium.com/@akira/tabular-notes-9f8e7d6c5b4a) [## 表格数据的深度学习笔记")


@pytest.fixture(scope="module")
def card_engine(settings: SearchSettings, tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    folder = tmp_path_factory.mktemp("card-archive")
    (folder / "akiras-machine-learning-news-issue-41-0a1b2c3d4e5f.md").write_text(CARD_ISSUE, encoding="utf-8")
    return SearchEngine.build(load_archive(folder), settings)


def test_embed_card_text_is_indexed_with_its_entry(card_engine: SearchEngine) -> None:
    (entry,) = [e for e in card_engine.archive.entries if e.url == "https://example.com/blog/deploy"]
    assert "树莓派" in entry.cards
    assert "树莓派" not in entry.summary
    assert card_engine.search("树莓派 量化", k=1).hits[0].entry.url == "https://example.com/blog/deploy"


def test_the_other_posts_list_yields_entries(card_engine: SearchEngine) -> None:
    hit = card_engine.search("2020 年的论文总结", k=1).hits[0]
    assert hit.entry.url == "https://towardsdatascience.com/machine-learning-2020-summary-45bd45c0d35b"
    assert all("制造工程师" not in e.summary for e in card_engine.archive.entries)  # 关于我 is still no item


def test_bare_cards_in_the_other_posts_list_are_entries_of_their_own(card_engine: SearchEngine) -> None:
    cards = {e.url: e for e in card_engine.archive.entries
             if e.url in ("https://towardsdatascience.com/pruning-in-practice-1a2b3c4d5e6f",
                          "https://medium.com/@akira/tabular-notes-9f8e7d6c5b4a")}
    assert [e.title for e in cards.values()] == ["剪枝的实践与误区", "表格数据的深度学习笔记"]
    assert all(len(e.links) == 1 for e in cards.values())  # the card's ?gi= link is the same link
    assert cards["https://medium.com/@akira/tabular-notes-9f8e7d6c5b4a"].summary == "梯度提升树为什么仍然难以超越…"
    (domain_led,) = [e for e in card_engine.archive.entries if "few-shot-notes" in (e.url or "")]
    assert domain_led.title.startswith("少样本学习读书笔记")  # its link text is only the domain
    hit = card_engine.search("稀疏网络 手机上为什么不快", k=1).hits[0]
    assert hit.entry.url == "https://towardsdatascience.com/pruning-in-practice-1a2b3c4d5e6f"


@pytest.mark.parametrize("query", ["Scaled-YOLOv4", "yolov4", "YOLO"])
def test_version_names_are_found_by_their_parts(card_engine: SearchEngine, query: str) -> None:
    assert card_engine.search(query, k=1).hits[0].entry.url == "https://arxiv.org/abs/2011.08036"


def test_dictionary_translations_are_words_the_index_has(engine: SearchEngine) -> None:
    vocabulary = {t for e in engine.archive.entries for t in engine.analyzer.index_tokens(
        f"{e.title}\n{e.summary}\n{e.cards}")}
    terms = engine.search("lookup table multiply faster heartbeat camera train", k=3).terms
    bridged = [t.token for t in terms if t.source == "cedict"]
    assert "训练" in bridged  # "train": the ML sense the archive uses, not 火车 (the railway one)
    assert all(t in vocabulary for t in bridged), [t for t in bridged if t not in vocabulary]


def test_a_link_inside_an_item_finds_that_item(card_engine: SearchEngine) -> None:
    hits = card_engine.search("https://github.com/x/deploy", k=3).hits
    assert hits[0].entry.url == "https://example.com/blog/deploy"
    assert "https://github.com/x/deploy" in hits[0].entry.links


def test_a_concept_only_renderings_can_match_gets_the_bridge_floor(engine: SearchEngine) -> None:
    unfloored = SearchEngine.build(engine.archive, msgspec.structs.replace(engine.settings, bridge_floor=0.0),
                                   analyzer=engine.analyzer)
    query = "heartbeat camera lookup table"
    checked = 0
    for low, high in zip(unfloored.concepts(query), engine.concepts(query), strict=True):
        typed_known = any(t.source == "query" and engine._index.idf(t.token) > 0 for t in high.terms)
        renderings = [(a.weight, b.weight) for a, b in zip(low.terms, high.terms, strict=True) if a.source != "query"]
        if typed_known or not renderings:
            assert low == high  # a typed word the archive has keeps its renderings as they were
            continue
        checked += 1
        best_low = max(w for w, _ in renderings)
        assert max(w for _, w in renderings) == pytest.approx(max(best_low, engine.settings.bridge_floor), abs=1e-3)
        assert all(b == pytest.approx(a * max(w for _, w in renderings) / best_low, abs=1e-3) for a, b in renderings)
    assert checked


def test_explain_finds_an_entry_by_its_second_link(card_engine: SearchEngine) -> None:
    (link,) = explain(card_engine, "部署的经验", ["https://github.com/x/deploy"]).links
    assert link.entry is not None
    assert link.entry.url == "https://example.com/blog/deploy"
    assert link.rank == 1
