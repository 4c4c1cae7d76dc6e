"""English stems for the analyzer: PyStemmer's Snowball English stemmer behind a lock and a cache.

A stem is added as a *sub-word* of the word, never in its place: the word itself still reaches the glossary,
CC-CEDICT and the snippet highlighter, and a query for ``patch`` finds ``patches`` (and the other way round)
through the shared stem.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from importlib import metadata

__all__ = ["EnglishStemmer"]

_MIN_LENGTH = 4
"""Shorter words are left alone: their stems (``us`` from ``use``, ``ai`` ...) would mostly join unrelated words."""


class EnglishStemmer:
    """Snowball English stems of ASCII words, cached; safe to share between threads."""

    def __init__(self) -> None:
        import Stemmer  # here: an archive without stemming (Akira's) never pays for loading it at start-up

        # A PyStemmer object keeps internal state between calls, so calls are serialized.
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self._cache: dict[str, str | None] = {}
        self.version = f"snowball-english/pystemmer={metadata.version('PyStemmer')}/min={_MIN_LENGTH}"

    def stem(self, word: str) -> str | None:
        """The stem of an English word, or None when it has none of its own (not a plain word, or unchanged).

        >>> s = EnglishStemmer()
        >>> s.stem("patches"), s.stem("borrowing"), s.stem("crates"), s.stem("rust"), s.stem("gpt-3"), s.stem("was")
        ('patch', 'borrow', 'crate', None, None, None)
        """
        # One dictionary lookup for a word seen before (most are): tokenizing is the cost of a cold index build.
        try:
            return self._cache[word]
        except KeyError:
            pass
        found: str | None = None
        if len(word) >= _MIN_LENGTH and word.isascii() and word.isalpha():
            with self._lock:
                found = self._stemmer.stemWord(word)
            if found == word or len(found) < 2:
                found = None
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[word] = found
        return found

    def add_stems(self, pairs: Iterable[tuple[str, tuple[str, ...]]]) -> list[tuple[str, tuple[str, ...]]]:
        """``(token, sub_words)`` pairs with each token's stem appended to its sub-words.

        >>> EnglishStemmer().add_stems([("patches", ()), ("gpt-3", ("gpt", "gpt3")), ("rust", ())])
        [('patches', ('patch',)), ('gpt-3', ('gpt', 'gpt3')), ('rust', ())]
        """
        stem = self.stem
        return [(token, subwords if (s := stem(token)) is None or s in subwords else (*subwords, s))
                for token, subwords in pairs]
