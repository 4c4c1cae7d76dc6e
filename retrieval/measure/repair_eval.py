"""Measure mojibake repair on the seed articles of the shared corpus.

The corpus is read at run time and nothing from it is stored. Three measurements on the seeds:

* **in_archive**: seed ``000`` (real lossy cp1254 mojibake) repaired with the context of every ``akira/``
  issue except its clean twin (the file whose text equals seed ``001``);
* **alone**: seed ``000`` with the dictionary-only model (jieba's dictionary plus ``userdict`` when given);
* **holdout**: seed ``003`` corrupted with the same recipe, repaired with the context of every ``akira/``
  issue except its own twin.

and, on request, two that do not hang on one article:

* **cross-validation** (:func:`cross_validate`): every other ``akira/`` issue is corrupted with the same recipe and
  repaired with the rest of the archive as context (leave one out), which measures the same model on some
  17,000 damaged characters instead of 496. Both seed twins are left out, so the seed numbers stay unseen;
* **stress** (:func:`repair_elsewhere`): articles of ``stress/`` (other authors and topics) corrupted the same way
  and repaired with that archive as context, with and without the one-sense-per-discourse step.

Accuracy is ``1 - Levenshtein(repaired, truth) / len(truth)`` in characters. Throughput is UTF-8 bytes of
damaged input per second of :func:`~retrieval.repair.repair_text`, the model builds excluded (they are
reported on their own; the dictionary build is memoised, so it is only measured when this process has not
built it yet).
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

from retrieval.charlm import CharLM
from retrieval.repair import repair_text

__all__ = ["accuracy", "corrupt_cp1254", "cross_validate", "evaluate_seed_repair", "repair_elsewhere", "stress_sample"]


def corrupt_cp1254(text: str) -> str:
    """The corruption of seed 000: UTF-8 read as cp1254, undefined bytes and soft hyphens dropped.

    >>> corrupt_cp1254("不错")
    'ä¸é”™'
    """
    return text.encode("utf-8").decode("cp1254", errors="ignore").replace("\u00ad", "")


def accuracy(repaired: str, truth: str) -> float:
    """``1 - Levenshtein / len(truth)``.

    >>> accuracy("机器学习", "机器学习"), accuracy("机器字习", "机器学习")
    (1.0, 0.75)
    """
    return 1.0 - Levenshtein.distance(repaired, truth) / max(len(truth), 1)


def _seed(corpus_dir: Path, prefix: str) -> str:
    (path,) = sorted((corpus_dir / "seeds").glob(f"{prefix}_*.txt"))
    return path.read_text(encoding="utf-8")


def _run(name: str, damaged: str, truth: str, lm: CharLM) -> dict[str, float]:
    started = time.perf_counter()
    result = repair_text(damaged, lm)
    seconds = time.perf_counter() - started
    return {
        f"{name}_accuracy": accuracy(result.text, truth),
        f"{name}_errors": float(Levenshtein.distance(result.text, truth)),
        f"{name}_damaged": float(result.damaged),
        f"{name}_filled": float(result.filled),
        f"{name}_uncertain": float(result.uncertain),
        f"{name}_seconds": seconds,
        f"{name}_kb_per_s": len(damaged.encode("utf-8")) / 1024 / seconds,
    }


class _Fold(NamedTuple):
    characters: int
    damaged: int
    errors: int
    errors_without_agreement: int | None
    """None when the ablation was not asked for."""


class _Job(NamedTuple):
    texts: tuple[str, ...]
    context: tuple[str, ...] | None
    """The model's context for every text, or None for leave-one-out among ``texts``."""
    userdict: Path | None
    ablate: bool


_job: _Job | None = None
_shared_lm: CharLM | None = None
"""The model for a fixed context, built once per process."""


def _init(job: _Job) -> None:
    global _job, _shared_lm
    _job, _shared_lm = job, None


def _fold(i: int) -> _Fold:
    global _shared_lm
    assert _job is not None
    truth = _job.texts[i]
    if _job.context is None:
        lm = CharLM.from_jieba(_job.userdict).with_context(t for j, t in enumerate(_job.texts) if j != i)
    else:
        if _shared_lm is None:
            _shared_lm = CharLM.from_jieba(_job.userdict).with_context(_job.context)
        lm = _shared_lm
    garbled = corrupt_cp1254(truth)
    result = repair_text(garbled, lm)
    without = Levenshtein.distance(repair_text(garbled, lm, agree=False).text, truth) if _job.ablate else None
    return _Fold(len(truth), result.damaged, Levenshtein.distance(result.text, truth), without)


def _run_folds(job: _Job, workers: int) -> list[_Fold]:
    """Every fold of ``job``, damaged texts only, in ``workers`` spawned processes (each builds its models)."""
    if workers > 1 and len(job.texts) > 1:
        ctx = multiprocessing.get_context("spawn")  # no fork: the caller may hold threads (the bot's loop)
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(job,)) as pool:
            folds = list(pool.map(_fold, range(len(job.texts))))
    else:
        _init(job)
        folds = [_fold(i) for i in range(len(job.texts))]
    return [f for f in folds if f.damaged]


def _summary(prefix: str, folds: list[_Fold]) -> dict[str, float]:
    chars = sum(f.characters for f in folds)
    damaged = sum(f.damaged for f in folds)
    errors = sum(f.errors for f in folds)
    out = {
        f"{prefix}_documents": float(len(folds)),
        f"{prefix}_characters": float(chars),
        f"{prefix}_damaged": float(damaged),
        f"{prefix}_errors": float(errors),
        f"{prefix}_accuracy": 1.0 - errors / chars if chars else 1.0,
        f"{prefix}_damaged_accuracy": 1.0 - errors / damaged if damaged else 1.0,
        f"{prefix}_worst_accuracy": min((1.0 - f.errors / f.characters for f in folds), default=1.0),
    }
    ablated = [f.errors_without_agreement for f in folds if f.errors_without_agreement is not None]
    if folds and len(ablated) == len(folds):
        out[f"{prefix}_errors_without_agreement"] = float(sum(ablated))
    return out


def cross_validate(texts: Sequence[str], userdict: Path | None = None, workers: int = 2) -> dict[str, float]:
    """Leave-one-out repair of ``texts``: each is corrupted with :func:`corrupt_cp1254` and repaired with the others
    as the model's context. Texts the recipe leaves intact (no lost bytes) are not counted.

    Returns ``cv_documents``, ``cv_characters``, ``cv_damaged``, ``cv_errors`` (Levenshtein, summed),
    ``cv_accuracy`` (over all characters), ``cv_damaged_accuracy`` (``1 - errors / damaged``) and
    ``cv_worst_accuracy`` (the worst document). Folds run in ``workers`` spawned processes; each builds the
    dictionary model once (about a second).
    """
    return _summary("cv", _run_folds(_Job(tuple(texts), None, userdict, ablate=False), workers))


def stress_sample(paths: Sequence[Path], n: int, *, min_chinese: int = 2_000, max_chars: int = 15_000) -> list[str]:
    """``n`` texts for :func:`repair_elsewhere`: a fixed shuffle of ``paths``, keeping articles with at least
    ``min_chinese`` Chinese characters and at most ``max_chars`` characters in all (typical articles: long ones
    only slow the run down)."""
    order = sorted(paths)
    random.Random(1).shuffle(order)
    picked: list[str] = []
    for path in order:
        if len(picked) == n:
            break
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) <= max_chars and sum(1 for c in text if "\u4e00" <= c <= "\u9fff") >= min_chinese:
            picked.append(text)
    return picked


def repair_elsewhere(
    texts: Sequence[str], context: Sequence[str], userdict: Path | None = None, workers: int = 2
) -> dict[str, float]:
    """Texts from outside the archive, corrupted by the recipe and repaired with the archive as context, with and
    without the one-sense-per-discourse step: the ``stress_*`` figures, named like :func:`cross_validate`'s."""
    return _summary("stress", _run_folds(_Job(tuple(texts), tuple(context), userdict, True), workers))


def evaluate_seed_repair(
    corpus_dir: Path,
    userdict: Path | None = None,
    *,
    cross_validation: bool = False,
    stress: int = 0,
    workers: int = 2,
) -> dict[str, float]:
    """Accuracies, damaged/filled/uncertain counts and KB/s for the measurements above.

    ``userdict`` is the jieba user dictionary the repair model adds to jieba's (the product passes its own,
    ``config/userdict.txt``); None measures jieba's dictionary alone. ``cross_validation`` adds the
    leave-one-out figures of :func:`cross_validate` over the archive minus both seed twins; ``stress`` adds
    :func:`repair_elsewhere` on that many articles of ``stress/`` (:func:`stress_sample`), with that archive as context.
    """
    garbled = _seed(corpus_dir, "000")
    truth = _seed(corpus_dir, "001")
    holdout_truth = _seed(corpus_dir, "003")
    archive = [p.read_text(encoding="utf-8") for p in sorted((corpus_dir / "akira").glob("*.md"))]

    started = time.perf_counter()
    base = CharLM.from_jieba(userdict)
    metrics = {"build_seconds": time.perf_counter() - started}

    started = time.perf_counter()
    in_archive = base.with_context(t for t in archive if t != truth)
    metrics["context_build_seconds"] = time.perf_counter() - started
    holdout = base.with_context(t for t in archive if t != holdout_truth)

    metrics |= _run("in_archive", garbled, truth, in_archive)
    metrics |= _run("alone", garbled, truth, base)
    metrics |= _run("holdout", corrupt_cp1254(holdout_truth), holdout_truth, holdout)
    others = [t for t in archive if t not in (truth, holdout_truth)]
    if cross_validation:
        started = time.perf_counter()
        metrics |= cross_validate(others, userdict, workers)
        metrics["cv_seconds"] = time.perf_counter() - started
    if stress:
        started = time.perf_counter()
        metrics |= repair_elsewhere(stress_sample(list((corpus_dir / "stress").rglob("*.md")), stress), others,
                                    userdict, workers)
        metrics["stress_seconds"] = time.perf_counter() - started
    return metrics
