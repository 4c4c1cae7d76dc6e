"""Top-k candidate selection for :class:`~retrieval.bm25.BM25Index` without scoring every matching document.

BM25+ term scores do not depend on the query, so the index stores what each posting's score, rank-bm25's
``idf·(δ + tf·(k1+1)/(norm+tf))``, adds over the constant ``idf·δ`` every document gets: its *gain*, computed once
at build time (in float32: it only bounds scores). A query then runs in two steps:

1. **Bounds (MaxScore).** Terms are visited from the largest possible gain down. Their gains are summed into a
   reused buffer with one ``np.add.at`` each, giving every touched document a lower and an upper bound of what
   the query adds to it. Once the k-th best lower bound exceeds the most the unvisited terms could add together,
   no document that only they contain can reach the top k: their postings, usually the long ones of frequent
   words, are never read. The remaining documents whose upper bound can still reach the k-th lower bound are
   the candidates.
2. **Exact rescoring.** Only the candidates are scored again with :func:`~retrieval.bm25math.accumulate`, in
   rank-bm25's order, so the scores and ties are exactly those of a full scan.

The bounds are floats summed in any order, so every comparison keeps a margin (:func:`margin`) far larger than
their rounding error: a margin too large only rescores a few more documents, never drops one.
For a concept of one term both bounds are its gain; for a DisMax concept of n terms the score lies between
``(tie + (1 − tie)/n)·Σ gains`` (the best gain is at least their mean) and ``Σ gains``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.bm25math import FloatArray, IdArray, QueryTerm

_local = threading.local()


def _buffers(n_docs: int, two: bool) -> tuple[FloatArray, FloatArray]:
    """Zeroed per-thread score buffers of length ``n_docs``; callers zero what they touched before returning."""
    bufs: tuple[FloatArray, FloatArray] | None = getattr(_local, "bufs", None)
    if bufs is None or len(bufs[0]) != n_docs:
        bufs = (np.zeros(n_docs, dtype=np.float64), np.zeros(n_docs, dtype=np.float64))
        _local.bufs = bufs
    return bufs if two else (bufs[0], bufs[0])


def margin(upper_total: float, constant: float) -> float:
    """Slack for comparisons of bounds: over ten times their worst rounding (float32 gains, summed in any order).

    >>> 0 < margin(10.0, 5.0) < 1e-4
    True
    """
    # float32 gains are within 2**-24 of the exact ones, relatively, and a bound sums at most one per term.
    return 1e-6 * (1.0 + abs(upper_total) + abs(constant))


def sorted_unique(ids: IdArray) -> IdArray:
    """The distinct values of ``ids``, ascending: a sort and a neighbour test (``np.unique`` hashes on numpy 2.4,
    several times slower on these small integer arrays).

    >>> sorted_unique(np.array([3, 1, 3, 2], dtype=np.int32)).tolist()
    [1, 2, 3]
    """
    ordered = np.sort(ids)
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), dtype=np.bool_)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def kth_distinct(ids: IdArray, values: FloatArray, k: int, repeats: int) -> float:
    """The k-th largest value over distinct ids, where each id occurs at most ``repeats`` times with one value.

    Returns ``-inf`` when fewer than ``k`` distinct ids are present.

    >>> kth_distinct(np.array([1, 2, 1, 3]), np.array([5.0, 4.0, 5.0, 1.0]), 2, 2)
    4.0
    >>> kth_distinct(np.array([1, 1]), np.array([5.0, 5.0]), 2, 2)
    -inf
    """
    n = len(values)
    take = k * repeats
    if take < n:
        top = np.argpartition(values, n - take)[n - take:]
        ids, values = ids[top], values[top]
    if repeats > 1:
        order = np.argsort(ids, kind="stable")
        ids, values = ids[order], values[order]
        first = np.ones(len(ids), dtype=np.bool_)
        np.not_equal(ids[1:], ids[:-1], out=first[1:])
        values = values[first]
    if len(values) < k:
        return -np.inf
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _essential(flat: Sequence[QueryTerm], gains: Sequence[npt.NDArray[np.floating[Any]]], maxima: Sequence[float],
               low_factor: Sequence[float], order: Sequence[int], k: int, n_docs: int, eps: float,
               ) -> tuple[IdArray, FloatArray, FloatArray, float, int]:
    """Phase 1: sum the terms in ``order`` into dense buffers until the rest cannot lift a document they alone
    contain into the top k. Returns the touched documents (distinct, ascending) with their upper and lower bounds,
    the k-th best lower bound, and how many terms of ``order`` were summed."""
    dismax = any(f != 1.0 for f in low_factor)
    low, up = _buffers(n_docs, dismax)
    touched: list[IdArray] = []
    remaining = float(sum(maxima))
    threshold = -np.inf
    done = 0
    try:
        for j in order:
            done += 1
            remaining -= maxima[j]
            ids = flat[j].doc_ids
            if len(ids):
                np.add.at(up, ids, gains[j])
                if dismax:
                    np.add.at(low, ids, gains[j] * low_factor[j])
                touched.append(ids)
            if touched and done < len(order) and sum(len(flat[i].doc_ids) for i in order[done:]) > 64:
                seen = touched[0] if len(touched) == 1 else np.concatenate(touched)
                threshold = kth_distinct(seen, low[seen], k, len(touched))
                if remaining < threshold - eps:
                    break  # the unvisited terms cannot lift a document they alone contain into the top k
        if not touched:
            empty = np.zeros(0, dtype=np.float64)
            return np.zeros(0, dtype=np.int32), empty, empty, threshold, done
        seen = touched[0] if len(touched) == 1 else sorted_unique(np.concatenate(touched))
        upper, lower = up[seen], low[seen]
        if done == len(order):
            threshold = kth_distinct(seen, lower, k, 1)
        return seen, upper, lower, threshold, done
    finally:
        for ids in touched:
            up[ids] = 0.0
            low[ids] = 0.0


def prune_candidates(groups: Sequence[Sequence[QueryTerm]], gains: Sequence[npt.NDArray[np.floating[Any]]],
                     maxima: Sequence[float],
                     k: int, n_docs: int, tie: float) -> npt.NDArray[np.integer[Any]]:
    """The ascending ids of every document that may be among the ``k`` best, a superset of the exact top k.

    ``gains[j]`` is the weighted gain of the ``j``-th term's postings (counting through all concepts) and
    ``maxima[j]`` an upper bound of it. See the module docstring for the bounds. Phase 2 looks the terms that
    phase 1 left out up in each remaining candidate (binary search), tightening both bounds and the threshold.
    """
    flat = [t for g in groups for t in g]
    low_factor: list[float] = []
    for g in groups:
        low_factor += [tie + (1.0 - tie) / len(g)] * len(g)
    order = sorted(range(len(flat)), key=lambda j: (-maxima[j], len(flat[j].doc_ids)))
    eps = margin(sum(maxima), 0.0)
    cands, upper, lower, threshold, done = _essential(flat, gains, maxima, low_factor, order, k, n_docs, eps)
    remaining = float(sum(maxima[j] for j in order[done:]))
    keep = upper + max(remaining, 0.0) >= threshold - eps
    cands, upper, lower = cands[keep], upper[keep], lower[keep]
    for j in order[done:]:
        ids = flat[j].doc_ids
        remaining -= maxima[j]
        if len(ids) and len(cands):
            pos = np.searchsorted(ids, cands)
            np.minimum(pos, len(ids) - 1, out=pos)
            hit = np.flatnonzero(ids[pos] == cands)
            found = gains[j][pos[hit]]
            upper[hit] += found
            lower[hit] += found * low_factor[j]
        threshold = max(threshold, kth_distinct(cands, lower, k, 1))
        keep = upper + max(remaining, 0.0) >= threshold - eps
        cands, upper, lower = cands[keep], upper[keep], lower[keep]
    return cands


def rescore_terms(flat: Sequence[QueryTerm], cands: npt.NDArray[np.integer[Any]]
                  ) -> tuple[list[QueryTerm], list[npt.NDArray[np.intp]]]:
    """Each term restricted to the candidates, with its postings' positions among them, for an exact rescoring."""
    terms: list[QueryTerm] = []
    slots: list[npt.NDArray[np.intp]] = []
    for t in flat:
        ids = t.doc_ids
        if len(ids) == 0:
            terms.append(t)
            slots.append(np.zeros(0, dtype=np.intp))
            continue
        pos = np.searchsorted(ids, cands)
        np.minimum(pos, len(ids) - 1, out=pos)
        hit = np.flatnonzero(ids[pos] == cands)
        at = pos[hit]
        terms.append(QueryTerm(t.weight, t.idf, ids[at], t.tf[at]))
        slots.append(hit)
    return terms, slots
