"""``newsbot eval``'s report: every question set scored for newsbot and the baseline, as text or JSON.

Built here, beside what it measures (:mod:`retrieval.measure.evaluate`), so the command line only parses its
options and prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.links import link_key
from retrieval.measure.evaluate import (
    Question,
    Scores,
    ablations,
    baseline_ranker,
    breakdown,
    format_table,
    newsbot_ranker,
    outcomes,
)
from retrieval.models import Archive
from retrieval.search import SearchEngine, SearchSettings

Table = dict[str, dict[str, dict[str, Scores]]]
"""``{set name: {system: {group: scores}}}``."""


@dataclass(frozen=True, slots=True)
class EvalReport:
    archive: Archive
    sets: Mapping[str, Sequence[Question]]
    table: Table
    misses: Mapping[str, list[str]]


def evaluate_sets(archive: Archive, engine: SearchEngine, settings: SearchSettings, baseline_dir: Path,
                  sets: Mapping[str, Sequence[Question]], *, with_ablations: bool = False) -> EvalReport:
    """Score every set: newsbot (any link of an entry, and its main link only), the baseline, and optionally
    each bilingual bridge on its own."""
    baseline = baseline_ranker(baseline_dir)
    table: Table = {}
    misses: dict[str, list[str]] = {}
    for name, questions in sets.items():
        ours = breakdown(outcomes(questions, newsbot_ranker(engine)))
        # An entry answers when any of its links is expected (as a baseline paragraph does); the second row counts
        # only the link each answer leads with.
        table[name] = {"newsbot": ours,
                       "newsbot, main link only": breakdown(outcomes(questions, newsbot_ranker(engine,
                                                                                           all_links=False))),
                       "baseline": breakdown(outcomes(questions, baseline))}
        misses[name] = list(ours["all"].misses)
        if with_ablations:
            for variant, s in ablations(archive, settings, questions, engine).items():
                table[name][f"newsbot, {variant}"] = {"all": s}
    return EvalReport(archive, sets, table, misses)


def report_json(report: EvalReport) -> str:
    return json.dumps({name: {system: {g: {"mrr@5": s.mrr, "recall@5": s.recall, "n": s.n}
                                       for g, s in groups.items()} for system, groups in systems.items()}
                       | {"misses": report.misses[name]} for name, systems in report.table.items()},
                      ensure_ascii=False, indent=2)


def report_text(report: EvalReport) -> str:
    sets, archive = report.sets, report.archive
    lines = [f"{', '.join(f'{len(q)} {n} questions' for n, q in sets.items())} over {archive.root}; "
             "baseline = jieba.lcut + BM25Okapi over raw paragraphs"]
    # The shipped questions are about the real archive: on another one, say why the scores collapse.
    known = {link_key(u) for e in archive.entries for u in e.all_links}
    for name, questions in sets.items():
        absent = sum(1 for q in questions if not any(link_key(u) in known for u in q.expected))
        if absent:
            lines.append(f"note: {absent} of {len(questions)} {name} questions expect links that no entry of this "
                         "archive has, so they count as misses (a question set is written for one archive)")
    lines.append(format_table(report.table))
    for name, missed in report.misses.items():
        lines.append(f"newsbot misses ({name}): {shown_misses(name, missed) or 'none'}")
    return "\n".join(lines)


def shown_misses(set_name: str, missed: Sequence[str]) -> str:
    """The misses of a set as printed: held-out misses are only counted, since reading them one by one is how a
    blind set stops being blind.

    >>> shown_misses("held-out", ["h1", "h2"]), shown_misses("dev", ["d1", "d2"])
    ('2 (ids with --json)', 'd1 d2')
    >>> shown_misses("questions/heldout.toml", ["h1"])
    '1 (ids with --json)'
    """
    held_out = set_name.startswith("held-out") or "heldout" in Path(set_name).name
    return f"{len(missed)} (ids with --json)" if held_out else " ".join(missed)
