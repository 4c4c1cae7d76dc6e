"""Measure mojibake repair on the seed articles of the shared corpus.

The corpus is read at run time and nothing from it is stored. Three measurements on the seeds:

* **in_archive**: seed ``000`` (real lossy cp1254 mojibake) repaired with the context of every ``akira/``
  issue except its clean twin (the file whose text equals seed ``001``);
* **alone**: seed ``000`` with the dictionary-only model (jieba's dictionary plus ``userdict`` when given);
* **holdout**: seed ``003`` corrupted with the same recipe, repaired with the context of every ``akira/``
  issue except its own twin.

and, on request, a fourth that does not hang on one article:

* **cross-validation** (:func:`cross_validate`): every other ``akira/`` issue is corrupted with the same recipe and
  repaired with the rest of the archive as context (leave one out), which measures the same model on some
  17,000 damaged characters instead of 496. Both seed twins are left out, so the seed numbers stay unseen.

Accuracy is ``1 - Levenshtein(repaired, truth) / len(truth)`` in characters. Throughput is UTF-8 bytes of
damaged input per second of :func:`~retrieval.repair.repair_text`, the model builds excluded (they are
reported on their own; the dictionary build is memoised, so it is only measured when this process has not
built it yet).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

from retrieval.charlm import CharLM
from retrieval.repair import repair_text

__all__ = ["accuracy", "corrupt_cp1254", "cross_validate", "evaluate_seed_repair"]


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


_cv_texts: tuple[str, ...] = ()
_cv_userdict: Path | None = None


def _cv_init(texts: tuple[str, ...], userdict: Path | None) -> None:
    global _cv_texts, _cv_userdict
    _cv_texts, _cv_userdict = texts, userdict


def _cv_fold(i: int) -> _Fold:
    truth = _cv_texts[i]
    lm = CharLM.from_jieba(_cv_userdict).with_context(t for j, t in enumerate(_cv_texts) if j != i)
    result = repair_text(corrupt_cp1254(truth), lm)
    return _Fold(len(truth), result.damaged, Levenshtein.distance(result.text, truth))


def cross_validate(texts: Sequence[str], userdict: Path | None = None, workers: int = 2) -> dict[str, float]:
    """Leave-one-out repair of ``texts``: each is corrupted with :func:`corrupt_cp1254` and repaired with the others
    as the model's context. Texts the recipe leaves intact (no lost bytes) are not counted.

    Returns ``cv_documents``, ``cv_characters``, ``cv_damaged``, ``cv_errors`` (Levenshtein, summed),
    ``cv_accuracy`` (over all characters), ``cv_damaged_accuracy`` (``1 - errors / damaged``) and
    ``cv_worst_accuracy`` (the worst document). Folds run in ``workers`` spawned processes; each builds the
    dictionary model once (about a second).
    """
    frozen = tuple(texts)
    if workers > 1 and len(frozen) > 1:
        ctx = multiprocessing.get_context("spawn")  # no fork: the caller may hold threads (the bot's loop)
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_cv_init, initargs=(frozen, userdict)) as pool:
            folds = list(pool.map(_cv_fold, range(len(frozen))))
    else:
        _cv_init(frozen, userdict)
        folds = [_cv_fold(i) for i in range(len(frozen))]
    counted = [f for f in folds if f.damaged]
    chars = sum(f.characters for f in counted)
    damaged = sum(f.damaged for f in counted)
    errors = sum(f.errors for f in counted)
    return {
        "cv_documents": float(len(counted)),
        "cv_characters": float(chars),
        "cv_damaged": float(damaged),
        "cv_errors": float(errors),
        "cv_accuracy": 1.0 - errors / chars if chars else 1.0,
        "cv_damaged_accuracy": 1.0 - errors / damaged if damaged else 1.0,
        "cv_worst_accuracy": min((1.0 - f.errors / f.characters for f in counted), default=1.0),
    }


def evaluate_seed_repair(
    corpus_dir: Path, userdict: Path | None = None, *, cross_validation: bool = False, workers: int = 2
) -> dict[str, float]:
    """Accuracies, damaged/filled/uncertain counts and KB/s for the measurements above.

    ``userdict`` is the jieba user dictionary the repair model adds to jieba's (the product passes its own,
    ``config/userdict.txt``); None measures jieba's dictionary alone. ``cross_validation`` adds the
    leave-one-out figures of :func:`cross_validate` over the archive minus both seed twins.
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
    if cross_validation:
        others = [t for t in archive if t not in (truth, holdout_truth)]
        started = time.perf_counter()
        metrics |= cross_validate(others, userdict, workers)
        metrics["cv_seconds"] = time.perf_counter() - started
    return metrics
