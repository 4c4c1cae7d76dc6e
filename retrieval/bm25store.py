"""A built :class:`~retrieval.bm25.BM25Index` saved to one file, so that a restart maps it instead of rebuilding it.

The file sits beside the token store. Its layout: an 8-byte magic, a little-endian u64 header length, a JSON
header, then each array's bytes at a 64-byte aligned offset. The header records the format version, the *key*
(a digest of everything the index depends on: the tokenizer fingerprint, the BM25 parameters and the ordered
text hashes of the entries), each array's dtype, shape and offset, the file's total size and a BLAKE2b digest of
everything after the header. :func:`load_index` maps the file read-only and returns ``None`` (the caller rebuilds)
when anything is off: another version or key (stale), a size that does not match the header (truncated), or
a digest that does not match (damaged). A saved index is never trusted beyond what these checks prove.

Writes go to a temporary file in the same folder, fsynced, then renamed over the old one, so a crash leaves
either the old file or the new one, never a half-written one under the real name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.bm25 import BM25Index

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: float32 gains instead of float64 impacts
MAGIC = b"NBBM25\x00\x01"
_ALIGN = 64
_ARRAYS = ("idf", "offsets", "doc_ids", "tf", "doc_len", "norm", "gain", "gain_max")


def index_key(analyzer_fingerprint: str, params: Iterable[float], text_hashes: Iterable[str]) -> str:
    """The digest a saved index must carry to be used: it changes when any input of the build changes.

    >>> index_key("a", (1.5, 0.75, 1.0), ["h1", "h2"]) == index_key("a", (1.5, 0.75, 1.0), ["h1", "h2"])
    True
    >>> index_key("a", (1.5, 0.75, 1.0), ["h1", "h2"]) == index_key("a", (1.5, 0.75, 1.0), ["h2", "h1"])
    False
    """
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"v{FORMAT_VERSION}\x00{analyzer_fingerprint}\x00{[float(p) for p in params]!r}".encode())
    for h in text_hashes:
        digest.update(b"\x00")
        digest.update(h.encode())
    return digest.hexdigest()


def index_path(cache_dir: Path, analyzer_fingerprint: str, archive_root: str) -> Path:
    """One file per tokenizer and archive, beside the token store (``tokens-….sqlite3``): a new build of the same
    archive replaces it, and archives sharing a cache folder do not overwrite each other's.

    >>> index_path(Path("c"), "f" * 40, "/srv/a") != index_path(Path("c"), "f" * 40, "/srv/b")
    True
    """
    where = hashlib.blake2b(archive_root.encode(), digest_size=6).hexdigest()
    return cache_dir / f"bm25-{analyzer_fingerprint[:16]}-{where}.idx"


def _pad(n: int) -> int:
    return -n % _ALIGN


def save_index(index: BM25Index, path: Path, key: str) -> None:
    """Write ``index`` to ``path`` atomically. Failure to write is logged, not raised: the file only saves time."""
    vocab, arrays, scalars = index.state()
    vocab_bytes = json.dumps(vocab, ensure_ascii=False).encode("utf-8")
    layout: list[dict[str, Any]] = []
    offset = 0
    blobs: list[bytes | memoryview] = []
    parts: list[tuple[str, bytes | npt.NDArray[Any]]] = [("vocab", vocab_bytes)]
    parts += [(n, np.ascontiguousarray(arrays[n])) for n in _ARRAYS]
    for name, data in parts:
        entry: dict[str, Any] = {"name": name, "offset": offset}
        if isinstance(data, bytes):
            raw: bytes | memoryview = data
        else:
            raw = data.data.cast("B")  # the array's own buffer, no copy
            entry.update(dtype=data.dtype.str, shape=list(data.shape))
        entry["nbytes"] = len(raw)
        layout.append(entry)
        blobs += [raw, b"\x00" * _pad(len(raw))]
        offset += len(raw) + _pad(len(raw))
    digest = hashlib.blake2b(digest_size=20)
    for blob in blobs:
        digest.update(blob)
    header = json.dumps({"version": FORMAT_VERSION, "key": key, "scalars": scalars, "layout": layout,
                         "data_bytes": offset, "digest": digest.hexdigest()}).encode()
    head = MAGIC + struct.pack("<Q", len(header)) + header
    head += b"\x00" * _pad(len(head))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(head)
                for blob in blobs:
                    f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        log.warning("could not save the search index to %s (%s); the next start rebuilds it", path, err)


def load_index(path: Path, key: str) -> BM25Index | None:
    """The index saved at ``path`` under ``key``, memory-mapped; ``None`` if it is missing, stale, truncated or
    damaged (logged), so that the caller rebuilds it."""
    try:
        with path.open("rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:  # ValueError: an empty file cannot be mapped
        log.warning("saved search index %s unreadable (%s); rebuilding", path, err)
        return None
    why = ""
    try:
        index, why = _parse(mapped, key)
    except (ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError) as err:
        index, why = None, f"malformed ({err})"
    if index is None:
        log.info("saved search index %s not used: %s; rebuilding", path, why)
    return index


def _parse(mapped: mmap.mmap, key: str) -> tuple[BM25Index | None, str]:
    if mapped[: len(MAGIC)] != MAGIC:
        return None, "not an index file of this version"
    (header_len,) = struct.unpack_from("<Q", mapped, len(MAGIC))
    start = len(MAGIC) + 8
    header = json.loads(bytes(mapped[start:start + header_len]))
    if header.get("version") != FORMAT_VERSION:
        return None, f"format version {header.get('version')!r}, expected {FORMAT_VERSION}"
    if header.get("key") != key:
        return None, "built from other entries or settings"
    base = start + header_len + _pad(start + header_len)
    if len(mapped) != base + int(header["data_bytes"]):
        return None, f"size {len(mapped)} bytes, expected {base + int(header['data_bytes'])} (truncated?)"
    view = memoryview(mapped)[base:]
    digest = hashlib.blake2b(view, digest_size=20).hexdigest()
    if digest != header["digest"]:
        return None, "checksum mismatch (damaged)"
    parts: dict[str, npt.NDArray[Any]] = {}
    vocab: list[str] = []
    for entry in header["layout"]:
        lo, n = int(entry["offset"]), int(entry["nbytes"])
        if entry["name"] == "vocab":
            vocab = json.loads(bytes(view[lo:lo + n]).decode("utf-8"))
            continue
        dtype = np.dtype(entry["dtype"])
        parts[entry["name"]] = np.frombuffer(view, dtype=dtype, count=n // dtype.itemsize, offset=lo).reshape(
            entry["shape"])
    s = header["scalars"]
    index = BM25Index(vocab=vocab, idf=parts["idf"], offsets=parts["offsets"], doc_ids=parts["doc_ids"],
                      tf=parts["tf"], doc_len=parts["doc_len"], avgdl=s["avgdl"], k1=s["k1"], b=s["b"],
                      delta=s["delta"], derived=parts)
    return index, ""
