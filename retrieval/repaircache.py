"""Repaired texts in SQLite, keyed by the damaged file's content and the repair model's fingerprint.

Repairing a 1.3 MB damaged file takes over a minute, and the result depends only on the damaged text and the
model (the repair and model code, jieba's dictionary, our user dictionary, the clean context texts). So the
loader looks a repair up here first, like the search index's token store. Every stored text carries its own
checksum: a damaged, truncated or foreign cache file degrades to repairing again, never to a wrong text.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from retrieval import charlm, repair
from retrieval.repair import RepairResult

log = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS repairs (
    key TEXT PRIMARY KEY, text TEXT NOT NULL, text_sha TEXT NOT NULL, codepage TEXT,
    damaged INTEGER NOT NULL, filled INTEGER NOT NULL, uncertain INTEGER NOT NULL)"""


def model_fingerprint(userdict: Path | None, context: Sequence[str]) -> str:
    """Everything the repair of a given text depends on, hashed. A change to any of it is a cache miss.

    The code of the repair and of its model is part of it, so a new release never reuses an old answer.
    """
    h = hashlib.sha256()
    for module in (repair, charlm):
        h.update(Path(module.__file__ or "").read_bytes())
    h.update(metadata.version("jieba").encode())
    h.update(userdict.read_bytes() if userdict is not None and userdict.is_file() else b"-")
    for text in context:
        h.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class RepairCache:
    """``get`` / ``put`` repaired texts; any SQLite trouble is logged once per call and treated as a miss."""

    def __init__(self, cache_dir: Path, fingerprint: str) -> None:
        self.path = cache_dir / "repairs.sqlite3"
        self.fingerprint = fingerprint
        self._conn: sqlite3.Connection | None = None
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path)
            try:
                conn.execute(_SCHEMA)
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
        except sqlite3.DatabaseError as err:
            log.warning("repair cache %s unusable (%s); starting a new one", self.path, err)
            self._reset()
        except (sqlite3.Error, OSError) as err:
            log.warning("repair cache %s unavailable (%s); repairing without it", self.path, err)

    def _reset(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
            conn = sqlite3.connect(self.path)
            conn.execute(_SCHEMA)
            self._conn = conn
        except (sqlite3.Error, OSError) as err:
            log.warning("repair cache %s cannot be recreated (%s); repairing without it", self.path, err)

    def _key(self, damaged_text: str) -> str:
        return hashlib.sha256(f"{self.fingerprint}:{_sha(damaged_text)}".encode()).hexdigest()

    def get(self, damaged_text: str) -> RepairResult | None:
        if self._conn is None:
            return None
        try:
            row = self._conn.execute("SELECT text, text_sha, codepage, damaged, filled, uncertain FROM repairs "
                                     "WHERE key = ?", (self._key(damaged_text),)).fetchone()
        except sqlite3.Error as err:
            log.warning("repair cache %s unreadable (%s); repairing again", self.path, err)
            return None
        if row is None:
            return None
        text, text_sha, codepage, damaged, filled, uncertain = row
        if not isinstance(text, str) or _sha(text) != text_sha:
            log.warning("repair cache %s: a stored repair fails its checksum; repairing again", self.path)
            return None
        return RepairResult(text, codepage, int(damaged), int(filled), int(uncertain))

    def put(self, damaged_text: str, result: RepairResult) -> None:
        if self._conn is None:
            return
        try:
            with self._conn:
                self._conn.execute(
                    "INSERT OR REPLACE INTO repairs (key, text, text_sha, codepage, damaged, filled, uncertain) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self._key(damaged_text), result.text, _sha(result.text), result.codepage, result.damaged,
                     result.filled, result.uncertain))
        except sqlite3.Error as err:
            log.warning("repair cache %s not writable (%s); repair not saved", self.path, err)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
