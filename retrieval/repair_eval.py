"""Measure mojibake repair on the seed articles of the shared corpus.

The corpus is read at run time and nothing from it is stored. Three measurements:

* **in_archive**: seed ``000`` (real lossy cp1254 mojibake) repaired with the context of every ``akira/``
  issue except its clean twin (the file whose text equals seed ``001``);
* **alone**: seed ``000`` with the dictionary-only model (jieba's dictionary plus ``userdict`` when given);
* **holdout**: seed ``003`` corrupted with the same recipe, repaired with the context of every ``akira/``
  issue except its own twin.

Accuracy is ``1 - Levenshtein(repaired, truth) / len(truth)`` in characters. Throughput is UTF-8 bytes of
damaged input per second of :func:`~retrieval.repair.repair_text`, the model builds excluded (they are
reported on their own; the dictionary build is memoised, so it is only measured when this process has not
built it yet).
"""

from __future__ import annotations

import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from retrieval.charlm import CharLM
from retrieval.repair import repair_text

__all__ = ["accuracy", "corrupt_cp1254", "evaluate_seed_repair"]


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


def evaluate_seed_repair(corpus_dir: Path, userdict: Path | None = None) -> dict[str, float]:
    """Accuracies, damaged/filled/uncertain counts and KB/s for the three measurements above.

    ``userdict`` is the jieba user dictionary the repair model adds to jieba's (the product passes its own,
    ``config/userdict.txt``); None measures jieba's dictionary alone.
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
    return metrics
