"""Which items of one new issue match a member's subscriptions: the same engine as ``/ask``, restricted to that
issue's entries, keeping the items whose score reaches ``alerts.min_score``.

Pure over the engine (no I/O), run in a worker thread by :mod:`bot.alerts.service`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.results import AlertMatch
from retrieval.models import Issue, SearchResult

CANDIDATES = 50
"""How many of an issue's best entries are scored per query (more than any issue holds in practice)."""


class Searches(Protocol):
    """What matching needs of :class:`retrieval.search.SearchEngine`."""

    def search(self, query: str, *, k: int = 5, issue: Issue | None = None) -> SearchResult: ...


def query_hits(engine: Searches, issue: Issue, query: str, section: str, min_score: float) -> list[tuple[str, float]]:
    """The entries of ``issue`` (their keys, with scores) that ``query`` reaches ``min_score`` on, best first;
    ``section`` ('' = any) keeps only that section's. A query of common words scores 0 and matches nothing."""
    found = engine.search(query, k=CANDIDATES, issue=issue)
    return [(h.entry.key, h.score) for h in found.hits
            if h.issue.id == issue.id and h.score >= min_score and h.score > 0
            and (not section or h.entry.section == section)]


def member_matches(engine: Searches, issue: Issue, queries: Iterable[tuple[str, str]], min_score: float,
                   limit: int) -> tuple[AlertMatch, ...]:
    """One member's matches in ``issue`` over all their subscriptions (``(query, section)`` pairs): each entry
    once, with every query that found it, best score first, at most ``limit``.

    >>> from retrieval.models import Entry, Hit
    >>> a = Entry("w1", 0, "papers", "Protein folding", "https://x.org/a", "")
    >>> b = Entry("w1", 1, "articles", "GPU prices", "https://x.org/b", "")
    >>> issue = Issue("w1", "Week 1", None, "issue", (a, b))
    >>> class Fake:
    ...     def search(self, query, *, k=5, issue=None):
    ...         scores = {"protein": [(a, 7.0)], "gpu": [(b, 5.0), (a, 0.5)]}[query]
    ...         return SearchResult(query, tuple(Hit(e, issue, s, "") for e, s in scores))
    >>> [(m.entry.title, m.queries) for m in member_matches(Fake(), issue, [("gpu", ""), ("protein", "")], 4.0, 5)]
    [('Protein folding', ('protein',)), ('GPU prices', ('gpu',))]
    >>> member_matches(Fake(), issue, [("gpu", "papers")], 4.0, 5)
    ()
    """
    entries = {e.key: e for e in issue.entries}
    best: dict[str, float] = {}
    found_by: dict[str, list[str]] = {}
    for query, section in queries:
        for key, score in query_hits(engine, issue, query, section, min_score):
            best[key] = max(best.get(key, 0.0), score)
            if query not in found_by.setdefault(key, []):
                found_by[key].append(query)
    ranked = sorted(best, key=lambda k: (-best[k], entries[k].position))[:limit]
    return tuple(AlertMatch(entries[k], best[k], tuple(found_by[k])) for k in ranked)


def queries_of(subs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The distinct (query, section) pairs, in order.

    >>> queries_of([("a", ""), ("a", ""), ("a", "papers")])
    [('a', ''), ('a', 'papers')]
    """
    return list(dict.fromkeys(subs))
