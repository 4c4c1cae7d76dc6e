"""Search result snippets: the window of an entry's text that shows the most matched terms, and their spans;
and a bridged concept as the reader typed it.

Pure string work (no jieba, no numpy), so it is cheap to import and to doctest.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

SNIPPET_CHARS = 160

Spans = tuple[tuple[int, int], ...]


def make_snippet(text: str, terms: Iterable[str], width: int = SNIPPET_CHARS) -> tuple[str, Spans]:
    """The window of ``text`` with the most matched terms, and the spans of those terms in it.

    >>> make_snippet("这篇论文提出了不用乘法的矩阵乘积方法，速度快很多。", ["乘法", "矩阵"], width=12)
    ('…了不用乘法的矩阵乘积方法…', ((4, 6), (7, 9)))
    >>> make_snippet("ViT is robust to patch drops.", ["vit"])
    ('ViT is robust to patch drops.', ((0, 3),))
    >>> make_snippet("", ["x"])
    ('', ())
    """
    if not text:
        return "", ()
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for term in {t.lower() for t in terms if t.strip()}:
        start = lowered.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = lowered.find(term, start + len(term))
    spans = _merge_spans(spans)
    if len(text) <= width:
        return text, tuple(spans)
    best_start, best_count = 0, -1
    # Merged spans are sorted and disjoint, so both their starts and their ends ascend: the spans inside a window
    # are those from the first starting in it to the last ending in it (two bisections, not a scan per window).
    starts, ends = [a for a, _ in spans], [b for _, b in spans]
    for s, _ in spans or [(0, 0)]:
        begin = max(0, min(s - width // 4, len(text) - width))
        count = max(0, bisect_right(ends, begin + width) - bisect_left(starts, begin))
        if count > best_count:
            best_start, best_count = begin, count
    end = best_start + width
    prefix = "…" if best_start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - best_start
    inside = tuple((a + shift, b + shift) for a, b in spans if a >= best_start and b <= end)
    return prefix + text[best_start:end] + suffix, inside


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def surface_terms(tokens: Iterable[str]) -> list[str]:
    """The tokens worth highlighting in a snippet.

    Very short Latin tokens (e.g. "a") would light up every word; they still count for ranking.

    >>> surface_terms(["a", "vit", "图"])
    ['vit', '图']
    """
    return [t for t in tokens if len(t) > 1 or not t.isascii()]


def as_typed(label: str, query: str) -> str:
    """The words of a concept as the reader typed them (its label is normalized: lower case, simplified).

    >>> as_typed("clip", "OpenAI CLIP 的论文"), as_typed("self attention", "Self-Attention 是什么")
    ('CLIP', 'Self-Attention')
    >>> as_typed("变压器", "變壓器")
    '变压器'

    """
    words = label.split(" ")
    pattern = r"[\s\-_]*".join(re.escape(w) for w in words)
    m = re.search(pattern, query, re.IGNORECASE) if query else None
    return m.group(0) if m else label
