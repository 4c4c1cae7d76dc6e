"""Tokenized entry texts: the persistent token store and the process pool that fills it.

Tokenizing is the slow part of an index build (jieba, about a millisecond an entry), so tokens are kept in
SQLite keyed by text hash and tokenizer fingerprint, and a cold build spreads the work over worker
processes. The workers import only this module and :mod:`retrieval.text`, not the engine.
"""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from retrieval.text import Analyzer, AnalyzerConfig

log = logging.getLogger(__name__)

_SEP = "\x1f"
"""Between the tokens of one text, in the store and from a worker (no token holds a control character)."""
BULK_MIN_DOCS = 200
"""From this many entries to tokenize, jieba's whole dictionary is merged first (see :mod:`retrieval.jiebadict`)."""
PARALLEL_MIN_DOCS = 4000
"""Below this many entries to tokenize, worker start-up (jieba loads in each) costs more than it saves."""


class TokenStore:
    """Tokenized entry texts in SQLite, keyed by text hash, one file per tokenizer fingerprint."""

    def __init__(self, cache_dir: Path, analyzer_fingerprint: str) -> None:
        self.path = cache_dir / f"tokens-{analyzer_fingerprint[:16]}.sqlite3"
        self._conn: sqlite3.Connection | None = None
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path)
            conn.execute("CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, tokens TEXT NOT NULL)")
            self._conn = conn
        except (sqlite3.Error, OSError) as err:
            # The store only saves work; without it we tokenize everything.
            log.warning("token store %s unavailable (%s); tokenizing from scratch", self.path, err)
            self._drop_broken(err)

    def _drop_broken(self, err: Exception) -> None:
        if isinstance(err, sqlite3.DatabaseError) and "not a database" in str(err):
            self.path.unlink(missing_ok=True)

    def get_many(self, hashes: Sequence[str]) -> dict[str, list[str]]:
        if self._conn is None:
            return {}
        found: dict[str, list[str]] = {}
        try:
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for h, toks in self._conn.execute(f"SELECT hash, tokens FROM tokens WHERE hash IN ({marks})", chunk):
                    found[h] = _intern(toks.split(_SEP)) if toks else []
        except sqlite3.Error as err:
            log.warning("token store %s unreadable (%s); tokenizing again", self.path, err)
            return {}
        return found

    def put_many(self, items: dict[str, list[str]]) -> None:
        if self._conn is None or not items:
            return
        try:
            with self._conn:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO tokens(hash, tokens) VALUES (?, ?)",
                    [(h, _SEP.join(t)) for h, t in items.items()],
                )
        except sqlite3.Error as err:
            log.warning("token store %s not writable (%s); tokens not saved", self.path, err)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_worker_analyzer: Analyzer | None = None


def _init_worker(config: AnalyzerConfig) -> None:
    global _worker_analyzer
    _worker_analyzer = Analyzer(config)
    _worker_analyzer.for_bulk()


def _tokenize_chunk(texts: list[str]) -> list[str]:
    # Each text's tokens joined as the store keeps them: one string pickles far faster than a list of many.
    assert _worker_analyzer is not None
    return [_SEP.join(_worker_analyzer.index_tokens(t)) for t in texts]


def _intern(tokens: list[str]) -> list[str]:
    # Unpickled or split tokens are fresh objects each time; one shared object per distinct token saves
    # most of the memory of a large index build.
    return [sys.intern(t) for t in tokens]


def tokenize_all(analyzer: Analyzer, texts: list[str], *, workers: int, progress: bool) -> list[list[str]]:
    """Tokenize many texts, in ``workers`` processes when there are enough to pay for their start-up."""
    from tqdm import tqdm  # here, not at the top: a start-up that finds every entry in the token store needs none

    bar = tqdm(total=len(texts), desc="tokenizing", unit="entry", file=sys.stderr, disable=not progress,
               leave=False)
    try:
        if workers <= 1 or len(texts) < PARALLEL_MIN_DOCS:
            if len(texts) >= BULK_MIN_DOCS:
                analyzer.for_bulk()
            out = []
            for t in texts:
                out.append(analyzer.index_tokens(t))
                bar.update(1)
            return out
        chunk = 500
        chunks = [texts[i:i + chunk] for i in range(0, len(texts), chunk)]
        results: list[list[str]] = []
        # spawn, not fork: the bot reindexes while aiosqlite and discord.py threads are running.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(analyzer.config,)) as pool:
            for part in pool.map(_tokenize_chunk, chunks):
                results.extend(_intern(joined.split(_SEP)) if joined else [] for joined in part)
                bar.update(len(part))
        return results
    finally:
        bar.close()
