"""``newsbot eval --explain``: why the expected links of one question rank where they do.

A measuring aid, not part of answering: it replays the engine's own preparation and ranking of a question,
then reads the engine's internals (its documents, link groups and index) to show, per concept, what each
term scored in the best entry of each expected link. It reads private state on purpose: it must see exactly
what ranking sees, and the engine should not grow public API only for this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.glossary import WeightedTerm
from retrieval.links import link_key
from retrieval.models import Concept, Entry, Issue
from retrieval.search import SearchEngine


@dataclass(frozen=True, slots=True)
class LinkExplanation:
    """Where one expected link ranks, and what each concept's terms scored in its best entry."""

    url: str
    rank: int
    """1-based among the results as shown (one per link); 0 when not among them."""
    entry: Entry | None
    issue: Issue | None
    score: float
    concepts: tuple[tuple[str, tuple[tuple[WeightedTerm, float, bool], ...]], ...]
    """Per concept: ``(label, ((term, weighted score, term is in the entry), ...))``."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One question explained: its concepts (with their terms), the issues it was limited to, and each link."""

    query: str
    concepts: tuple[Concept, ...]
    issues: tuple[Issue, ...]
    links: tuple[LinkExplanation, ...]


def explain(engine: SearchEngine, query: str, links: Sequence[str], *, depth: int = 200) -> Explanation:
    """Why ``links`` rank where they do for ``query``: concepts, their terms, and per-term scores.

    A link's rank counts results as :meth:`SearchEngine.search` shows them (one per link, the best entry first) among
    the best ``depth`` entries; 0 means it is not among them (or no entry has that link).
    """
    prep = engine._prepare(query, None)
    concepts = engine.concepts(prep.text) if prep.tokens else []
    ranked = engine._rank(concepts, depth, prep.allowed) if concepts else []
    group_rank: dict[str, tuple[int, int, float]] = {}
    for doc, score in ranked:
        group = engine._docs[doc].group
        if group not in group_rank:
            group_rank[group] = (len(group_rank) + 1, doc, score)
    out: list[LinkExplanation] = []
    for url in links:
        key = engine._link_groups.get(link_key(url), link_key(url))  # a second link of an entry finds it too
        members = engine._groups.get(key, [])
        if key in group_rank:
            rank, doc, score = group_rank[key]
        elif members:
            rank, doc, score = 0, engine._doc_ids[members[0].entry.key], 0.0
        else:
            out.append(LinkExplanation(url, 0, None, None, 0.0, ()))
            continue
        per_concept = []
        for c in concepts:
            scored = []
            for t in c.terms:
                inside = engine._index.term_frequency(t.token, doc) > 0
                # Only a term the entry contains has a score of its own; the rest is BM25+'s constant.
                value = float(engine._index.term_scores(t.token, [doc])[0]) * t.weight if inside else 0.0
                scored.append((t, value, inside))
            per_concept.append((c.label, tuple(scored)))
        d = engine._docs[doc]
        out.append(LinkExplanation(url, rank, d.entry, d.issue, score, tuple(per_concept)))
    return Explanation(query, tuple(concepts), prep.issues, tuple(out))
