"""Bilingual search over an archive: jieba tokens, glossary and CC-CEDICT bridges, exact BM25Plus ranking.

:class:`SearchEngine` is built once per archive (tokenized entries are persisted, keyed by content and
tokenizer fingerprint, so a restart does not tokenize again) and then answers queries synchronously in
about a millisecond; the async query cache sits in front of it in the service layer.

Around it: the result values are in :mod:`retrieval.models`, tokenizing and the token store in
:mod:`retrieval.tokenstore`, issue lookup in :mod:`retrieval.issuedir`, snippets in :mod:`retrieval.snippets`,
the BM25+ index in :mod:`retrieval.bm25`, and ``eval --explain`` in :mod:`retrieval.measure.explain`.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from retrieval import notices
from retrieval.bm25 import BM25Index
from retrieval.bm25store import index_key, index_path, load_index, save_index
from retrieval.cedict import Cedict, load_in_thread
from retrieval.entrytext import entry_text, link_group
from retrieval.errors import UnknownIssueError
from retrieval.filters import SearchFilter
from retrieval.glossary import Glossary, Translator, WeightedTerm
from retrieval.issuedir import IssueDirectory, describe_ref
from retrieval.issueref import extract_issue_ref
from retrieval.links import link_key
from retrieval.models import Archive, Concept, Entry, Hit, Issue, SearchResult
from retrieval.settings import SearchSettings as SearchSettings  # the schema's; re-exported for callers
from retrieval.settings import ranking_fingerprint
from retrieval.snippets import as_typed, make_snippet, surface_terms
from retrieval.text import Analyzer
from retrieval.tokenstore import TokenStore, tokenize_all

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
"""Longer questions are cut here: BM25 over a pasted essay helps nobody and costs time."""
EMPTY_QUERY_NOTICE = notices.EMPTY_QUERY
INDEX_FORMAT = "1"


@dataclass(frozen=True, slots=True)
class _Prepared:
    original: str
    query: str
    text: str
    """The query without its issue reference: what is searched."""
    tokens: list[str]
    pairs: list[tuple[str, tuple[str, ...]]]
    """The searched text's ``(token, sub-words)`` pairs, from the same jieba pass as ``tokens``."""
    issues: tuple[Issue, ...]
    notice: str | None
    allowed: npt.NDArray[np.bool_] | None


@dataclass
class _Doc:
    entry: Entry
    issue: Issue
    group: str
    text_hash: str


class _VocabularyTranslator:
    """CC-CEDICT limited to words the index contains: a translation the archive never uses matches nothing."""

    def __init__(self, cedict: Cedict, analyzer: Analyzer, index: BM25Index) -> None:
        self._cedict = cedict
        self._analyzer = analyzer
        self._index = index
        self._known: dict[str, float] = {}

    def _weight(self, headword: str) -> float:
        known = self._known.get(headword)
        if known is None:
            tokens = self._analyzer.base_tokens(headword)
            known = 1.0 if tokens and all(self._index.idf(t) > 0 for t in tokens) else 0.0
            if len(self._known) < 100_000:
                self._known[headword] = known
        return known

    def translations(self, english: str) -> list[tuple[str, float]]:
        return self._cedict.translations(english, keep=self._weight)


class SearchEngine:
    """Answers queries over one archive."""

    def __init__(self, archive: Archive, settings: SearchSettings, analyzer: Analyzer, glossary: Glossary,
                 cedict: Cedict | None, docs: list[_Doc], index: BM25Index) -> None:
        self.archive = archive
        self.settings = settings
        self.analyzer = analyzer
        self.glossary = glossary
        self.cedict = cedict
        self._docs = docs
        self._index = index
        self._translator: Translator | None = cedict
        if cedict is not None and settings.cedict_in_vocabulary:
            self._translator = _VocabularyTranslator(cedict, analyzer, index)
        self.directory = IssueDirectory(archive)
        self._issue_pos = {i.id: n for n, i in enumerate(archive.issues)}
        self._doc_issue = np.array([self._issue_pos[d.issue.id] for d in docs], dtype=np.int32)
        # What the filters read (since, until, section), as arrays; -1: the issue has no date.
        self._doc_date = np.array([d.issue.date.toordinal() if d.issue.date else -1 for d in docs], dtype=np.int64)
        self._doc_section = np.array([d.entry.section for d in docs], dtype=object)
        self._groups: dict[str, list[_Doc]] = {}
        for d in docs:
            self._groups.setdefault(d.group, []).append(d)
        self._by_key = {d.entry.key: d for d in docs}
        self._doc_ids = {d.entry.key: n for n, d in enumerate(docs)}
        self._link_groups: dict[str, str] = {}
        """Any link of an entry (its main link first) -> the group of the first entry that has it."""
        for d in docs:
            if not d.group.startswith("entry:"):
                self._link_groups.setdefault(d.group, d.group)
        for d in docs:
            for url in d.entry.links:
                self._link_groups.setdefault(link_key(url), d.group)
        self.tokenized_now = 0
        """How many entries this build had to tokenize (the rest came from the token store)."""
        self.index_loaded = False
        """Whether the BM25 index was mapped from the file a previous build saved (:mod:`retrieval.bm25store`)."""
        digest = hashlib.sha256()
        for part in (INDEX_FORMAT, analyzer.fingerprint, glossary.fingerprint, ranking_fingerprint(settings)):
            digest.update(part.encode())
        for d in docs:
            digest.update(d.text_hash.encode())
            digest.update(d.issue.id.encode())
        self.fingerprint = digest.hexdigest()

    @classmethod
    def build(cls, archive: Archive, settings: SearchSettings, *, analyzer: Analyzer | None = None,
              progress: bool = False) -> SearchEngine:
        if archive.language == "en" and not settings.english_stemming:
            # An English newsletter (its profile says so) is searched with stems whatever the setting: the
            # held-out questions of This Week in Rust gain 0.05 MRR@5 with them, Akira's lose a little.
            settings = msgspec.structs.replace(settings, english_stemming=True)
        if analyzer is None or analyzer.config.english_stemming != settings.english_stemming:
            analyzer = Analyzer(settings.analyzer_config())
        glossary = Glossary.load(settings.glossary_path, analyzer)
        texts = {e.key: entry_text(e, issue) for issue in archive.issues for e in issue.entries}
        docs = [
            _Doc(e, issue, link_group(e), hashlib.sha1(texts[e.key].encode("utf-8")).hexdigest())
            for issue in archive.issues for e in issue.entries
        ]
        params = (settings.k1, settings.b, settings.delta)
        key = index_key(analyzer.fingerprint, params, (d.text_hash for d in docs))
        saved = index_path(settings.analyzer.cache_dir, analyzer.fingerprint, archive.root)
        index = load_index(saved, key)
        loaded = index is not None
        missing: list[_Doc] = []
        cedict_dir, use_cedict = settings.analyzer.cache_dir, settings.use_cedict
        # While the index is built, CC-CEDICT loads beside it (a first load builds its cache: seconds on one core).
        later = load_in_thread(cedict_dir, analyzer.word_frequency) if use_cedict and index is None else None
        if index is None:
            index, missing = _build_index(docs, texts, settings, analyzer, progress)
            save_index(index, saved, key)
        else:
            log.info("index: %d entries, loaded from %s", len(docs), saved)
        cedict = later.result() if later else Cedict.load(cedict_dir, analyzer.word_frequency) if use_cedict else None
        engine = cls(archive, settings, analyzer, glossary, cedict, docs, index)
        engine.tokenized_now = len(missing)
        engine.index_loaded = loaded
        return engine

    @property
    def size(self) -> int:
        return len(self._docs)

    def expand(self, tokens: Sequence[str]) -> list[WeightedTerm]:
        """The weighted terms a query's tokens stand for: typed tokens, then glossary and CEDICT renderings."""
        if not self.settings.use_glossary and self.cedict is None:
            return [WeightedTerm(t, 1.0, "query") for t in dict.fromkeys(tokens)]
        return self.glossary.expand(
            tokens,
            cedict=self._translator,
            glossary_weight=self.settings.glossary_weight if self.settings.use_glossary else 0.0,
            cedict_weight=self.settings.cedict_weight,
        )

    def concepts(self, text: str,
                 parts: tuple[list[str], list[tuple[str, tuple[str, ...]]]] | None = None) -> list[Concept]:
        """The query's concepts, each with the terms that stand for it (typed first, then renderings).

        With ``settings.dismax`` off, every expanded term is a concept of its own (a flat sum, as before).
        ``parts`` is ``analyzer.query_parts(text)`` when the caller has it already (jieba runs once per answer).
        """
        tokens, analyzed = parts if parts is not None else self.analyzer.query_parts(text)
        if not self.settings.dismax:
            return [Concept(t.token, (t,)) for t in self.expand(tokens)]
        pairs = [(token, tuple(s for s in subs if not self.analyzer.is_stopword(s)))
                 for token, subs in analyzed]
        if not self.settings.use_glossary and self.cedict is None:
            return [Concept(t, tuple(WeightedTerm(x, 1.0, "query") for x in dict.fromkeys((t, *subs))))
                    for t, subs in dict(pairs).items()]
        found = self.glossary.concepts(
            pairs, cedict=self._translator,
            glossary_weight=self.settings.glossary_weight if self.settings.use_glossary else 0.0,
            cedict_weight=self.settings.cedict_weight,
        )
        return [Concept(label, self._floor(tuple(terms))) for label, terms in found]

    def _floor(self, terms: tuple[WeightedTerm, ...]) -> tuple[WeightedTerm, ...]:
        # A concept only its renderings can match would otherwise count as little as its loosest dictionary match
        # (洗牌 for "shuffle" weighed 0.097), however much the question turns on it.
        floor = self.settings.bridge_floor
        if not floor or any(t.source == "query" and self._index.idf(t.token) > 0 for t in terms):
            return terms
        best = max((t.weight for t in terms if t.source != "query"), default=0.0)
        if not 0 < best < floor:
            return terms
        scale = floor / best
        return tuple(t if t.source == "query" else WeightedTerm(t.token, round(t.weight * scale, 4), t.source)
                     for t in terms)

    def _prepare(self, query: str, issue: Issue | None, filters: SearchFilter | None = None) -> _Prepared:
        original = query
        query = query.strip()
        notice = None
        if len(query) > MAX_QUERY_CHARS:
            query = query[:MAX_QUERY_CHARS]
            notice = notices.LONG_QUESTION.format(chars=MAX_QUERY_CHARS)
        ref, rest = extract_issue_ref(query, self.directory.templates)
        issues: tuple[Issue, ...] = ()
        if issue is not None:
            issues = (issue,)
        elif ref is not None:
            try:
                issues = self.directory.resolve(ref)
            except UnknownIssueError:
                # "the #1 method" is not a request for issue 1: search the whole question instead.
                notice = _join(notice, notices.NO_ISSUE_MATCH.format(ref=describe_ref(ref)))
                ref = None
        text = rest if ref is not None else query
        tokens, pairs = self.analyzer.query_parts(text) if query else ([], [])
        allowed = None
        if issues:
            positions = [self._issue_pos[i.id] for i in issues]
            allowed = np.isin(self._doc_issue, positions)
        if filters is not None and filters.active:
            # Before ranking, so the top k are the best of what passes, never a page emptied by the filter.
            passing = self.filter_mask(filters)
            allowed = passing if allowed is None else allowed & passing
        return _Prepared(original, query, text, tokens, pairs, issues, notice, allowed)

    def filter_mask(self, filters: SearchFilter) -> npt.NDArray[np.bool_]:
        """Which documents pass ``filters`` (as :meth:`SearchFilter.admits` says): one boolean per document,
        computed over arrays, as it runs on every filtered question."""
        mask = np.ones(len(self._docs), dtype=np.bool_)
        if filters.section is not None:
            mask &= self._doc_section == filters.section
        if filters.since is not None or filters.until is not None:
            mask &= self._doc_date >= 0  # an undated issue is outside any date bound
        if filters.since is not None:
            mask &= self._doc_date >= filters.since.toordinal()
        if filters.until is not None:
            mask &= self._doc_date <= filters.until.toordinal()
        return mask

    def _rank(self, concepts: Sequence[Concept], n: int,
              allowed: npt.NDArray[np.bool_] | None) -> list[tuple[int, float]]:
        return self._index.top_k_concepts(
            [[(t.token, t.weight) for t in c.terms] for c in concepts], n, tie=self.settings.tie,
            coord=self.settings.coord, allowed=allowed)

    def search(self, query: str, *, k: int = 5, issue: Issue | None = None,
               filters: SearchFilter | None = None) -> SearchResult:
        """Search, never raising on odd input: odd input gets a ``notice`` instead. ``filters`` restrict the
        candidates before ranking; an answer they empty says which of them did."""
        prep = self._prepare(query, issue, filters)
        original, issues, notice, tokens = prep.original, prep.issues, prep.notice, prep.tokens
        if not prep.query:
            return SearchResult(original, (), notice=EMPTY_QUERY_NOTICE)
        if not tokens:
            pinned = self._pinned(prep.text, prep.allowed)
            if pinned:
                return SearchResult(original, tuple(self._group([], k, [], (), "", pinned)), issues=issues,
                                    notice=notice)
            if issues:
                browsed = self._browse(issues, k, prep.allowed)
                if not browsed and filters is not None and filters.active:
                    notice = _join(notice, notices.NO_ENTRIES_OF_ISSUE.format(filters=filters.describe()))
                return SearchResult(original, browsed, issues=issues, notice=notice)
            return SearchResult(
                original, (),
                notice=notices.NOTHING_TO_SEARCH,
            )
        concepts = self.concepts(prep.text, (tokens, prep.pairs))
        terms = [t for c in concepts for t in c.terms]
        ranked = self._rank(concepts, max(k * 4, 20), prep.allowed)
        pinned = self._pinned(prep.text, prep.allowed)
        hits = self._group(ranked, k, [t.token for t in terms], concepts, prep.text, pinned)
        if not hits and filters is not None and filters.active:
            notice = _join(notice, self._emptied_by(prep, concepts, filters, issue))
        elif not hits:
            notice = _join(notice, notices.NO_ENTRIES_IN.format(issue=issues[0].label) if len(issues) == 1
                           else notices.NO_ENTRIES)
        self.analyzer.load_dictionary_later()  # this answer is out: the rest of jieba's dictionary, off its path
        return SearchResult(original, tuple(hits), tuple(terms), issues, notice)

    def _emptied_by(self, prep: _Prepared, concepts: Sequence[Concept], filters: SearchFilter,
                    issue: Issue | None) -> str:
        """Which filter emptied an answer: the one whose removal alone brings matches back (and how many), or
        all of them together, or none (the question matches nothing anyway)."""
        def count(f: SearchFilter | None) -> int:
            allowed = self._prepare(prep.query, issue, f).allowed
            return len({self._docs[d].group for d, _ in self._rank(concepts, self.size, allowed)})

        for name in filters.set_fields():
            n = count(filters.without(name))
            if n:
                one = notices.EMPTIED_BY_ONE_1 if n == 1 else notices.EMPTIED_BY_ONE
                return one.format(filters=filters.describe(name), n=n)
        n = count(None)
        if n:
            every = notices.EMPTIED_BY_ALL_1 if n == 1 else notices.EMPTIED_BY_ALL
            return every.format(filters=filters.describe(), n=n)
        return notices.EMPTIED_ANYWAY

    def _group(self, ranked: list[tuple[int, float]], k: int, terms: list[str],
               concepts: Sequence[Concept] = (), query: str = "", pinned: Sequence[str] = ()) -> list[Hit]:
        by_group: dict[str, list[tuple[int, float]]] = {}
        for group in pinned:
            # A link the question names comes first: "/ask https://arxiv.org/abs/2106.10860".
            by_group[group] = []
        for doc, score in ranked:
            by_group.setdefault(self._docs[doc].group, []).append((doc, score))
        shown = [members[0] if members else (self._doc_ids[self._groups[group][0].entry.key], 0.0)
                 for group, members in itertools.islice(by_group.items(), k if k > 0 else None)]
        # Snippets and bridges only for the entries shown (k <= 0 shows every group, as it did), bridges all at once.
        highlight = surface_terms(terms)
        hits: list[Hit] = []
        for (doc, score), bridges in zip(shown, self._bridges([d for d, _ in shown], concepts, query), strict=True):
            best = self._docs[doc]
            snippet, spans = make_snippet(best.entry.summary or best.entry.title, highlight)
            hits.append(Hit(best.entry, best.issue, score, snippet, spans, self._same_link(best.group, best.issue),
                            bridges))
        return hits

    def _bridges(self, docs: list[int], concepts: Sequence[Concept], query: str) -> list[tuple[tuple[str, str], ...]]:
        """Per doc, each concept it has no typed term of, with the rendering that scores best in it (if any)."""
        out: list[list[tuple[str, str]]] = [[] for _ in docs]
        ids = np.asarray(docs, dtype=np.int64)
        for c in concepts:
            renderings = [t for t in c.terms if t.source != "query"]
            if not renderings:
                continue  # nothing could bridge it
            typed = np.zeros(len(docs), dtype=np.bool_)
            for t in (t for t in c.terms if t.source == "query"):
                typed |= self._index.contains(t.token, ids)
            found: list[list[tuple[float, str]]] = [[] for _ in docs]
            for t in renderings:
                inside = self._index.contains(t.token, ids) & ~typed
                if inside.any():
                    scores = self._index.term_scores(t.token, ids[inside].tolist())
                    for j, score in zip(np.flatnonzero(inside).tolist(), scores.tolist(), strict=True):
                        found[j].append((score * t.weight, t.token))
            for j, options in enumerate(found):
                if options:
                    out[j].append((as_typed(c.label, query), max(options)[1]))
        return [tuple(b) for b in out]

    def _pinned(self, text: str, allowed: npt.NDArray[np.bool_] | None) -> list[str]:
        groups = []
        for m in _QUERY_URL.finditer(text):
            key = self._link_groups.get(link_key(m.group(0).rstrip(".,;:!?'\"。，）)")), "")
            members = self._groups.get(key)
            if not members or key in groups:
                continue
            if allowed is not None and not any(allowed[self._doc_ids[d.entry.key]] for d in members):
                continue
            groups.append(key)
        return groups

    def _same_link(self, group: str, primary: Issue) -> tuple[Issue, ...]:
        if group.startswith("entry:"):
            return ()
        seen: dict[str, Issue] = {}
        for d in self._groups.get(group, ()):
            if d.issue.id != primary.id:
                seen.setdefault(d.issue.id, d.issue)
        return tuple(seen.values())

    def _browse(self, issues: tuple[Issue, ...], k: int,
                allowed: npt.NDArray[np.bool_] | None = None) -> tuple[Hit, ...]:
        hits = []
        for issue in issues:
            for e in sorted(issue.entries, key=lambda e: (not e.feature, e.position)):
                if allowed is not None and not allowed[self._doc_ids[e.key]]:
                    continue
                snippet, _ = make_snippet(e.summary or e.title, ())
                hits.append(Hit(e, issue, 0.0, snippet, (), self._same_link(self._by_key[e.key].group, issue)))
        return tuple(hits[:k])

    # -- issues: the commands look issues up through the engine they already hold -------------------

    def entry_by_link(self, url: str) -> Entry | None:
        """The first entry that has ``url`` among its links (by link identity), from the index built for the
        links a question names; None when no entry has it."""
        docs = self._groups.get(self._link_groups.get(link_key(url), ""))
        return docs[0].entry if docs else None

    def find_issue(self, text: str) -> Issue:
        """One issue from what a person typed (see :meth:`IssueDirectory.find_issue`)."""
        return self.directory.find_issue(text)

    def suggest_ids(self, text: str, limit: int = 5) -> list[str]:
        """Ids of the issues whose label or title is closest to ``text``."""
        return self.directory.suggest_ids(text, limit)

    def named_by(self, text: str) -> list[Issue]:
        """The newsletter issues, newest first, that ``text`` names exactly (reference, label, id)."""
        return self.directory.named_by(text)

    def cache_payload(self, result: SearchResult) -> dict[str, Any]:
        """A JSON-able form of a result for the query cache (entries by key, issues by id)."""
        return {
            "hits": [
                {"entry": h.entry.key, "score": h.score, "snippet": h.snippet,
                 "highlights": [list(s) for s in h.highlights], "also_in": [i.id for i in h.also_in],
                 "bridges": [list(b) for b in h.bridges]}
                for h in result.hits
            ],
            "terms": [[t.token, t.weight, t.source] for t in result.terms],
            "issues": [i.id for i in result.issues],
            "notice": result.notice,
        }

    def from_cache(self, query: str, payload: Any) -> SearchResult | None:
        """Rebuild a cached result; None if anything in it no longer exists (then it is a miss)."""
        try:
            hits = []
            for h in payload["hits"]:
                d = self._by_key[h["entry"]]
                also = tuple(self.directory.by_id(i) for i in h["also_in"])
                bridges = tuple((str(a), str(b)) for a, b in h.get("bridges", ()))
                hits.append(Hit(d.entry, d.issue, float(h["score"]), str(h["snippet"]),
                                tuple((int(a), int(b)) for a, b in h["highlights"]), also, bridges))
            terms = tuple(WeightedTerm(str(t), float(w), str(s)) for t, w, s in payload["terms"])
            issues = tuple(self.directory.by_id(i) for i in payload["issues"])
            notice = payload["notice"]
        except (KeyError, TypeError, ValueError):
            return None
        return SearchResult(query, tuple(hits), terms, issues, notice, cached=True)


_QUERY_URL = re.compile(r"https?://[^\s<>()\[\]【】（）]+", re.IGNORECASE)


def _join(first: str | None, second: str) -> str:
    return f"{first} {second}" if first else second


def _build_index(docs: list[_Doc], texts: dict[str, str], settings: SearchSettings, analyzer: Analyzer,
                 progress: bool) -> tuple[BM25Index, list[_Doc]]:
    """Build the BM25 index from the token store, tokenizing what it lacks; also return the docs tokenized now."""
    store = TokenStore(settings.analyzer.cache_dir, analyzer.fingerprint)
    try:
        known = store.get_many([d.text_hash for d in docs])
        missing = [d for d in docs if d.text_hash not in known]
        if missing:
            fresh = tokenize_all(analyzer, [texts[d.entry.key] for d in missing], workers=settings.workers,
                                 progress=progress)
            new = {d.text_hash: toks for d, toks in zip(missing, fresh, strict=True)}
            store.put_many(new)
            known.update(new)
        log.info("index: %d entries, %d tokenized now, %d from the token store",
                 len(docs), len(missing), len(docs) - len(missing))
    finally:
        store.close()
    # The index holds what ranking needs; the token lists are dropped when this returns.
    return BM25Index.build([known[d.text_hash] for d in docs], k1=settings.k1, b=settings.b,
                           delta=settings.delta), missing
