"""BM25Index: pinned rankings on a hand-checkable corpus, and exactness against rank-bm25's BM25Plus.

Every corpus here is made up for the test. None of it comes from the newsletter archive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Plus

from retrieval import _bm25kernel
from retrieval.bm25 import BM25Index, EmptyIndexError, select_top_k, unit_weights
from retrieval.bm25math import as_mask
from retrieval.errors import NewsbotError
from retrieval.measure.bm25_bench import bench_compare, sample_queries, zipf_corpus

# Four documents of four tokens each, so dl == avgdl == 4 everywhere and, with k1 = 1.5, b = 0.75:
#   norm = k1·(1 − b + b·dl/avgdl) = 1.5
#   tf = 1: tf·(k1+1)/(norm+tf) = 2.5/2.5 = 1
#   tf = 2: 5/3.5 = 10/7
#   BM25+ term weight = idf·(δ + that), with δ = 1; a document without the term gets idf·δ = idf.
# N = 4, so idf = ln(5/df): 模型 (df 3) ln(5/3); 数据, 图像 (df 2) ln(5/2); the rest (df 1) ln 5.
HAND = [
    ["模型", "训练", "数据", "数据"],
    ["图像", "分类", "模型", "数据"],
    ["语言", "模型", "翻译", "翻译"],
    ["图像", "生成", "扩散", "扩散"],
]
LN_2_5 = math.log(5 / 2)


@pytest.fixture(scope="module")
def hand() -> BM25Index:
    return BM25Index.build(HAND)


def test_hand_ranking_and_scores(hand: BM25Index) -> None:
    # 数据 + 图像:
    #   doc 1: both with tf 1           → ln2.5·2 + ln2.5·2        = 4·ln2.5       ≈ 3.6652
    #   doc 0: 数据 tf 2, no 图像       → ln2.5·(1+10/7) + ln2.5   = (24/7)·ln2.5  ≈ 3.1416
    #   doc 3: 图像 tf 1, no 数据       → ln2.5·2 + ln2.5          = 3·ln2.5       ≈ 2.7489
    #   doc 2: neither, so not returned (its full-scan score is the constant 2·ln2.5).
    # Matching both terms beats repeating one: tf saturates.
    hits = hand.top_k([("数据", 1.0), ("图像", 1.0)], 10)
    assert [d for d, _ in hits] == [1, 0, 3]
    assert [s for _, s in hits] == pytest.approx([4 * LN_2_5, 24 / 7 * LN_2_5, 3 * LN_2_5], abs=1e-12)
    assert hits[0][1] == pytest.approx(3.6651629274966, abs=1e-12)


def test_hand_ties_go_to_the_lower_doc_id(hand: BM25Index) -> None:
    # 模型 appears once in docs 0, 1 and 2, which all have length 4: three equal scores 2·ln(5/3).
    hits = hand.top_k([("模型", 1.0)], 2)
    assert [d for d, _ in hits] == [0, 1]
    assert [s for _, s in hits] == pytest.approx([2 * math.log(5 / 3)] * 2, abs=1e-12)


def test_hand_idf_is_positive_and_monotonic(hand: BM25Index) -> None:
    # Why BM25Plus: a term in 3 of 4 documents still has a positive idf, and it is below rarer terms
    # (BM25Okapi would floor it to epsilon·mean idf; rank-bm25 issues #29/#39).
    assert 0 < hand.idf("模型") < hand.idf("数据") < hand.idf("训练")
    assert hand.idf("模型") == pytest.approx(math.log(5 / 3))
    assert hand.idf("没有") == 0.0


def test_hand_dense_scores_include_the_constant(hand: BM25Index) -> None:
    scores = hand.scores([("数据", 1.0), ("图像", 1.0)])
    assert scores.tolist() == pytest.approx([24 / 7 * LN_2_5, 4 * LN_2_5, 2 * LN_2_5, 3 * LN_2_5], abs=1e-12)
    assert np.array_equal(scores, BM25Plus(HAND).get_scores(["数据", "图像"]))


def test_empty_query_and_unknown_terms(hand: BM25Index) -> None:
    assert hand.top_k([], 10) == []
    assert hand.top_k([("不存在", 1.0), ("unknown", 2.0)], 10) == []
    assert hand.scores([("不存在", 1.0)]).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.array_equal(hand.scores([]), BM25Plus(HAND).get_scores([]))
    # An unknown term next to a known one changes nothing, as in rank-bm25 (idf.get(q) or 0).
    assert hand.top_k([("翻译", 1.0), ("不存在", 1.0)], 10) == hand.top_k([("翻译", 1.0)], 10)


def test_k_larger_than_matches_and_k_zero(hand: BM25Index) -> None:
    assert [d for d, _ in hand.top_k([("模型", 1.0)], 100)] == [0, 1, 2]
    assert hand.top_k([("模型", 1.0)], 0) == []
    with pytest.raises(ValueError, match="k must be >= 0"):
        hand.top_k([("模型", 1.0)], -1)


def test_duplicate_terms_sum_their_weights(hand: BM25Index) -> None:
    # Decision: duplicates are merged by summing weights. This reproduces rank-bm25, which scores a
    # repeated token once per occurrence (issue #19). For set semantics use unit_weights().
    twice = hand.top_k([("数据", 1.0), ("图像", 1.0), ("数据", 1.0)], 10)
    assert twice == hand.top_k([("数据", 2.0), ("图像", 1.0)], 10)
    ref = BM25Plus(HAND).get_scores(["数据", "图像", "数据"])
    assert [s for _, s in twice] == pytest.approx([ref[d] for d, _ in twice], abs=1e-9)
    assert unit_weights(["数据", "图像", "数据"]) == [("数据", 1.0), ("图像", 1.0)]


def test_weights_scale_contributions(hand: BM25Index) -> None:
    bm = BM25Plus(HAND)
    want = 0.5 * bm.get_scores(["数据"]) + 3.0 * bm.get_scores(["图像"])
    assert hand.scores([("数据", 0.5), ("图像", 3.0)]) == pytest.approx(want, abs=1e-12)
    # With 图像 weighted up, doc 3 (图像 only) overtakes doc 0 (数据 only).
    assert [d for d, _ in hand.top_k([("数据", 0.5), ("图像", 3.0)], 10)] == [1, 3, 0]
    # A zero weight removes the term, including from the candidates.
    assert hand.top_k([("数据", 0.0)], 10) == []
    with pytest.raises(ValueError, match="finite and >= 0"):
        hand.top_k([("数据", -1.0)], 10)
    with pytest.raises(ValueError, match="finite and >= 0"):
        hand.top_k([("数据", math.nan)], 10)


def test_allowed_mask_and_ids(hand: BM25Index) -> None:
    q = [("数据", 1.0), ("图像", 1.0)]
    full = dict(hand.top_k(q, 10))
    by_ids = hand.top_k(q, 10, allowed=np.array([0, 2, 3]))
    by_mask = hand.top_k(q, 10, allowed=np.array([True, False, True, True]))
    # Doc 2 is allowed but matches nothing, so it stays out; scores are unchanged by the filter.
    assert by_ids == by_mask == [(0, full[0]), (3, full[3])]
    assert hand.top_k(q, 10, allowed=np.array([2])) == []
    assert hand.top_k(q, 10, allowed=np.zeros(0, dtype=np.int64)) == []
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(4,\)"):
        hand.top_k(q, 10, allowed=np.array([True, True, True]))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        hand.top_k(q, 10, allowed=np.array([-1]))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        hand.top_k(q, 10, allowed=np.array([4]))
    with pytest.raises(TypeError, match="boolean mask or an integer"):
        hand.top_k(q, 10, allowed=np.array([0.0, 1.0]))


def test_boost(hand: BM25Index) -> None:
    q = [("数据", 1.0), ("图像", 1.0)]
    base = dict(hand.top_k(q, 10))
    # 3·ln2.5 · 1.5 = 4.5·ln2.5 beats doc 1's 4·ln2.5.
    hits = hand.top_k(q, 10, boost={3: 1.5, 2: 100.0})
    assert [d for d, _ in hits] == [3, 1, 0]  # doc 2 matches nothing: a boost does not make it a candidate
    assert hits[0][1] == base[3] * 1.5
    assert hand.top_k(q, 10, boost={}) == hand.top_k(q, 10)
    with pytest.raises(ValueError, match="finite and >= 0"):
        hand.top_k(q, 10, boost={1: -2.0})
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        hand.top_k(q, 10, boost={9: 2.0})


def test_postings_and_sizes(hand: BM25Index) -> None:
    ids, tf = hand.postings("数据")
    assert (ids.tolist(), tf.tolist()) == ([0, 1], [2, 1])
    assert not ids.flags.writeable
    assert [len(a) for a in hand.postings("不存在")] == [0, 0]
    assert (hand.n_docs, hand.vocabulary_size, hand.n_postings) == (4, 9, 13)
    assert hand.avgdl == 4.0
    assert hand.params == (1.5, 0.75, 1.0)
    assert hand.memory_bytes > 13 * 8


def test_empty_corpus_raises_a_clear_error() -> None:
    with pytest.raises(EmptyIndexError, match="empty corpus"):
        BM25Index.build([])
    with pytest.raises(EmptyIndexError, match="all 3 documents are empty"):
        BM25Index.build([[], [], []])
    assert issubclass(EmptyIndexError, NewsbotError)


def test_bad_build_arguments() -> None:
    with pytest.raises(TypeError, match="document 1 is a str"):
        BM25Index.build([["a"], "ab"])
    with pytest.raises(ValueError, match="b must be between 0 and 1"):
        BM25Index.build([["a"]], b=1.5)
    with pytest.raises(ValueError, match="k1 must be"):
        BM25Index.build([["a"]], k1=-1.0)
    with pytest.raises(ValueError, match="delta must be"):
        BM25Index.build([["a"]], delta=math.inf)


def test_empty_documents_inside_a_corpus() -> None:
    docs = [[], ["a", "b"], [], ["b"]]
    index = BM25Index.build(docs)
    assert np.array_equal(index.scores([("b", 1.0)]), BM25Plus(docs).get_scores(["b"]))
    assert [d for d, _ in index.top_k([("b", 1.0)], 10)] == [3, 1]


# --- exactness against rank-bm25, on random corpora ------------------------------------------------

VOCAB = ["a", "b", "c", "d", "e", "模型", "数据"]
corpora = st.lists(st.lists(st.sampled_from(VOCAB), max_size=8), min_size=1, max_size=12).filter(lambda docs: any(docs))
queries = st.lists(st.sampled_from([*VOCAB, "zz", "未知"]), max_size=5, unique=True)


def reference_top_k(
    docs: Sequence[Sequence[str]],
    tokens: Sequence[str],
    k: int,
    allowed: set[int] | None = None,
    boost: dict[int, float] | None = None,
) -> list[tuple[int, float]]:
    """The full scan: rank-bm25 scores, matching (and allowed) docs only, boosted, sorted by (-score, id)."""
    scores = BM25Plus(docs).get_scores(tokens)
    boost = boost or {}
    ranked = [
        (i, float(scores[i] * boost.get(i, 1.0)))
        for i, doc in enumerate(docs)
        if set(doc) & set(tokens) and (allowed is None or i in allowed)
    ]
    ranked.sort(key=lambda p: (-p[1], p[0]))
    return ranked[:k]


@settings(deadline=None, database=None, max_examples=300)
@given(docs=corpora, tokens=queries, k=st.integers(1, 15))
def test_top_k_equals_the_rank_bm25_full_scan(docs: list[list[str]], tokens: list[str], k: int) -> None:
    index = BM25Index.build(docs)
    got = index.top_k(unit_weights(tokens), k)
    want = reference_top_k(docs, tokens, k)
    # The same ids in the same order (ties to the lower id), and the same scores. The arithmetic
    # follows rank-bm25's order, so the scores are in fact bit-identical. 1e-9 is the contract.
    assert [d for d, _ in got] == [d for d, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-9)
    assert np.array_equal(index.scores(unit_weights(tokens)), BM25Plus(docs).get_scores(tokens))


@settings(deadline=None, database=None, max_examples=200)
@given(docs=corpora, tokens=queries, k=st.integers(1, 15), data=st.data())
def test_allowed_and_boost_match_the_filtered_full_scan(
    docs: list[list[str]], tokens: list[str], k: int, data: st.DataObject
) -> None:
    n = len(docs)
    allowed = data.draw(st.none() | st.sets(st.integers(0, n - 1)), label="allowed")
    boost = data.draw(
        st.dictionaries(st.integers(0, n - 1), st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25])), label="boost"
    )
    as_mask = data.draw(st.booleans(), label="as_mask")
    index = BM25Index.build(docs)
    arg: np.ndarray | None = None
    if allowed is not None:
        arg = np.isin(np.arange(n), sorted(allowed)) if as_mask else np.array(sorted(allowed), dtype=np.int64)
    got = index.top_k(unit_weights(tokens), k, allowed=arg, boost=boost)
    want = reference_top_k(docs, tokens, k, allowed, boost)
    assert [d for d, _ in got] == [d for d, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-9)


@settings(deadline=None, database=None)
@given(
    docs=corpora,
    weighted=st.lists(st.tuples(st.sampled_from([*VOCAB, "zz"]), st.floats(0.0, 10.0)), max_size=6),
)
def test_weighted_scores_are_sums_of_per_term_scores(docs: list[list[str]], weighted: list[tuple[str, float]]) -> None:
    bm = BM25Plus(docs)
    want = np.zeros(len(docs))
    for term, weight in weighted:  # duplicates included: their weights add up
        want += weight * bm.get_scores([term])
    assert BM25Index.build(docs).scores(weighted) == pytest.approx(want, rel=1e-12, abs=1e-9)


@settings(deadline=None, database=None, max_examples=200)
@given(docs=corpora, tokens=queries, k=st.integers(1, 15))
def test_concepts_of_one_term_each_are_bit_identical_to_rank_bm25(docs: list[list[str]], tokens: list[str],
                                                                  k: int) -> None:
    index = BM25Index.build(docs)
    got = index.top_k_concepts([[t] for t in unit_weights(tokens)], k, tie=0.3)
    full = BM25Plus(docs).get_scores(list(dict.fromkeys(tokens)))
    assert got == index.top_k(unit_weights(tokens), k)
    assert all(score == float(full[d]) for d, score in got)  # exactly, not approximately


def concept_lists(*, terms_per_concept: int, concepts: int) -> st.SearchStrategy[list[list[tuple[str, float]]]]:
    """Queries as concepts: lists of distinct (term, weight) alternatives."""
    concept = st.lists(st.tuples(st.sampled_from(VOCAB), st.sampled_from([0.3, 0.6, 1.0])), min_size=1,
                       max_size=terms_per_concept, unique_by=lambda t: t[0])
    return st.lists(concept, min_size=1, max_size=concepts)


@settings(deadline=None, database=None, max_examples=200)
@given(
    docs=corpora,
    concepts=concept_lists(terms_per_concept=4, concepts=3),
    tie=st.sampled_from([0.0, 0.1, 0.5]),
)
def test_dismax_scores_each_concept_by_its_best_term(docs: list[list[str]], concepts: list[list[tuple[str, float]]],
                                                     tie: float) -> None:
    index = BM25Index.build(docs)
    bm = BM25Plus(docs)
    want = np.zeros(len(docs))
    for concept in concepts:
        known = [(t, w) for t, w in concept if t in bm.idf]
        if not known:
            continue
        const = np.array([w * bm.idf[t] * 1.0 for t, w in known])
        gains = np.vstack([w * bm.get_scores([t]) for t, w in known]) - const[:, None]
        best = gains.max(axis=0)
        want += best + tie * (gains.sum(axis=0) - best) + const.max()
    got = index.top_k_concepts(concepts, len(docs), tie=tie)
    matching = {i for i, doc in enumerate(docs) if {t for c in concepts for t, _ in c} & set(doc)}
    assert {d for d, _ in got} == matching
    for d, score in got:
        assert score == pytest.approx(float(want[d]), rel=1e-9, abs=1e-9)


# Larger corpora with a skewed vocabulary, so that MaxScore really stops before the frequent terms.
# Three common words (in most documents, so a small gain) and six rare ones: with a small k, the k-th best score
# of the rare terms soon exceeds all the common ones could add, and MaxScore stops (about 2 queries in 5).
COMMON, RARE = ["c0", "c1", "c2"], [f"r{i}" for i in range(6)]
SKEWED = COMMON + RARE
skewed_token = st.sampled_from(["c0"] * 12 + ["c1"] * 8 + ["c2"] * 4 + RARE)
skewed_corpora = st.lists(st.lists(skewed_token, max_size=10), min_size=20, max_size=80).filter(any)


@settings(deadline=None, database=None, max_examples=150)
@given(
    docs=skewed_corpora,
    concepts=st.lists(st.lists(st.tuples(st.sampled_from(SKEWED), st.sampled_from([0.3, 0.6, 1.0, 2.5])),
                               min_size=1, max_size=3, unique_by=lambda t: t[0]), min_size=1, max_size=5),
    tie=st.sampled_from([0.0, 0.2, 1.0]),
    k=st.integers(1, 6),
    data=st.data(),
)
def test_pruned_top_k_is_the_head_of_the_full_ranking(docs: list[list[str]], concepts: list[list[tuple[str, float]]],
                                                      tie: float, k: int, data: st.DataObject) -> None:
    # The C kernel against the numpy scan, which scores every matching document: with k >= N nothing can be
    # pruned; with a small k MaxScore skips postings, and the result must be exactly the head of the full ranking,
    # the same ids in the same order with bit-identical scores.
    index = BM25Index.build(docs)
    allowed = data.draw(st.none() | st.sets(st.integers(0, len(docs) - 1), min_size=1), label="allowed")
    arg = None if allowed is None else np.array(sorted(allowed), dtype=np.int64)
    mask = None if arg is None else as_mask(arg, len(docs))
    full = index._top_k_scan(concepts, len(docs), tie=tie, coord=0.0, mask=mask, boost=None)
    assert index.top_k_concepts(concepts, k, tie=tie, allowed=arg) == full[:k]
    assert index.top_k_concepts(concepts, len(docs), tie=tie, allowed=arg) == full


@settings(deadline=None, database=None, max_examples=150)
@given(docs=skewed_corpora,
       tokens=st.tuples(st.lists(st.sampled_from(COMMON), min_size=1, max_size=3, unique=True),
                        st.lists(st.sampled_from(RARE), min_size=1, max_size=2, unique=True)).map(
           lambda parts: parts[0] + parts[1]),
       k=st.integers(1, 6))
def test_pruned_top_k_equals_the_rank_bm25_full_scan_on_skewed_corpora(docs: list[list[str]], tokens: list[str],
                                                                       k: int) -> None:
    got = BM25Index.build(docs).top_k(unit_weights(tokens), k)
    want = reference_top_k(docs, tokens, k)
    assert [d for d, _ in got] == [d for d, _ in want]
    assert [s for _, s in got] == [s for _, s in want]  # bit-identical


@settings(deadline=None, database=None, max_examples=200)
@given(docs=corpora, concepts=concept_lists(terms_per_concept=5, concepts=4), tie=st.sampled_from([0.0, 0.3, 1.0]),
       k=st.integers(1, 13))
def test_kernel_scores_concepts_bit_identically_to_the_numpy_scan(docs: list[list[str]],
                                                                  concepts: list[list[tuple[str, float]]], tie: float,
                                                                  k: int) -> None:
    # Concepts of up to five weighted terms: the DisMax sums in C must add in numpy's order.
    index = BM25Index.build(docs)
    want = index._top_k_scan(concepts, k, tie=tie, coord=0.0, mask=None, boost=None)
    assert index.top_k_concepts(concepts, k, tie=tie) == want


def test_kernel_reads_wide_term_frequencies() -> None:
    # A term repeated past 255 times makes tf uint16; past 65,535, uint32.
    for repeats, dtype in ((300, np.uint16), (70_000, np.uint32)):
        docs = [["a"] * repeats + ["b"], ["a", "b"], ["b"] * 3]
        index = BM25Index.build(docs)
        assert index.postings("a")[1].dtype == dtype
        got = index.top_k(unit_weights(["a", "b"]), 3)
        assert got == reference_top_k(docs, ["a", "b"], 3)


def test_a_concept_of_many_terms_scores_the_same_whatever_the_mask() -> None:
    # numpy sums the rows of a one-column array pairwise from eight rows on; the scan and the kernel add term by term,
    # so masking the other documents away cannot change a document's score in the last bit.
    words = [f"w{i}" for i in range(9)]
    docs = [[w for i, w in enumerate(words) for _ in range(i + 1)]] + [["filler"]] * 20
    for i, w in enumerate(words):
        for d in range(1, 2 + i):
            docs[d] = [*docs[d], w]
    index = BM25Index.build(docs)
    concept = [[(w, 0.3 + 0.37 * i) for i, w in enumerate(words)]]
    alone = np.zeros(index.n_docs, dtype=np.bool_)
    alone[0] = True
    everywhere = dict(index.top_k_concepts(concept, index.n_docs, tie=1.0))
    for scored in (index.top_k_concepts(concept, 1, tie=1.0, allowed=alone),
                   index._top_k_scan(concept, 1, tie=1.0, coord=0.0, mask=alone, boost=None)):
        assert scored == [(0, everywhere[0])]


def test_a_strided_mask_is_accepted() -> None:
    index = BM25Index.build([["a"], ["b"], ["a"], ["a"]])
    every_other = np.ones(8, dtype=np.bool_)[::2]
    assert [d for d, _ in index.top_k_concepts([[("a", 1.0)]], 5, allowed=every_other)] == [0, 2, 3]


def test_kernel_rejects_inconsistent_arguments() -> None:
    ids, tf, gain, norm = (np.zeros(2, dtype=np.int32), np.ones(2, dtype=np.uint8), np.zeros(2, dtype=np.float32),
                           np.ones(2, dtype=np.float64))
    with pytest.raises(ValueError, match="out of range"):
        _bm25kernel.top_k([(0, 1.0, 1.0, 0, 3, 1.0)], ids, tf, gain, norm, None, 5, 1.5, 1.0, 0.0)
    with pytest.raises(ValueError, match="numbered in order"):
        _bm25kernel.top_k([(1, 1.0, 1.0, 0, 2, 1.0)], ids, tf, gain, norm, None, 5, 1.5, 1.0, 0.0)
    with pytest.raises(ValueError, match="disagree"):
        _bm25kernel.top_k([], ids, tf[:1], gain, norm, None, 5, 1.5, 1.0, 0.0)
    with pytest.raises(TypeError, match="gain"):
        _bm25kernel.top_k([], ids, tf, norm, norm, None, 5, 1.5, 1.0, 0.0)
    with pytest.raises(ValueError, match="doc id outside"):
        _bm25kernel.top_k([(0, 1.0, 1.0, 0, 2, 1.0)], np.array([0, 7], dtype=np.int32), tf, gain, norm, None, 5,
                          1.5, 1.0, 0.0)
    with pytest.raises(ValueError, match="tie"):
        _bm25kernel.top_k([(0, 1.0, 1.0, 0, 2, 1.0)], ids, tf, gain, norm, None, 5, 1.5, 1.0, 2.0)
    with pytest.raises(TypeError, match="tuple"):
        _bm25kernel.top_k([[0, 1.0, 1.0, 0, 2, 1.0]], ids, tf, gain, norm, None, 5, 1.5, 1.0, 0.0)

    class Shrinking:  # empties the term list while the kernel reads it: the kernel works on a copy
        def __float__(self) -> float:
            spec.clear()
            return 1.0

    spec: list[Any] = [(0, Shrinking(), 1.0, 0, 2, 1.0)] * 3
    two = np.array([0, 1], dtype=np.int32)
    assert [d for d, _ in _bm25kernel.top_k(spec, two, tf, gain, norm, None, 5, 1.5, 1.0, 0.0)] == [0, 1]


@settings(deadline=None, database=None, max_examples=200)
@given(
    docs=corpora,
    concepts=concept_lists(terms_per_concept=3, concepts=4),
    coord=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_coord_scales_by_the_share_of_concepts_matched(docs: list[list[str]],
                                                       concepts: list[list[tuple[str, float]]], coord: float) -> None:
    index = BM25Index.build(docs)
    bm = BM25Plus(docs)
    plain = dict(index.top_k_concepts(concepts, len(docs), tie=0.1))
    scaled = dict(index.top_k_concepts(concepts, len(docs), tie=0.1, coord=coord))
    assert set(scaled) == set(plain)
    known = [[(t, w) for t, w in c if t in bm.idf] for c in concepts]
    importance = [max(w * bm.idf[t] for t, w in c) for c in known if c]
    for d, score in scaled.items():
        matched = [max(w * bm.idf[t] for t, w in c) for c in known if c and any(t in docs[d] for t, _ in c)]
        share = sum(matched) / sum(importance)
        assert score == pytest.approx(plain[d] * share ** coord, rel=1e-9, abs=1e-12)


def test_coord_ranks_an_entry_matching_more_of_the_question_above_one_rare_word() -> None:
    # Doc 0 has only the rarest word of the question; doc 1 has the two others.
    docs = [["稀有"], ["模型", "压缩", "填充", "模型"], ["模型"], ["压缩"]]
    index = BM25Index.build(docs)
    concepts = [[("模型", 1.0)], [("稀有", 1.0)], [("压缩", 1.0)]]
    assert index.top_k_concepts(concepts, 1)[0][0] == 0  # a plain sum: the rare word wins
    assert index.top_k_concepts(concepts, 1, coord=1.0)[0][0] == 1
    with pytest.raises(ValueError, match="coord"):
        index.top_k_concepts(concepts, 1, coord=-1.0)


def test_a_concept_with_many_renderings_counts_once() -> None:
    # Doc 0 has the rare word the question is about; doc 1 has three renderings of a common concept.
    docs = [["稀有", "填充"], ["自监督", "自我监督", "自主监督", "填充"], ["其他"], ["其他", "填充"]]
    index = BM25Index.build(docs)
    concepts = [[("稀有", 1.0)], [("自监督", 1.0), ("自我监督", 0.6), ("自主监督", 0.6)]]
    flat = index.top_k([t for c in concepts for t in c], 2)
    assert flat[0][0] == 1  # summed flat, the renderings outweigh the rare word
    assert index.top_k_concepts(concepts, 2, tie=0.1)[0][0] == 0


@settings(database=None)
@given(
    scores=st.lists(st.integers(0, 4).map(float), min_size=0, max_size=40),
    k=st.integers(0, 45),
)
def test_select_top_k_breaks_ties_by_lower_id(scores: list[float], k: int) -> None:
    ids = np.arange(len(scores)) * 3 + 1  # ascending, not contiguous
    want = sorted(zip(ids.tolist(), scores, strict=True), key=lambda p: (-p[1], p[0]))[:k]
    assert select_top_k(ids, np.array(scores, dtype=np.float64), k) == want


# --- the benchmark helper (no timing assertions) ---------------------------------------------------


def test_bench_compare_on_a_small_zipf_corpus() -> None:
    docs = zipf_corpus(800, vocab_size=3000, mean_len=30, seed=7)
    content = sample_queries(docs, 25, skip_top=100, seed=1)
    natural = sample_queries(docs, 25, skip_top=0, seed=2)
    assert all(2 <= len(q) <= 6 for q in content + natural)
    for qs in (content, natural, [["没有这个词"]]):
        result = bench_compare(docs, qs, k=10)
        assert result["identical_top_k"], result
        assert result["max_abs_score_diff"] == 0.0
        assert result["n_docs"] == 800
        assert result["n_queries"] == len(qs)
