"""Benchmark support for the BM25 index: rank-bm25's full scan as the reference, synthetic Zipf corpora.

Called by ``newsbot bench`` (:mod:`retrieval.measure.bench`) and by the slow tests; the bot never runs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from rank_bm25 import BM25Plus

from retrieval.bm25 import BM25Index, unit_weights
from retrieval.bm25math import FloatArray

__all__ = ["BenchResult", "bench_compare", "sample_queries", "zipf_corpus"]


class BenchResult(TypedDict):
    n_docs: int
    n_queries: int
    k: int
    build_index_s: float
    build_rank_bm25_s: float
    top_k_p50_ms: float
    top_k_p99_ms: float
    full_scan_p50_ms: float
    full_scan_p99_ms: float
    speedup_p50: float
    speedup_p99: float
    identical_top_k: bool
    """Every query's top k (ids, in order) equals the full scan's top k among matching docs."""
    mismatched_queries: int
    max_abs_score_diff: float


def bench_compare(docs: Sequence[Sequence[str]], queries: Sequence[Sequence[str]], k: int = 10) -> BenchResult:
    """Time :meth:`BM25Index.top_k` against ``BM25Plus.get_scores`` plus a full argsort, on the same tokens.

    Each query is de-duplicated first, so both sides score the same thing. The reference top k is the
    full scan's ranking: stable argsort of the negated scores (ties go to the lower id), restricted to
    documents that contain a query token. These are wall-clock timings on whatever machine runs this,
    so read them as orders of magnitude.
    """
    t0 = time.perf_counter()
    index = BM25Index.build(docs)
    t1 = time.perf_counter()
    bm = BM25Plus(docs)
    t2 = time.perf_counter()
    doc_freqs: list[dict[str, int]] = bm.doc_freqs
    fast_ms: list[float] = []
    slow_ms: list[float] = []
    mismatched = 0
    max_diff = 0.0
    qs = [list(dict.fromkeys(q)) for q in queries]
    if qs:  # warm both paths once, so the first timing does not include lazy imports or page faults
        index.top_k(unit_weights(qs[0]), k)
        bm.get_scores(qs[0])
    for q in qs:
        weighted = unit_weights(q)
        s = time.perf_counter()
        got = index.top_k(weighted, k)
        fast_ms.append((time.perf_counter() - s) * 1e3)
        s = time.perf_counter()
        full = np.asarray(bm.get_scores(q), dtype=np.float64)
        ranked = np.argsort(-full, kind="stable")
        slow_ms.append((time.perf_counter() - s) * 1e3)
        want: list[int] = []
        for d in ranked[:k].tolist():
            # A document without a query token scores exactly the constant, the lowest possible score,
            # so the matching documents come first; stop at the first one that matches nothing.
            if not any(t in doc_freqs[d] for t in q):
                break
            want.append(d)
        if [d for d, _ in got] != want:
            mismatched += 1
        for d, score in got:
            max_diff = max(max_diff, abs(score - float(full[d])))
    fast, slow = np.asarray(fast_ms), np.asarray(slow_ms)

    def pct(a: FloatArray, p: float) -> float:
        return float(np.percentile(a, p)) if a.size else math.nan

    return BenchResult(
        n_docs=index.n_docs,
        n_queries=len(qs),
        k=k,
        build_index_s=t1 - t0,
        build_rank_bm25_s=t2 - t1,
        top_k_p50_ms=pct(fast, 50),
        top_k_p99_ms=pct(fast, 99),
        full_scan_p50_ms=pct(slow, 50),
        full_scan_p99_ms=pct(slow, 99),
        speedup_p50=pct(slow, 50) / pct(fast, 50) if fast.size else math.nan,
        speedup_p99=pct(slow, 99) / pct(fast, 99) if fast.size else math.nan,
        identical_top_k=mismatched == 0,
        mismatched_queries=mismatched,
        max_abs_score_diff=max_diff,
    )


def zipf_corpus(
    n_docs: int, *, vocab_size: int = 100_000, mean_len: float = 60.0, s: float = 1.1, seed: int = 0
) -> list[list[str]]:
    """A synthetic corpus for benchmarks: Poisson(mean_len) tokens per document, drawn Zipf(s) from
    ``vocab_size`` terms named ``t1`` (the most frequent), ``t2``, and so on. Deterministic for a seed.

    >>> zipf_corpus(2, vocab_size=5, mean_len=3, seed=1) == zipf_corpus(2, vocab_size=5, mean_len=3, seed=1)
    True
    >>> all(t.startswith("t") for d in zipf_corpus(3, vocab_size=5, mean_len=3) for t in d)
    True
    """
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab_size + 1, dtype=np.float64)
    p = ranks**-s
    p /= p.sum()
    lengths = rng.poisson(mean_len, size=n_docs)
    drawn = rng.choice(vocab_size, size=int(lengths.sum()), p=p) + 1
    names = [f"t{i}" for i in range(vocab_size + 1)]
    flat = [names[i] for i in drawn.tolist()]
    bounds = np.concatenate(([0], np.cumsum(lengths))).tolist()
    return [flat[bounds[i] : bounds[i + 1]] for i in range(n_docs)]


def sample_queries(
    docs: Sequence[Sequence[str]],
    n: int,
    *,
    min_terms: int = 2,
    max_terms: int = 6,
    skip_top: int = 100,
    seed: int = 0,
) -> list[list[str]]:
    """Sample ``n`` queries of ``min_terms``–``max_terms`` distinct tokens, each from one random document.

    Tokens among the ``skip_top`` highest document frequencies are left out, which models stop-word
    removal. With ``skip_top=0``, queries keep frequent tokens, as raw tokenizer output would.

    >>> docs = [["a", "b", "c"], ["a", "d", "e"], ["a", "b", "f"]]
    >>> qs = sample_queries(docs, 3, min_terms=2, max_terms=2, skip_top=1)
    >>> all(len(q) == 2 and "a" not in q for q in qs)
    True
    """
    rng = np.random.default_rng(seed)
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    skipped = set(sorted(df, key=lambda t: (-df[t], t))[:skip_top])
    out: list[list[str]] = []
    for _ in range(100 * n + 1000):
        if len(out) == n:
            break
        pool = [t for t in dict.fromkeys(docs[int(rng.integers(len(docs)))]) if t not in skipped]
        if len(pool) < min_terms:
            continue
        m = int(rng.integers(min_terms, min(max_terms, len(pool)) + 1))
        out.append([pool[i] for i in sorted(rng.choice(len(pool), size=m, replace=False).tolist())])
    return out
