"""Retrieval quality: MRR@5 and Recall@5 of newsbot against a naive baseline, on our own question set.

The baseline is what one would write first: ``jieba.lcut`` plus ``BM25Okapi`` over the raw markdown
paragraphs of the archive files. Both systems are scored on links: a ranked unit (an entry, or a
paragraph) is relevant when one of its links is among the question's expected links.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import jieba
from rank_bm25 import BM25Okapi

from retrieval.archive import iter_archive_files, read_archive_file
from retrieval.errors import BadFileError
from retrieval.models import Archive
from retrieval.search import SearchEngine, SearchSettings, canonical_link

K = 5


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    lang: str
    query: str
    expected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scores:
    mrr: float
    recall: float
    misses: tuple[str, ...]
    """Ids of questions with no relevant result in the top K."""


def load_questions(path: Path) -> list[Question]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    questions = []
    for q in data["question"]:
        questions.append(Question(q["id"], q.get("lang", "?"), q["query"], tuple(q["expected"])))
    return questions


def score(questions: Sequence[Question], rank: Callable[[str], list[list[str]]], k: int = K) -> Scores:
    """MRR@k and Recall@k, where ``rank(query)`` returns the links of each ranked unit, best first.

    >>> qs = [Question("a", "en", "q1", ("https://x.org/1",)), Question("b", "en", "q2", ("https://x.org/2",))]
    >>> runs = {"q1": [["https://x.org/9"], ["https://x.org/1"]], "q2": [["https://x.org/3"]]}
    >>> s = score(qs, lambda q: runs[q])
    >>> (s.mrr, s.recall, s.misses)
    (0.25, 0.5, ('b',))
    """
    rr_total, recall_total, misses = 0.0, 0.0, []
    for q in questions:
        expected = {canonical_link(u) for u in q.expected}
        units = rank(q.query)[:k]
        found: set[str] = set()
        first = 0
        for pos, links in enumerate(units, 1):
            hit = expected & {canonical_link(u) for u in links}
            if hit and not first:
                first = pos
            found |= hit
        rr_total += 1 / first if first else 0.0
        recall_total += len(found) / len(expected)
        if not first:
            misses.append(q.id)
    n = max(len(questions), 1)
    return Scores(rr_total / n, recall_total / n, tuple(misses))


def newsbot_ranker(engine: SearchEngine, k: int = K) -> Callable[[str], list[list[str]]]:
    def rank(query: str) -> list[list[str]]:
        return [[h.entry.url] if h.entry.url else [] for h in engine.search(query, k=k).hits]

    return rank


_LINK = re.compile(r"\]\((https?://[^)\s]+|/[^)\s]+)\)|(https?://[^\s)\]>】]+)")


def paragraph_links(paragraph: str) -> list[str]:
    """Links in a raw markdown paragraph, with Medium-relative ones made absolute.

    >>> paragraph_links("见 [论文](https://arxiv.org/abs/2106.10860) 和 [x](/analytics-vidhya/a-1)")
    ['https://arxiv.org/abs/2106.10860', 'https://medium.com/analytics-vidhya/a-1']
    """
    links = []
    for m in _LINK.finditer(paragraph):
        url = m.group(1) or m.group(2)
        if url.startswith("/"):
            url = "https://medium.com" + url
        links.append(_strip_utm(url))
    return links


def _strip_utm(url: str) -> str:
    base, _, query = url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("utm_")]
    return f"{base}?{'&'.join(kept)}" if kept else base


def baseline_ranker(archive_dir: Path, k: int = K) -> Callable[[str], list[list[str]]]:
    """``jieba.lcut`` + ``BM25Okapi`` over raw paragraphs: the naive baseline."""
    paragraphs: list[str] = []
    for path in iter_archive_files(archive_dir):
        try:
            text, _ = read_archive_file(path)
        except BadFileError:
            continue
        paragraphs += [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    tokenized = [jieba.lcut(p) for p in paragraphs]
    bm25 = BM25Okapi(tokenized)

    def rank(query: str) -> list[list[str]]:
        scores = bm25.get_scores(jieba.lcut(query))
        order = scores.argsort()[::-1][:k]
        return [paragraph_links(paragraphs[i]) for i in order]

    return rank


def ablations(archive: Archive, settings: SearchSettings, questions: Sequence[Question],
              engine: SearchEngine) -> dict[str, Scores]:
    """The contribution of each bridge: with neither, glossary only, CC-CEDICT only, both."""
    out: dict[str, Scores] = {}
    for name, glossary, cedict in (("no bridges", False, False), ("glossary only", True, False),
                                   ("cc-cedict only", False, True)):
        variant = SearchEngine.build(archive, replace(settings, use_glossary=glossary, use_cedict=cedict),
                                     analyzer=engine.analyzer)
        out[name] = score(questions, newsbot_ranker(variant))
    out["glossary + cc-cedict"] = score(questions, newsbot_ranker(engine))
    return out
