"""Reading a markdown file as lines: the title and 原文 link at its top, and which lines are code or embed cards.

Every other step of the parser works on the lines :func:`prepare` returns, from the line :func:`read_head` says
the body starts at, skipping or grouping the lines :func:`line_kinds` marks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from retrieval.errors import ParseError
from retrieval.links import strip_tracking
from retrieval.markdown import clean_inline, strip_controls

HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CARD_OPEN = re.compile(r"\[##(?:[ \t]|$)")
# The line that closes a card: text without "[" and then "](url)".
_CARD_CLOSE = re.compile(r"^[^\[]*\]\([^()\s]*\)")
_CARD_MAX_LINES = 8
_LEADING_CARD = re.compile(r"\[\]\([^()\s]*\)\s*(?=\[##)")
_SOURCE_LABEL = re.compile(r"^>\s*(?:原文|来源|原文链接|source)\s*[：:]", re.IGNORECASE)
_SOURCE_URL = re.compile(r"<(https?://[^<>\s]+)>|\]\((https?://[^()\s]+)\)|(https?://\S+)")
_HTML_COMMENT_OPEN = "<!--"
_HTML_COMMENT_CLOSE = "-->"
_STEM_SAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class Head:
    """What the top of a file says: its title, its 原文 link, and the line its body starts at."""

    title: str
    source_url: str | None
    body_start: int


def prepare(text: str) -> list[str]:
    """The file's lines, with line endings, BOM, control characters and a leading HTML comment gone.

    >>> prepare("\\ufeff<!--yml\\ntitle: x\\n-->\\n# 标题\\r\\n正文")
    ['', '# 标题', '正文']
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = strip_controls(text)
    stripped = text.lstrip()
    # ezyang's files open with a "<!--yml … -->" block before the title.
    if stripped.startswith(_HTML_COMMENT_OPEN):
        end = stripped.find(_HTML_COMMENT_CLOSE)
        text = stripped[end + len(_HTML_COMMENT_CLOSE):] if end >= 0 else stripped[len(_HTML_COMMENT_OPEN):]
    if not text.strip():
        raise ParseError("empty document")
    return text.split("\n")


def read_head(lines: Sequence[str]) -> Head:
    """The title heading, the 原文 URL under it (tracking suffix removed), and where the body starts."""
    i = _next_nonblank(lines, 0)
    title = ""
    body_start = i
    if i < len(lines):
        m = HEADING.match(lines[i])
        if m:
            title = clean_inline(m.group(2) or "")
            body_start = i + 1
    source_url, source_line = _find_source(lines, body_start)
    if source_url:
        # The issue link readers are shown: without Medium's ?source=collection_archive… tracking suffix.
        source_url = strip_tracking(source_url)
    if source_line >= 0:
        body_start = source_line + 1
    return Head(title, source_url, body_start)


def _find_source(lines: Sequence[str], start: int) -> tuple[str | None, int]:
    """The 原文 / 来源 URL from the blockquote under the title, and its line."""
    candidates: list[tuple[int, str]] = []
    seen = 0
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line:
            continue
        seen += 1
        if seen > 6:
            break
        if not line.startswith(">"):
            continue
        m = _SOURCE_URL.search(line)
        if not m:
            continue
        url = next(g for g in m.groups() if g)
        if _SOURCE_LABEL.match(line):
            return url, i
        # Mojibake turns "原文：" into Latin debris; a short label before the URL still marks the line.
        if m.start() <= 24:
            candidates.append((i, url))
    if candidates:
        i, url = candidates[0]
        return url, i
    return None, -1


def _next_nonblank(lines: Sequence[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def stem_id(path: str, text: str) -> str:
    """The id of a file without a 原文 link: its file name, else a hash of its text.

    >>> stem_id("docs/My Notes (draft).md", "x"), stem_id("", "x")
    ('My-Notes-draft', 'doc-11f6ad8ec52a')
    """
    stem = _STEM_SAFE.sub("-", PurePath(path).stem).strip("-") if path else ""
    if stem:
        return stem
    return "doc-" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def fallback_title(lines: Sequence[str], start: int, path: str) -> str:
    """The title of a file with no title heading: its first text line (cut short), else its file name."""
    for i in range(start, min(len(lines), start + 50)):
        t = clean_inline(lines[i])
        if t:
            return t[:80]
    return clean_inline(PurePath(path).stem) if path else ""


def line_kinds(lines: Sequence[str], start: int) -> list[str]:
    """Per line: "fence" (code), "card" (inside a Medium embed card), or "" (ordinary markdown)."""
    kinds = [""] * len(lines)
    fence = ""
    i = start
    while i < len(lines):
        line = lines[i]
        fm = _FENCE.match(line)
        if fence:
            kinds[i] = "fence"
            if fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
                fence = ""
            i += 1
            continue
        if fm:
            fence = fm.group(1)
            kinds[i] = "fence"
            i += 1
            continue
        om = _CARD_OPEN.search(line)
        if om and not HEADING.match(line):
            end = _card_end(lines, i, om.end())
            if end >= 0:
                for j in range(i, end + 1):
                    kinds[j] = "card"
                i = end + 1
                continue
        i += 1
    return kinds


def split_cards(block: str) -> list[str]:
    """A run of chained embed cards, one string per card (its ``[](url)`` opener included).

    >>> split_cards("[](https://a.io/1) [## 一\\n\\n### x\\n\\na.io](https://a.io/1) [](https://b.io/2) [## 二\\n\\nb.io](https://b.io/2)")
    ['[](https://a.io/1) [## 一\\n\\n### x\\n\\na.io](https://a.io/1)', '[](https://b.io/2) [## 二\\n\\nb.io](https://b.io/2)']
    """
    starts = [m.start() for m in _LEADING_CARD.finditer(block)] or [0]
    if starts[0] != 0 and not block[: starts[0]].strip():
        starts[0] = 0
    bounds = [*starts[1:], len(block)]
    return [block[a:b].strip() for a, b in zip(starts, bounds, strict=True) if block[a:b].strip()]


def _card_end(lines: Sequence[str], i: int, col: int) -> int:
    """The line closing the card opened at ``lines[i][col:]``, following chained cards; -1 if none."""
    end = -1
    j = i
    rest = lines[i][col:]
    budget = _CARD_MAX_LINES
    while True:
        k = rest.find("](")
        if k >= 0:
            end = j
            # Cards chain on one line ("…](url) [](url2) [## next"): keep going if another opens.
            om = _CARD_OPEN.search(rest, k)
            if om is None:
                return end
            rest = rest[om.end():]
            budget = _CARD_MAX_LINES
            continue
        j += 1
        budget -= 1
        if j >= len(lines) or budget <= 0:
            return end
        line = lines[j]
        if _CARD_CLOSE.match(line):
            rest = line
            continue
        hm = HEADING.match(line)
        if _CARD_OPEN.search(line) or (hm and len(hm.group(1)) < 3):
            return end
