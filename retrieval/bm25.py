"""BM25+ search: an inverted index over rank-bm25's own statistics.

Why not call ``rank_bm25`` directly? ``BM25Plus.get_scores`` loops in Python over every document's
dict once per query token, which takes 0.1–0.5 s per query at 100k documents. ``get_top_n`` sorts all
N scores and returns documents that match nothing. This index keeps rank-bm25's numbers and avoids both
problems:

* :meth:`BM25Index.build` counts rank-bm25's ``idf``, ``doc_len`` and ``avgdl`` with rank-bm25's formulas
  (:func:`~retrieval.bm25math.rank_bm25_statistics`) on numpy arrays, without its dict per document.
* Postings are stored CSR-style: an ``int32`` doc-id array, a narrow tf array and each posting's *gain*
  (what its unit-weight BM25+ score adds over the term's constant ``idf·δ``: it does not depend on the query),
  as float32: the gains only bound scores, and exact scores are computed again from tf for the few candidates.
* A query runs in C (``retrieval/_bm25kernel.c``): its postings are merged in doc-id order, each document is
  bounded from the gains, terms that cannot lift a document into the top k are only probed (MaxScore), and a
  document that may reach the top k is scored exactly, with rank-bm25's operations in rank-bm25's order. So for
  de-duplicated unit-weight queries a score is **bit-identical** to ``BM25Plus(docs).get_scores(query)[doc]``, and
  ties are real ties. Coordination (``coord``) and boosts take the numpy scan (:meth:`BM25Index._top_k_scan`),
  which is also the reference the kernel is tested against.

Why BM25+: its idf ``ln((N+1)/n)`` is always positive and falls as n rises. BM25Okapi's epsilon floor
scores a term found in more than half the documents above rarer terms, and a term in exactly half of them
at 0 (rank-bm25 issues #29 and #39). BM25+ adds ``idf·δ`` for every query term to every document,
matching or not. That constant does not change the ranking, and :meth:`BM25Index.top_k` includes it in
the scores it returns, so they stay comparable with rank-bm25's.

>>> index = BM25Index.build([["模型", "训练"], ["图像", "模型"], ["图像", "生成"]])
>>> [doc for doc, _ in index.top_k([("图像", 1.0), ("生成", 1.0)], 5)]
[2, 1]
>>> index.top_k([("不存在", 1.0)], 5)
[]

This module holds the index (vocabulary, CSR postings, candidate selection); the per-term arithmetic,
the DisMax accumulation and the small array helpers are in :mod:`retrieval.bm25math`.

An empty corpus raises :class:`~retrieval.errors.EmptyIndexError` (the error tree is in :mod:`retrieval.errors`).
Bad arguments (a negative weight, ``k < 0``, a mask of the wrong length) are programming errors. They
raise ``ValueError`` or ``TypeError``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from retrieval import _bm25kernel
from retrieval.bm25math import (
    FloatArray,
    IdArray,
    QueryTerm,
    accumulate,
    as_mask,
    boost_arrays,
    check_params,
    frozen,
    matching_contributions,
    merge_terms,
    rank_bm25_norm,
    rank_bm25_statistics,
    select_top_k,
    union_slots,
    unit_weights,
)
from retrieval.errors import EmptyIndexError
from retrieval.settings import Ranking, check

__all__ = [
    "BM25Index",
    "EmptyIndexError",
    "merge_terms",
    "select_top_k",
    "union_slots",
    "unit_weights",
]

# When a query's postings number at most this fraction of N, its candidates come from sorting the
# postings (union_slots, about P·log P). Above it, dense passes over all N documents are used. On the
# 100k Zipf benchmark, thresholds from 1/8 to 1 were within run-to-run noise of each other.
_SPARSE_MAX_FRACTION: Final = 1 / 8


# --------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------


class BM25Index:
    """An immutable BM25+ inverted index. Safe to share between threads: queries allocate their own arrays.

    Build it with :meth:`build` or :meth:`load`. The constructor takes the raw arrays and is meant for
    those two methods.
    """

    __slots__ = (
        "_avgdl",
        "_b",
        "_delta",
        "_doc_ids",
        "_doc_len",
        "_gain",
        "_gain_max",
        "_idf",
        "_k1",
        "_norm",
        "_offsets",
        "_terms",
        "_tf",
        "_vocab",
    )

    def __init__(
        self,
        *,
        vocab: Sequence[str],
        idf: FloatArray,
        offsets: npt.NDArray[np.int64],
        doc_ids: IdArray,
        tf: npt.NDArray[np.integer[Any]],
        doc_len: npt.NDArray[np.int64],
        avgdl: float,
        k1: float,
        b: float,
        delta: float,
        derived: Mapping[str, npt.NDArray[Any]] | None = None,
    ) -> None:
        check_params(k1, b, delta)
        self._vocab: tuple[str, ...] = tuple(vocab)
        self._terms: dict[str, int] = {t: i for i, t in enumerate(self._vocab)}
        if len(self._terms) != len(self._vocab):
            raise ValueError("vocabulary has duplicate terms")
        self._idf = frozen(idf)
        self._offsets = frozen(offsets)
        self._doc_ids = frozen(doc_ids)
        self._tf = frozen(tf)
        self._doc_len = frozen(doc_len)
        self._avgdl = float(avgdl)
        self._k1 = float(k1)
        self._b = float(b)
        self._delta = float(delta)
        if derived is not None:  # a saved index (retrieval.bm25store): its own checksum vouches for these
            self._norm, self._gain, self._gain_max = (frozen(derived[n]) for n in ("norm", "gain", "gain_max"))
            return
        # Precomputed once, as rank-bm25 would compute it on every query.
        self._norm = frozen(rank_bm25_norm(self._doc_len, self._k1, self._b, self._avgdl))
        # Each posting's unit-weight BM25+ score: it does not depend on the query. Same operations as rank-bm25.
        term_of = np.repeat(np.arange(len(self._vocab)), np.diff(self._offsets))
        impact = matching_contributions(self._idf[term_of], self._delta, self._k1, self._tf, self._norm[self._doc_ids])
        # float32 halves the largest array; bounds keep a margin far above its rounding (_bm25kernel.c).
        self._gain = frozen((impact - self._idf[term_of] * self._delta).astype(np.float32))
        del term_of
        # The most a term adds over its constant idf·δ in any document (MaxScore's bound).
        gain_max = np.zeros(len(self._vocab), dtype=np.float64)
        nonempty = np.flatnonzero(np.diff(self._offsets) > 0)
        if len(nonempty):
            gain_max[nonempty] = np.maximum.reduceat(impact, self._offsets[nonempty])
        del impact
        self._gain_max = frozen(gain_max - self._idf * self._delta)

    # ---- construction --------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        docs: Sequence[Sequence[str]],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        delta: float = 1.0,
    ) -> BM25Index:
        """Index tokenized documents. Document ``i`` gets doc id ``i``.

        The statistics are those ``rank_bm25.BM25Plus(docs, k1=k1, b=b, delta=delta)`` computes (tests compare
        the scores bit for bit). Pass lists of tokens, as to rank-bm25.

        >>> BM25Index.build([["a", "b"], ["b"]]).n_docs
        2
        >>> BM25Index.build([[], []])
        Traceback (most recent call last):
        ...
        retrieval.errors.EmptyIndexError: cannot build a search index: all 2 documents are empty
        """
        check_params(k1, b, delta)
        if len(docs) == 0:
            raise EmptyIndexError("cannot build a search index from an empty corpus (no documents)")
        for i, doc in enumerate(docs):
            # A str is a Sequence[str] too, and rank-bm25 would index its characters.
            if isinstance(doc, str):
                raise TypeError(f"document {i} is a str; pass a list of tokens")
        if not any(len(doc) for doc in docs):
            raise EmptyIndexError(f"cannot build a search index: all {len(docs)} documents are empty")

        vocab, idf, offsets, doc_ids, tf, doc_len, avgdl = rank_bm25_statistics(docs)
        return cls(vocab=vocab, idf=idf, offsets=offsets, doc_ids=doc_ids, tf=tf, doc_len=doc_len, avgdl=avgdl,
                   k1=k1, b=b, delta=delta)

    # ---- introspection -------------------------------------------------------------------------

    def state(self) -> tuple[tuple[str, ...], dict[str, npt.NDArray[Any]], dict[str, float]]:
        """``(vocab, arrays, scalars)``: everything :mod:`retrieval.bm25store` saves, and the constructor takes back."""
        arrays = {"idf": self._idf, "offsets": self._offsets, "doc_ids": self._doc_ids, "tf": self._tf,
                  "doc_len": self._doc_len, "norm": self._norm, "gain": self._gain, "gain_max": self._gain_max}
        return self._vocab, arrays, {"avgdl": self._avgdl, "k1": self._k1, "b": self._b, "delta": self._delta}

    @property
    def n_docs(self) -> int:
        return len(self._doc_len)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    @property
    def n_postings(self) -> int:
        return len(self._doc_ids)

    @property
    def params(self) -> tuple[float, float, float]:
        """``(k1, b, delta)``."""
        return (self._k1, self._b, self._delta)

    @property
    def avgdl(self) -> float:
        return self._avgdl

    @property
    def memory_bytes(self) -> int:
        """An estimate of this index's memory: the numpy arrays, plus the vocabulary dict and strings."""
        arrays = sum(a.nbytes for a in (self._idf, self._offsets, self._doc_ids, self._tf, self._doc_len, self._norm,
                                        self._gain, self._gain_max))
        strings = sum(sys.getsizeof(t) for t in self._vocab)
        containers = sys.getsizeof(self._terms) + sys.getsizeof(self._vocab)
        return int(arrays + strings + containers)

    def idf(self, term: str) -> float:
        """rank-bm25's idf for ``term``, ``ln((N+1)/n)``, or 0.0 for a term outside the vocabulary."""
        i = self._terms.get(term)
        return 0.0 if i is None else float(self._idf[i])

    def postings(self, term: str) -> tuple[IdArray, IdArray]:
        """Return ``(doc_ids, tf)`` for ``term`` as read-only arrays, doc ids ascending; empty if unknown.

        >>> ids, tf = BM25Index.build([["a", "b", "a"], ["b"]]).postings("a")
        >>> ids.tolist(), tf.tolist()
        ([0], [2])
        """
        i = self._terms.get(term)
        if i is None:
            empty = np.zeros(0, dtype=np.int32)
            return empty, empty
        lo, hi = int(self._offsets[i]), int(self._offsets[i + 1])
        return self._doc_ids[lo:hi], self._tf[lo:hi]

    # ---- scoring -------------------------------------------------------------------------------

    def scores(self, terms: Sequence[tuple[str, float]]) -> FloatArray:
        """Return dense BM25+ scores for every document, including the per-query constant.

        Duplicate terms are merged by summing their weights (:func:`merge_terms`). With unit weights
        and distinct terms, the result is bit-identical to ``BM25Plus(docs).get_scores(tokens)``.
        Unknown terms contribute 0, as in rank-bm25 (``self.idf.get(q) or 0``). Use this for tests
        and benchmarks. To search, use :meth:`top_k`.

        >>> BM25Index.build([["a", "b"], ["c"]]).scores([("a", 1.0)]).round(4).tolist()
        [2.0539, 1.0986]
        """
        qterms = self._resolve(terms, None)
        out: FloatArray = np.zeros(self.n_docs, dtype=np.float64)
        if qterms:
            out = accumulate([[t] for t in qterms], None, self.n_docs, self._k1, self._delta, self._norm)
        return out

    def top_k(
        self,
        terms: Sequence[tuple[str, float]],
        k: int,
        *,
        allowed: npt.NDArray[Any] | None = None,
        boost: Mapping[int, float] | None = None,
    ) -> list[tuple[int, float]]:
        """Return the ``k`` best ``(doc_id, score)`` pairs among documents that match at least one term.

        * A document that matches no term is never returned, unlike ``rank_bm25.get_top_n``, which pads
          with zero-score documents.
        * ``terms`` are ``(token, weight)`` pairs. A weight multiplies that term's whole contribution.
          Duplicates are merged by summing their weights, which matches rank-bm25's counting of
          repeated tokens (issue #19). Use :func:`unit_weights` for set semantics.
        * ``allowed`` restricts the results. It is either a boolean mask of length :attr:`n_docs` or an
          integer array of doc ids (for example, one issue's entries). Excluded documents still count
          in the statistics, which belong to the whole corpus.
        * ``boost`` maps a doc id to a multiplicative factor (finite and >= 0). It reorders matching
          documents, but never makes a non-matching document a candidate.
        * Scores include the BM25+ per-query constant ``Σ w·idf·δ``. With unit weights, distinct terms
          and no boost, ``score == BM25Plus(docs).get_scores(tokens)[doc_id]`` exactly.
        * Ties go to the lower doc id.

        >>> index = BM25Index.build([["a"], ["a", "b"], ["b"], ["c"]])
        >>> [d for d, _ in index.top_k([("a", 1.0), ("b", 1.0)], 10)]
        [1, 0, 2]
        >>> [d for d, _ in index.top_k([("a", 1.0)], 10, allowed=np.array([1, 3]))]
        [1]
        >>> [d for d, _ in index.top_k([("a", 1.0), ("b", 1.0)], 2, boost={2: 10.0})]
        [2, 1]
        """
        return self.top_k_concepts([[t] for t in merge_terms(terms).items()], k, allowed=allowed, boost=boost)

    def top_k_concepts(
        self,
        concepts: Sequence[Sequence[tuple[str, float]]],
        k: int,
        *,
        tie: float = 0.0,
        coord: float = 0.0,
        allowed: npt.NDArray[Any] | None = None,
        boost: Mapping[int, float] | None = None,
    ) -> list[tuple[int, float]]:
        """Like :meth:`top_k`, but each *concept* (a group of alternative terms) is scored once.

        A concept's score in a document is the best of its terms' weighted BM25+ scores plus ``tie`` times the
        sum of the others (DisMax, as in Lucene's ``DisjunctionMaxQuery``): a concept with many renderings or
        sub-words counts about once, not once per rendering. Terms are compared by what they add over their
        BM25+ constant ``w·idf·δ``, which every document gets, and the concept adds the largest constant.
        Concepts are summed in order. A concept of one term is exactly that term's weighted BM25+ score, so a
        query whose concepts each have one term scores bit-identically to ``BM25Plus.get_scores`` (with unit
        weights). Duplicate terms inside a concept are merged by summing their weights.

        ``coord`` > 0 scales each score by ``coverage ** coord``, where coverage is the share of the query's
        concepts (weighted by their best ``w·idf``) the document matches: an entry that matches one rare word of
        a long question ranks below one that matches most of it (Lucene's classic coordination factor).

        >>> index = BM25Index.build([["a"], ["a", "b"], ["b"], ["c"]])
        >>> flat = index.top_k([("a", 1.0), ("b", 1.0)], 10)
        >>> dismax = index.top_k_concepts([[("a", 1.0), ("b", 1.0)]], 10)
        >>> [d for d, _ in flat], [d for d, _ in dismax]  # doc 1 has both terms, but they are one concept
        ([1, 0, 2], [0, 2, 1])
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        check(Ranking, "tie", tie)
        check(Ranking, "coord", coord)
        mask = None if allowed is None else as_mask(np.asarray(allowed), self.n_docs)
        if not coord and not boost:
            return self._top_k_kernel(concepts, k, tie, mask)
        return self._top_k_scan(concepts, k, tie=tie, coord=coord, mask=mask, boost=boost)

    def _top_k_scan(self, concepts: Sequence[Sequence[tuple[str, float]]], k: int, *, tie: float, coord: float,
                    mask: npt.NDArray[np.bool_] | None, boost: Mapping[int, float] | None) -> list[tuple[int, float]]:
        """:meth:`top_k_concepts` in numpy, every matching document scored: for coordination and boosts, and the
        reference the C kernel is tested against."""
        boost_ids, boost_factors = boost_arrays(boost, self.n_docs)
        groups = [g for g in (self._resolve(c, mask) for c in concepts) if g]
        if k == 0 or not groups:
            return []
        flat = [t for g in groups for t in g]
        total = sum(len(t.doc_ids) for t in flat)
        if total == 0:
            return []

        cands: npt.NDArray[np.integer[Any]]
        if len(flat) == 1:
            cands = flat[0].doc_ids
            cand_scores = accumulate(groups, [None], len(cands), self._k1, self._delta, self._norm, tie, coord)
        elif total <= self.n_docs * _SPARSE_MAX_FRACTION:
            # Few postings: sort them into a candidate list and score only those.
            cands, slots = union_slots([t.doc_ids for t in flat])
            cand_scores = accumulate(groups, list(slots), len(cands), self._k1, self._delta, self._norm, tie, coord)
        else:
            # Many postings (frequent terms): one dense pass over N is cheaper than sorting them.
            matched = np.zeros(self.n_docs, dtype=np.bool_)
            for t in flat:
                matched[t.doc_ids] = True
            cands = np.flatnonzero(matched)
            cand_scores = accumulate(groups, None, self.n_docs, self._k1, self._delta, self._norm, tie, coord)[cands]

        if len(boost_ids):
            pos = np.searchsorted(cands, boost_ids)
            hit = pos < len(cands)
            hit[hit] = cands[pos[hit]] == boost_ids[hit]
            cand_scores[pos[hit]] *= boost_factors[hit]
        return select_top_k(cands, cand_scores, k)

    def _top_k_kernel(self, concepts: Sequence[Sequence[tuple[str, float]]], k: int, tie: float,
                      mask: npt.NDArray[np.bool_] | None) -> list[tuple[int, float]]:
        """:meth:`top_k_concepts` without coordination or boosts, in C (``retrieval/_bm25kernel.c``): postings
        merged in doc-id order, MaxScore pruning on the precomputed gains, exact scores for what may reach the top k."""
        spec: list[tuple[int, float, float, int, int, float]] = []
        idf, offsets, top = self._idf, self._offsets, self._gain_max
        group = 0
        for concept in concepts:
            kept = False
            for term, weight in merge_terms(concept).items():
                i = self._terms.get(term)
                if i is None:
                    continue  # rank-bm25: (self.idf.get(q) or 0) * (...) == 0, so skipping adds nothing
                spec.append((group, weight, idf.item(i), offsets.item(i), offsets.item(i + 1), weight * top.item(i)))
                kept = True
            group += kept
        # min(): a k beyond Py_ssize_t is valid (the scan takes it) but would overflow the C argument.
        return _bm25kernel.top_k(spec, self._doc_ids, self._tf, self._gain, self._norm, mask, min(k, self.n_docs),
                                 self._k1, self._delta, tie)

    def term_scores(self, term: str, doc_ids: Sequence[int]) -> FloatArray:
        """rank-bm25's BM25+ score of one term (unit weight) in each of ``doc_ids``; the constant where absent.

        >>> BM25Index.build([["a", "b"], ["c"]]).term_scores("a", [0, 1]).round(4).tolist()
        [2.0539, 1.0986]
        """
        ids = np.asarray(doc_ids, dtype=np.int64)
        out: FloatArray = np.zeros(len(ids), dtype=np.float64)
        i = self._terms.get(term)
        if i is None:
            return out
        idf = float(self._idf[i])
        out[:] = idf * self._delta
        post, tf = self.postings(term)
        inside, pos = _locate(post, ids)
        if inside.any():
            out[inside] = matching_contributions(idf, self._delta, self._k1, tf[pos[inside]],
                                                  self._norm[ids[inside]])
        return out

    def contains(self, term: str, doc_ids: Sequence[int] | npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.bool_]:
        """Which of ``doc_ids`` contain ``term`` (none, for a term outside the vocabulary).

        >>> BM25Index.build([["a", "b"], ["c"]]).contains("a", [1, 0, 1]).tolist()
        [False, True, False]
        """
        return _locate(self.postings(term)[0], np.asarray(doc_ids, dtype=np.int64))[0]

    def document_frequency(self, term: str) -> int:
        """How many documents contain ``term``.

        >>> BM25Index.build([["a", "b", "a"], ["b"]]).document_frequency("b")
        2
        """
        i = self._terms.get(term)
        return 0 if i is None else int(self._offsets[i + 1] - self._offsets[i])

    def term_frequency(self, term: str, doc: int) -> int:
        """How often ``term`` occurs in document ``doc`` (0 when it does not, or is unknown).

        >>> BM25Index.build([["a", "b", "a"], ["b"]]).term_frequency("a", 0)
        2
        """
        post, tf = self.postings(term)
        pos = int(np.searchsorted(post, doc))
        return int(tf[pos]) if pos < len(post) and int(post[pos]) == doc else 0

    def _resolve(self, terms: Sequence[tuple[str, float]], mask: npt.NDArray[np.bool_] | None) -> list[QueryTerm]:
        """Look up merged query terms in first-occurrence order, dropping unknown terms."""
        out: list[QueryTerm] = []
        for term, weight in merge_terms(terms).items():
            i = self._terms.get(term)
            if i is None:
                continue  # rank-bm25: (self.idf.get(q) or 0) * (...) == 0, so skipping adds nothing
            lo, hi = int(self._offsets[i]), int(self._offsets[i + 1])
            ids, tf = self._doc_ids[lo:hi], self._tf[lo:hi]
            if mask is not None:
                keep = mask[ids]
                ids, tf = ids[keep], tf[keep]
            # The term stays in the query even if the mask leaves it no postings: its constant still counts.
            out.append(QueryTerm(weight, float(self._idf[i]), ids, tf))
        return out

    def __repr__(self) -> str:
        return (
            f"BM25Index(n_docs={self.n_docs}, vocabulary_size={self.vocabulary_size}, "
            f"k1={self._k1}, b={self._b}, delta={self._delta})"
        )


def _locate(post: IdArray, ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Which of ``ids`` are in the ascending ``post``, and their positions there (meaningful where they are).

    >>> inside, pos = _locate(np.array([2, 5], dtype=np.int32), np.array([5, 3, 9]))
    >>> inside.tolist(), pos[inside].tolist()
    ([True, False, False], [1])
    """
    pos = np.searchsorted(post, ids)
    inside = pos < len(post)
    inside[inside] = post[pos[inside]] == ids[inside]
    return inside, pos
