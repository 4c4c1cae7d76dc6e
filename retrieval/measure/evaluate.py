"""Retrieval quality: MRR@5 and Recall@5 of newsbot against a naive baseline, on four question sets.

* the **dev** set (``questions/dev.toml``, 53 questions) was written while the ranking was tuned: tune on it;
* the **held-out-2** set (``questions/heldout2.toml``, 58 questions) was written blind in the same way, from targets
  223-292, after the ranking changes of session 4 were made and before they were measured on it: a second
  reading of the number a reader meets, never tuned on either;
* the **dev-blind** set (``questions/dev_blind.toml``, 134 questions) was written blind like the held-out set, from
  the targets drawn after the held-out set's: it is what to tune on once the dev set is saturated, because a
  change that helps only on questions written by the tuner does not help readers;
* the **held-out** set (``questions/heldout.toml``) was written blind, by someone with only the archive in hand,
  from randomly drawn items (``tests/support/eval/draw_heldout.py``): it is the number a reader meets, so it is reported
  first, and only as aggregates (overall, by language, by kind) when deciding about a technique.

Both files ship inside the package, so an installed ``newsbot eval`` finds them. Each question has a ``lang``
(zh | en | mixed) and a ``kind``: ``named`` (names the method, model or paper), ``idea`` (describes it without
its name) or ``issue`` (names an issue or a date).

The baseline is what one would write first: ``jieba.lcut`` plus ``BM25Okapi`` over the raw markdown
paragraphs of the archive files. Both systems are scored on links (:func:`retrieval.links.link_key`): a ranked
unit (an entry, or a paragraph) is relevant when one of its links is among the question's expected links.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import msgspec
from rank_bm25 import BM25Okapi

from retrieval._jieba import jieba
from retrieval.archive import iter_archive_files, read_archive_file
from retrieval.errors import BadFileError
from retrieval.links import link_key, strip_tracking
from retrieval.measure.explain import Explanation
from retrieval.models import Archive
from retrieval.search import SearchEngine
from retrieval.settings import OutOfRange, Ranking, SearchSettings, WrongType, parse

K = 5
LANGS = ("zh", "en", "mixed")
KINDS = ("named", "idea", "issue")
GROUPS = ("all", *LANGS, *KINDS)
"""The columns of every report: all questions, then each language, then each kind."""
QUESTIONS_DIR = Path(str(resources.files("retrieval.measure").joinpath("questions")))
QUESTION_SETS = {"held-out": QUESTIONS_DIR / "heldout.toml", "held-out-2": QUESTIONS_DIR / "heldout2.toml",
                 "dev": QUESTIONS_DIR / "dev.toml", "dev-blind": QUESTIONS_DIR / "dev_blind.toml"}
"""Akira's shipped question sets, the two held-out ones first (the figure a reader meets), then the two to tune on."""


def question_sets(profile: str) -> dict[str, Path]:
    """The shipped question sets of an archive read with ``profile``: Akira's four, or a newsletter's own
    held-out and dev sets (``questions/<profile>/``, written blind like Akira's), held-out first; {} for a
    newsletter that has none.

    >>> list(question_sets("akira")), list(question_sets("this-week-in-rust")), question_sets("nope")
    (['held-out', 'held-out-2', 'dev', 'dev-blind'], ['held-out', 'dev'], {})
    """
    if profile == "akira":
        return dict(QUESTION_SETS)
    folder = QUESTIONS_DIR / profile
    if not profile or folder.parent != QUESTIONS_DIR:  # a profile name is never a path out of the folder
        return {}
    found = {"held-out": folder / "heldout.toml", "dev": folder / "dev.toml"}
    return {name: path for name, path in found.items() if path.is_file()}


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    lang: str
    query: str
    expected: tuple[str, ...]
    kind: str = "named"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question's result: the rank of the first relevant unit (0 = none in the top K) and its recall."""

    question: Question
    first: int
    recall: float


@dataclass(frozen=True, slots=True)
class Scores:
    mrr: float
    recall: float
    misses: tuple[str, ...]
    """Ids of questions with no relevant result in the top K."""
    n: int = 0


def load_questions(path: Path) -> list[Question]:
    """Read a question file; a malformed question raises ``ValueError`` naming it."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    questions = []
    for q in data.get("question", []):
        where = f"{path}: question {q.get('id', '?')!r}"
        lang, kind = q.get("lang", "?"), q.get("kind", "named")
        if lang not in LANGS:
            raise ValueError(f"{where}: lang must be one of {', '.join(LANGS)}, not {lang!r}")
        if kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not str(q.get("query", "")).strip() or not q.get("expected"):
            raise ValueError(f"{where}: needs a query and at least one expected link")
        questions.append(Question(q["id"], lang, q["query"], tuple(q["expected"]), kind))
    return questions


def outcomes(questions: Sequence[Question], rank: Callable[[str], list[list[str]]], k: int = K) -> list[Outcome]:
    """Rank every question once: ``rank(query)`` returns the links of each ranked unit, best first."""
    out = []
    for q in questions:
        expected = {link_key(u) for u in q.expected}
        found: set[str] = set()
        first = 0
        for pos, links in enumerate(rank(q.query)[:k], 1):
            hit = expected & {link_key(u) for u in links}
            if hit and not first:
                first = pos
            found |= hit
        out.append(Outcome(q, first, len(found) / len(expected)))
    return out


def aggregate(results: Sequence[Outcome]) -> Scores:
    """MRR@K and Recall@K over some outcomes.

    >>> q = Question("a", "en", "q", ("https://x.org/1",))
    >>> s = aggregate([Outcome(q, 2, 1.0), Outcome(Question("b", "en", "q", ()), 0, 0.0)])
    >>> (s.mrr, s.recall, s.misses, s.n)
    (0.25, 0.5, ('b',), 2)
    """
    n = len(results)
    if not n:
        return Scores(0.0, 0.0, (), 0)
    mrr = sum(1 / r.first for r in results if r.first) / n
    recall = sum(r.recall for r in results) / n
    return Scores(mrr, recall, tuple(r.question.id for r in results if not r.first), n)


def breakdown(results: Sequence[Outcome]) -> dict[str, Scores]:
    """Scores for every column of :data:`GROUPS` (a group without questions has ``n == 0``)."""
    out = {"all": aggregate(results)}
    for lang in LANGS:
        out[lang] = aggregate([r for r in results if r.question.lang == lang])
    for kind in KINDS:
        out[kind] = aggregate([r for r in results if r.question.kind == kind])
    return out


def score(questions: Sequence[Question], rank: Callable[[str], list[list[str]]], k: int = K) -> Scores:
    """MRR@k and Recall@k, where ``rank(query)`` returns the links of each ranked unit, best first.

    >>> qs = [Question("a", "en", "q1", ("https://x.org/1",)), Question("b", "en", "q2", ("https://x.org/2",))]
    >>> runs = {"q1": [["https://x.org/9"], ["https://x.org/1"]], "q2": [["https://x.org/3"]]}
    >>> s = score(qs, lambda q: runs[q])
    >>> (s.mrr, s.recall, s.misses)
    (0.25, 0.5, ('b',))
    """
    return aggregate(outcomes(questions, rank, k))


def format_table(rows: Mapping[str, Mapping[str, Mapping[str, Scores]]]) -> str:
    """A side-by-side table: one block per question set, one row per system, MRR@5 / Recall@5 per group.

    >>> s = Scores(0.5, 1.0, (), 2)
    >>> print(format_table({"dev": {"newsbot": {g: s for g in GROUPS}}}))  # doctest: +ELLIPSIS
    MRR@5 / Recall@5 (questions)  all ...
    dev
      newsbot                     0.500 1.000 (2) ...
    """
    width = 28
    cell = 18
    lines = ["MRR@5 / Recall@5 (questions)".ljust(width + 2) + "".join(g.ljust(cell) for g in GROUPS)]
    for set_name, systems in rows.items():
        lines.append(set_name)
        for system, groups in systems.items():
            cells = []
            for g in GROUPS:
                s = groups.get(g)
                cells.append((f"{s.mrr:.3f} {s.recall:.3f} ({s.n})" if s and s.n else "-").ljust(cell))
            lines.append(f"  {system[:width].ljust(width)}" + "".join(cells).rstrip())
    return "\n".join(lines)


def newsbot_ranker(engine: SearchEngine, k: int = K, *, all_links: bool = True) -> Callable[[str], list[list[str]]]:
    """newsbot's results as link lists: every link of each entry (as the baseline's paragraphs give every link),
    or with ``all_links=False`` only its main link."""
    def rank(query: str) -> list[list[str]]:
        hits = engine.search(query, k=k).hits
        if all_links:
            return [list(h.entry.all_links) for h in hits]
        return [[h.entry.url] if h.entry.url else [] for h in hits]

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
        links.append(strip_tracking(url))
    return links


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
        variant_settings = msgspec.structs.replace(settings, use_glossary=glossary, use_cedict=cedict)
        variant = SearchEngine.build(archive, variant_settings, analyzer=engine.analyzer)
        out[name] = score(questions, newsbot_ranker(variant))
    out["glossary + cc-cedict"] = score(questions, newsbot_ranker(engine))
    return out


TUNABLE = Ranking.__struct_fields__
"""The ranking settings ``newsbot eval --set NAME=VALUE`` may change (to measure a variant without editing code);
their types and ranges come from :class:`retrieval.settings.Ranking`, so a bad ``--set`` is a usage error up
front, not a traceback mid-run."""


def override_settings(settings: SearchSettings, assignments: Sequence[str]) -> SearchSettings:
    """``settings`` with ``NAME=VALUE`` assignments applied; a bad one raises ``ValueError`` saying why.

    >>> base = SearchSettings(analyzer=None, glossary_path=Path())  # type: ignore[arg-type]
    >>> s = override_settings(base, ["coord=0.5", "dismax=false"])
    >>> s.coord, s.dismax
    (0.5, False)
    >>> override_settings(s, ["k2=1"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --set k2=1: unknown setting; one of k1, b, delta, ..., bridge_floor, english_stemming
    >>> override_settings(s, ["tie=5"])
    Traceback (most recent call last):
    ...
    ValueError: --set tie=5: tie must be between 0 and 1
    """
    changes: dict[str, object] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in TUNABLE:
            raise ValueError(f"--set {item}: unknown setting; one of {', '.join(TUNABLE)}")
        try:
            changes[name] = parse(Ranking, name, value)
        except WrongType as err:
            kind = "true or false" if err.kind == "bool" else "a number"
            raise ValueError(f"--set {item}: {name} is {kind}") from None
        except OutOfRange as err:
            raise ValueError(f"--set {item}: {name} {err}") from None
    return msgspec.structs.replace(settings, **changes)


def find_question(question_id: str, paths: Sequence[Path]) -> Question | None:
    """The question with this id in the first file that has it."""
    for path in paths:
        if not path.is_file():
            continue
        for q in load_questions(path):
            if q.id == question_id:
                return q
    return None


def explanation_json(question: Question, explanation: Explanation) -> dict[str, object]:
    """``newsbot eval --explain ID --json``: what :func:`format_explanation` prints, as data."""
    return {
        "id": question.id, "lang": question.lang, "kind": question.kind, "query": question.query,
        "issues": [i.label for i in explanation.issues],
        "concepts": [{"label": c.label, "terms": [{"token": t.token, "weight": t.weight, "source": t.source}
                                                  for t in c.terms]} for c in explanation.concepts],
        "links": [{"url": link.url, "rank": link.rank, "score": link.score,
                   "entry": link.entry.title if link.entry else None,
                   "issue": link.issue.label if link.issue else None,
                   "terms": [{"concept": label, "token": t.token, "score": score if inside else None}
                             for label, scored in link.concepts for t, score, inside in scored]}
                  for link in explanation.links],
    }


def format_explanation(question: Question, explanation: Explanation) -> str:
    """``newsbot eval --explain ID``: the concepts, their terms with weights, and each expected link's rank with
    the weighted BM25+ score of each term in its best entry (``-``: the entry does not contain it)."""
    lines = [f"{question.id} [{question.lang}, {question.kind}]: {question.query}"]
    if explanation.issues:
        lines.append("restricted to: " + ", ".join(i.label for i in explanation.issues))
    lines.append(f"concepts ({len(explanation.concepts)}):")
    for c in explanation.concepts:
        terms = ", ".join(f"{t.token} {t.weight:g} ({t.source})" for t in c.terms)
        lines.append(f"  {c.label}: {terms}")
    for link in explanation.links:
        where = f"rank {link.rank}" if link.rank else "not in the top results"
        if link.entry is None or link.issue is None:
            lines.append(f"{link.url}: no entry has this link")
            continue
        lines.append(f"{link.url}: {where}, score {link.score:.3f}, in {link.issue.label}: {link.entry.title[:60]}")
        for label, scored in link.concepts:
            parts = ", ".join(f"{t.token} {s:.3f}" if inside else f"{t.token} -" for t, s, inside in scored)
            lines.append(f"  {label}: {parts}")
    return "\n".join(lines)
