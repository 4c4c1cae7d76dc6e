"""jieba's accurate mode with HMM (``Tokenizer.cut(run, HMM=True)``) for one run of common CJK ideographs, faster.

Tokenizing is most of a cold index build, and most of tokenizing is jieba's ``get_DAG`` and ``calc``: one dict
of prefixes per start position, then a generator and a tuple per edge for the best route. :func:`cut_han` finds
the same route in one backward pass over the run, scoring each edge as jieba does, with the same floating-point
operations in the same order (``log(freq) - log(total) + route``) and the same tie rule (the longer word wins),
so its words are jieba's words: ``tests/unit/test_segment.py`` compares them, and the analyzer's fingerprint is
unchanged because its tokens are. Runs holding anything but U+4E00..U+9FD5 (the only characters jieba segments
in one block) are left to jieba itself, as is the unknown-word model (``jieba.finalseg``).
"""

from __future__ import annotations

import re
from math import log
from typing import Any

from retrieval._jieba import jieba

__all__ = ["cut_han"]

_HAN_BLOCK = re.compile("[\u4e00-\u9fd5]+")
"""jieba's ``re_han_default`` less the ASCII it also accepts: a run of these is one block to jieba."""


def cut_han(tk: Any, run: str) -> list[str]:
    """The words of ``tk.cut(run, HMM=True)``, ``tk`` an initialized ``jieba.Tokenizer``.

    >>> tk = jieba.Tokenizer()
    >>> tk.initialize()
    >>> cut_han(tk, "我们提出了一种自监督学习方法") == list(tk.cut("我们提出了一种自监督学习方法"))
    True
    >>> cut_han(tk, "㐀的𠀀") == list(tk.cut("㐀的𠀀"))  # outside jieba's block: jieba's own cut
    True
    """
    if not _HAN_BLOCK.fullmatch(run):
        return list(tk.cut(run, HMM=True))
    freq: dict[str, int] = tk.FREQ
    get = freq.get
    logtotal = log(tk.total)
    n = len(run)
    # jieba's calc(): route[i] = max((score of run[i:x+1] + route[x+1], x) for x in DAG[i]).
    score = [0.0] * (n + 1)
    end = list(range(n + 1))
    for start in range(n - 1, -1, -1):
        best = 0.0
        found = False
        i = start
        f = get(run[start])
        while f is not None:  # get_DAG(): extend while the fragment is a prefix in the dictionary
            if f:
                s = log(f) - logtotal + score[i + 1]
                if not found or s >= best:  # on a tie, max() over (score, x) keeps the larger x
                    best, end[start], found = s, i, True
            i += 1
            if i >= n:
                break
            f = get(run[start:i + 1])
        if not found:  # a lone character: jieba scores it log(1) - log(total)
            best = 0.0 - logtotal + score[start + 1]
        score[start] = best
    return _words(run, end, get)


def _words(run: str, end: list[int], get: Any) -> list[str]:
    """jieba's ``__cut_DAG`` walk: single characters gather in a buffer, which the HMM cuts when it is not a word."""
    out: list[str] = []
    buf = ""
    x = 0
    n = len(run)
    while x < n:
        y = end[x] + 1
        if y - x == 1:
            buf += run[x]
        else:
            if buf:
                _flush(buf, out, get)
                buf = ""
            out.append(run[x:y])
        x = y
    if buf:
        _flush(buf, out, get)
    return out


def _flush(buf: str, out: list[str], get: Any) -> None:
    if len(buf) == 1:
        out.append(buf)
    elif not get(buf):
        # The HMM's cut depends on the characters alone (and on jieba's global force-split words, which only
        # deleting a word sets), and the same unknown names come back again and again in an archive.
        if jieba.finalseg.Force_Split_Words:  # someone deleted a word from some jieba: no memo
            out.extend(jieba.finalseg.cut(buf))
            return
        words = _HMM_MEMO.get(buf)
        if words is None:
            words = tuple(jieba.finalseg.cut(buf))
            if len(_HMM_MEMO) >= _HMM_MEMO_SIZE:
                _HMM_MEMO.clear()
            _HMM_MEMO[buf] = words
        out.extend(words)
    else:
        out.extend(buf)


_HMM_MEMO: dict[str, tuple[str, ...]] = {}
_HMM_MEMO_SIZE = 50_000
