"""``newsbot bench --peers``: newsbot's BM25 index next to tantivy, bm25s and rank-bm25 on the same tokens.

Every engine indexes the same token lists and answers the same token queries (top k, each token once). The
reference is rank-bm25's ``BM25Plus`` full scan; an engine is *exact* on a query when rank-bm25's scores of its top
k (documents that match a token), in its order, are the full scan's top k scores: the same ranking, where equal
scores may come in any order. tantivy scores with BM25 (not BM25+) and bm25s in float32, so their exactness says how
far they are from rank-bm25's ranking, not whether they are broken.
Timings are interleaved (each query runs on every engine in turn), so a burst of load on the shared machine hits
all of them alike. Memory is what one engine keeps resident after its build, measured in a fresh child process
so that one engine's freed memory does not hide another's.

tantivy and bm25s are the optional ``bench`` extra (``pip install 'newsbot[bench]'``); an engine that is not
installed is skipped with one line. The bot never imports this module.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rank_bm25 import BM25Plus

from retrieval.bm25 import BM25Index, unit_weights

__all__ = ["ENGINES", "available", "compare_peers", "memory_table", "peer_report", "resident_after_build"]

Search = Callable[[list[str]], list[tuple[int, float]]]
"""A query's tokens to its top k ``(doc id, score)`` pairs, in the engine's own order."""
ENGINES = ("newsbot", "tantivy", "bm25s", "rank-bm25")
_MODULES = {"tantivy": "tantivy", "bm25s": "bm25s"}


def available(engine: str) -> bool:
    """Whether ``engine`` can run here (tantivy and bm25s are optional).

    >>> available("newsbot"), available("rank-bm25")
    (True, True)
    """
    module = _MODULES.get(engine)
    return module is None or importlib.util.find_spec(module) is not None


def _build(engine: str, docs: Sequence[Sequence[str]], k: int) -> Search:
    """Index ``docs`` with ``engine``; return a function from a query's tokens to its top-k doc ids."""
    if engine == "newsbot":
        index = BM25Index.build(docs)
        return lambda q: index.top_k(unit_weights(q), k)
    if engine == "rank-bm25":
        return FullScan(docs, k)
    if engine == "tantivy":
        return _tantivy(docs, k)
    if engine == "bm25s":
        import bm25s

        retriever = bm25s.BM25(method="bm25+", k1=1.5, b=0.75, delta=1.0)
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in d] for d in docs]
        retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)

        def search_bm25s(q: list[str]) -> list[tuple[int, float]]:
            known = [vocab[t] for t in q if t in vocab]
            if not known:
                return []
            found, scores = retriever.retrieve([known], k=k, show_progress=False, n_threads=1)
            return list(zip(found[0].tolist(), scores[0].tolist(), strict=True))
        return search_bm25s
    raise ValueError(f"unknown engine {engine!r}")


class FullScan:
    """rank-bm25's ``BM25Plus.get_scores`` over every document and a stable sort: the reference ranking."""

    def __init__(self, docs: Sequence[Sequence[str]], k: int) -> None:
        self.bm = BM25Plus(docs)
        self.k = k

    def scores(self, q: list[str]) -> npt.NDArray[np.float64]:
        return np.asarray(self.bm.get_scores(q), dtype=np.float64)

    def __call__(self, q: list[str]) -> list[tuple[int, float]]:
        scores = self.scores(q)
        freqs: list[dict[str, int]] = self.bm.doc_freqs
        out = []
        for d in np.argsort(-scores, kind="stable")[: self.k].tolist():
            # Documents without a query token score the constant, the lowest score: stop at the first one.
            if not any(t in freqs[d] for t in q):
                break
            out.append((d, float(scores[d])))
        return out


def _tantivy(docs: Sequence[Sequence[str]], k: int) -> Search:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    for d in docs:
        # Tokens never contain whitespace (the analyzer splits on it), so joining with spaces keeps them as they are.
        writer.add_document(tantivy.Document(body=" ".join(d)))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    # One writer thread and a heap larger than the corpus give one segment, whose doc addresses are insertion order.
    if searcher.num_segments != 1:
        raise RuntimeError(f"tantivy made {searcher.num_segments} segments; doc addresses would not be our ids")

    def search_tantivy(q: list[str]) -> list[tuple[int, float]]:
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in q]
        hits = searcher.search(tantivy.Query.boolean_query(clauses), limit=k).hits
        return [(addr.doc, score) for score, addr in hits]
    return search_tantivy


def compare_peers(docs: Sequence[Sequence[str]], queries: dict[str, list[list[str]]], *, k: int = 10,
                  engines: Sequence[str] = ENGINES, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Build each available engine on ``docs``, then time every query kind on all of them, interleaved.

    Returns ``{engine: {"build_s", "p50_ms": {kind: ms}, "exact": {kind: share of queries whose top k equals
    rank-bm25's}}}`` plus ``"skipped"``: the engines that are not installed.
    """
    searches: dict[str, Search] = {}
    report: dict[str, Any] = {"skipped": []}
    for engine in engines:
        if not available(engine):
            say(f"{engine}: not installed, skipped (pip install 'newsbot[bench]')")
            report["skipped"].append(engine)
            continue
        gc.collect()
        started = time.perf_counter()
        searches[engine] = _build(engine, docs, k)
        report[engine] = {"build_s": time.perf_counter() - started, "p50_ms": {}, "exact": {}}
    found = searches.get("rank-bm25")
    reference = found if isinstance(found, FullScan) else FullScan(docs, k)
    for kind, qs in queries.items():
        qs = [list(dict.fromkeys(q)) for q in qs]
        # What counts is the scores down the list: among equal scores any document may come first.
        full = [reference.scores(q) for q in qs]
        want = [[s for _, s in reference(q)] for q in qs]
        times: dict[str, list[float]] = {e: [] for e in searches}
        same: dict[str, int] = dict.fromkeys(searches, 0)
        for search in searches.values():
            search(qs[0])  # warm: lazy imports, first-touch page faults
        for q, scores, expected in zip(qs, full, want, strict=True):
            for engine, search in searches.items():
                started = time.perf_counter()
                got = search(q)
                times[engine].append((time.perf_counter() - started) * 1e3)
                same[engine] += [float(scores[d]) for d in _matching(got, docs, q)] == expected
        for engine in searches:
            report[engine]["p50_ms"][kind] = float(np.percentile(times[engine], 50))
            report[engine]["exact"][kind] = same[engine] / len(qs)
    return report


def _matching(hits: list[tuple[int, float]], docs: Sequence[Sequence[str]], q: list[str]) -> list[int]:
    """An engine's hit ids without documents that contain no query token (bm25s's BM25+ returns those too, with
    the constant score, where the others return fewer than k)."""
    return [d for d, _ in hits if not set(q).isdisjoint(docs[d])]


def resident_after_build(docs_file: Path, engine: str) -> float:
    """MB an engine keeps resident after building on the pickled token lists in ``docs_file`` (fresh process)."""
    code = ("import gc, json, pickle, sys; from retrieval.measure.peers import _build, _rss_mb\n"
            "docs = pickle.load(open(sys.argv[1], 'rb')); gc.collect(); before = _rss_mb()\n"
            "search = _build(sys.argv[2], docs, 10); search(list(docs[0][:2])); gc.collect()\n"
            "print(json.dumps(_rss_mb() - before))")
    out = subprocess.run([sys.executable, "-c", code, str(docs_file), engine], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_table(docs: Sequence[Sequence[str]], engines: Sequence[str]) -> dict[str, float]:
    """:func:`resident_after_build` for each engine, on one pickled copy of ``docs``."""
    with tempfile.TemporaryDirectory(prefix="newsbot-peers-") as tmp:
        path = Path(tmp) / "docs.pickle"
        with path.open("wb") as f:
            pickle.dump([list(d) for d in docs], f, protocol=pickle.HIGHEST_PROTOCOL)
        return {e: resident_after_build(path, e) for e in engines if available(e)}


def peer_report(docs: Sequence[Sequence[str]], queries: dict[str, list[list[str]]], *, k: int = 10,
                say: Callable[[str], None] = print) -> dict[str, Any]:
    """:func:`compare_peers` and :func:`memory_table`, printed side by side, with each p50 as a ratio to newsbot's."""
    report = compare_peers(docs, queries, k=k, say=say)
    engines = [e for e in ENGINES if e in report]
    memory = memory_table(docs, engines)
    for e in engines:
        report[e]["resident_mb"] = memory.get(e)
    kinds = list(queries)
    say(f"peers on the same {len(docs)} chunks and tokens, top {k}, {len(next(iter(queries.values())))} queries "
        "per kind, interleaved:")
    say("  engine     " + "".join(f"{kind + ' p50':>16}" for kind in kinds)
        + "".join(f"{'same top ' + str(k) + ' ' + kind[:4]:>18}" for kind in kinds) + "     build  resident")
    base = report.get("newsbot", {}).get("p50_ms", {})
    for e in engines:
        r = report[e]
        cells = "".join(f"{r['p50_ms'][kind]:8.3f} ms {r['p50_ms'][kind] / base[kind]:4.1f}x" if base else
                        f"{r['p50_ms'][kind]:13.3f} ms" for kind in kinds)
        exact = "".join(f"{r['exact'][kind]:17.0%} " for kind in kinds)
        say(f"  {e:<10} {cells} {exact} {r['build_s']:7.1f} s {r['resident_mb'] or 0:6.0f} MB")
    if base and "tantivy" in report:
        ratios = ", ".join(f"{base[kind] / report['tantivy']['p50_ms'][kind]:.2f}x on {kind}" for kind in kinds)
        say(f"newsbot's p50 against tantivy's: {ratios} (issue 21's target: at most 1x)")
    return report
