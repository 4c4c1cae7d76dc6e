"""jieba's dictionary for one :class:`~retrieval.text.Analyzer`, read part by part as words need it.

jieba keeps every word of its dictionary, and every prefix of one, in one dict (``Tokenizer.FREQ``, about 580,000
entries): unmarshalling it is about a quarter of a second of every start-up, while answering the first question
reads a few hundred of its entries. So the dictionary is also saved split by first character (every lookup jieba
makes is of a fragment of the text, so it starts with one of the text's characters), and a start-up reads only the
index of parts; a part is added to the dict jieba reads when a text first holds its character
(:class:`SplitDictionary`). A bulk tokenization (an index build) adds every part first.

The split file is made from the dictionary jieba loaded, with the user words added (its name says which), the first
time, and used only when it names the same jieba version and dictionary file (size and modification time) and its
checksum holds; anything else is ignored and made again, like jieba's own cache beside it.
"""

from __future__ import annotations

import logging
import marshal
import os
import tempfile
import threading
import zlib
from importlib import resources
from pathlib import Path

from retrieval._jieba import jieba

log = logging.getLogger(__name__)

FORMAT = 1


class SplitDictionary:
    """jieba's ``FREQ`` (word or prefix -> count) as one plain dict, :attr:`freq`, filled part by part: before jieba
    looks at a text, :meth:`ensure` adds the parts of its characters (every fragment jieba looks up starts with one
    of them). jieba keeps reading the same dict object, at dict speed; parts are only ever added, with the counts
    they were saved with, so a lookup that raced another thread's load finds what a whole load would have.

    >>> d = SplitDictionary({"中": marshal.dumps({"中": 5, "中文": 3, "中华": 0}), "英": marshal.dumps({"英": 1})})
    >>> d.freq
    {}
    >>> d.ensure("中文")
    >>> sorted(d.freq.items())
    [('中', 5), ('中华', 0), ('中文', 3)]
    >>> d.load_all()
    >>> len(d.freq), d.complete
    (4, True)
    """

    __slots__ = ("_loaded", "_loader", "_parts", "complete", "freq")

    def __init__(self, parts: dict[str, bytes]) -> None:
        self._parts = parts
        self._loaded: set[str] = set()
        self._loader: threading.Thread | None = None
        self.freq: dict[str, int] = {}
        self.complete = False

    def ensure(self, text: str) -> None:
        """Add the parts of ``text``'s characters."""
        if self.complete:
            return
        for first in set(text) - self._loaded:
            raw = self._parts.get(first)
            if raw is not None:
                self.freq.update(marshal.loads(raw))
            self._loaded.add(first)

    def load_all(self) -> None:
        """Add every part (before tokenizing many texts)."""
        if not self.complete:
            self.ensure("".join(self._parts))
            self.complete = True

    def load_all_later(self) -> threading.Thread | None:
        """Add every part in a thread of its own, once; returns that thread (None when there is nothing to add).

        Loading parts as questions need them costs the early questions about a millisecond each (hundreds of
        parts), so once a first answer is out, the rest of the dictionary is read in the background.

        >>> d = SplitDictionary({"中": marshal.dumps({"中": 5})})
        >>> d.load_all_later().join()
        >>> d.complete, d.load_all_later()
        (True, None)
        """
        if self.complete or self._loader is not None:
            return None
        self._loader = threading.Thread(target=self.load_all, name="jieba-dictionary", daemon=True)
        self._loader.start()
        return self._loader


def _stamp() -> str:
    """What the split file must have been made from: jieba's version and its dictionary file as the disk has it."""
    dict_file = resources.files("jieba").joinpath("dict.txt")
    try:
        st = os.stat(str(dict_file))
        where = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        where = "?"
    return f"jieba={getattr(jieba, '__version__', '?')};dict={where}"


def load_split(path: Path) -> tuple[SplitDictionary, int] | None:
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
    return SplitDictionary(parts), total


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
