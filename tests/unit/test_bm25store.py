"""The saved BM25 index: a round trip answers exactly as the built index; anything stale, truncated, damaged or of
another version is refused (so the caller rebuilds). The corpora are made up for the test."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from retrieval.bm25 import BM25Index, unit_weights
from retrieval.bm25store import MAGIC, index_key, index_path, load_index, save_index
from retrieval.measure.bm25_bench import sample_queries, zipf_corpus

DOCS = zipf_corpus(300, vocab_size=400, mean_len=12, seed=3)
KEY = index_key("fp", (1.5, 0.75, 1.0), [str(i) for i in range(len(DOCS))])


@pytest.fixture
def saved(tmp_path: Path) -> tuple[BM25Index, Path]:
    index = BM25Index.build(DOCS)
    path = index_path(tmp_path, "f" * 40, "/archive")
    save_index(index, path, KEY)
    return index, path


def test_round_trip_answers_identically(saved: tuple[BM25Index, Path]) -> None:
    index, path = saved
    loaded = load_index(path, KEY)
    assert loaded is not None
    assert loaded.n_docs == index.n_docs
    assert loaded.vocabulary_size == index.vocabulary_size
    for q in sample_queries(DOCS, 40, skip_top=0, seed=5):
        assert loaded.top_k(unit_weights(q), 10) == index.top_k(unit_weights(q), 10)
        assert loaded.top_k_concepts([unit_weights(q)], 5, tie=0.2) == index.top_k_concepts([unit_weights(q)], 5,
                                                                                             tie=0.2)
    for mine, theirs in zip(loaded.state()[1].values(), index.state()[1].values(), strict=True):
        assert mine.dtype == theirs.dtype
        assert np.array_equal(mine, theirs)
        assert not mine.flags.writeable


def test_another_key_is_stale(saved: tuple[BM25Index, Path]) -> None:
    _, path = saved
    other = index_key("fp", (1.5, 0.75, 1.0), [str(i) for i in range(len(DOCS) - 1)])
    assert load_index(path, other) is None
    assert load_index(path, index_key("fp", (1.2, 0.75, 1.0), [str(i) for i in range(len(DOCS))])) is None


def test_truncated_file_is_refused(saved: tuple[BM25Index, Path]) -> None:
    _, path = saved
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 20, 0):
        path.write_bytes(data[:cut])
        assert load_index(path, KEY) is None


def test_damaged_byte_is_refused(saved: tuple[BM25Index, Path]) -> None:
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01  # inside the impacts: still a well-formed file, but not the one that was written
    path.write_bytes(bytes(data))
    assert load_index(path, KEY) is None


def test_another_format_version_is_refused(saved: tuple[BM25Index, Path]) -> None:
    _, path = saved
    data = path.read_bytes()
    (n,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    header = json.loads(data[start:start + n])
    header["version"] += 1
    new = json.dumps(header).encode().ljust(n)  # same length, so the data stays where it was
    path.write_bytes(data[:start] + new + data[start + n:])
    assert load_index(path, KEY) is None
    path.write_bytes(b"something else entirely" + data[len(MAGIC):])
    assert load_index(path, KEY) is None


def test_missing_file_and_unwritable_folder(tmp_path: Path) -> None:
    assert load_index(tmp_path / "none.idx", KEY) is None
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    save_index(BM25Index.build(DOCS), blocker / "sub" / "x.idx", KEY)  # logged, not raised
    assert not (blocker / "sub").exists()
