"""jieba's dictionary for one :class:`~retrieval.text.Analyzer`, read part by part as words need it.

jieba keeps every word of its dictionary, and every prefix of one, in one dict (``Tokenizer.FREQ``, about 580,000
entries): unmarshalling it is about a quarter of a second of every start-up, while answering the first question
reads a few hundred of its entries. So the dictionary is also saved split by first character (every lookup jieba
makes is of a fragment of the text, so it knows its first character), and a start-up reads only the index of
parts; a part is unmarshalled when a word first needs it (:class:`FirstCharDict`). A bulk tokenization (an index
build) first merges every part into one plain dict (:func:`materialize`), as fast as jieba's own.

The split file is made from the dictionary jieba loaded, with the user words added (its name says which), the first
time, and used only when it names the same jieba version and dictionary file (size and modification time) and its
checksum holds; anything else is ignored and made again, like jieba's own cache beside it.
"""

from __future__ import annotations

import logging
import marshal
import os
import tempfile
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from retrieval._jieba import jieba

log = logging.getLogger(__name__)

FORMAT = 1


class FirstCharDict:
    """jieba's ``FREQ`` (word or prefix -> count) whose parts, one per first character, are unmarshalled on first use.

    >>> d = FirstCharDict({"中": marshal.dumps({"中": 5, "中文": 3, "中华": 0})})
    >>> "中文" in d, d["中文"], d.get("中华"), d.get("英"), "英" in d
    (True, 3, 0, None, False)
    >>> d["英文"] = 2
    >>> sorted(d), len(d)
    (['中', '中华', '中文', '英文'], 4)
    """

    __slots__ = ("_loaded", "_parts")

    def __init__(self, parts: dict[str, bytes]) -> None:
        self._parts = parts
        self._loaded: dict[str, dict[str, int]] = {}

    def _part(self, key: str) -> dict[str, int]:
        first = key[:1]
        part = self._loaded.get(first)
        if part is None:
            raw = self._parts.get(first)
            part = marshal.loads(raw) if raw is not None else {}
            self._loaded[first] = part
        return part

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._part(key)

    def __getitem__(self, key: str) -> int:
        return self._part(key)[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._part(key).get(key, default)

    def __setitem__(self, key: str, value: int) -> None:
        self._part(key)[key] = value

    def __iter__(self) -> Iterator[str]:
        for first in sorted(self._parts.keys() | self._loaded.keys()):
            yield from self._part(first)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def merged(self) -> dict[str, int]:
        """Every part in one plain dict."""
        out: dict[str, int] = {}
        for first in self._parts.keys() | self._loaded.keys():
            out.update(self._part(first))
        return out


def materialize(tk: Any) -> None:
    """Give ``tk`` (a ``jieba.Tokenizer``) its dictionary as one plain dict, for tokenizing many texts."""
    freq = tk.FREQ
    if isinstance(freq, FirstCharDict):
        tk.FREQ = freq.merged()


def _stamp() -> str:
    """What the split file must have been made from: jieba's version and its dictionary file as the disk has it."""
    dict_file = resources.files("jieba").joinpath("dict.txt")
    try:
        st = os.stat(str(dict_file))
        where = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        where = "?"
    return f"jieba={getattr(jieba, '__version__', '?')};dict={where}"


def load_split(path: Path) -> tuple[FirstCharDict, int] | None:
    """The saved dictionary and its total count, or None when the file is missing, damaged or from elsewhere."""
    try:
        fmt, stamp, total, crc, blob = marshal.loads(path.read_bytes())
        if fmt != FORMAT or stamp != _stamp() or not isinstance(total, int) or zlib.crc32(blob) != crc:
            return None
        parts = marshal.loads(blob)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(parts, dict):
        return None
    return FirstCharDict(parts), total


def save_split(path: Path, freq: dict[str, int], total: int) -> None:
    """Save ``freq`` split by first character beside jieba's cache; a folder that cannot be written only costs that."""
    groups: dict[str, dict[str, int]] = {}
    for word, count in freq.items():
        groups.setdefault(word[:1], {})[word] = count
    blob = marshal.dumps({first: marshal.dumps(words) for first, words in groups.items()})
    data = marshal.dumps((FORMAT, _stamp(), total, zlib.crc32(blob), blob))
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jieba-split-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as err:
        log.info("could not save jieba's split dictionary to %s: %s", path, err)
