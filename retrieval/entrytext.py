"""What the index holds of an entry (its text) and what it points at (its link group): pure functions of the
parsed entry, shared by the engine and the measures."""

from __future__ import annotations

import re

from retrieval.links import link_key
from retrieval.models import Entry, Issue


def entry_text(entry: Entry, issue: Issue) -> str:
    """The text indexed for an entry: the title (with its byline) twice, as titles are short and say what matters,
    then the summary, the embed cards' text and an arXiv id.

    >>> e = Entry("i", 0, "papers", "不用乘法的矩阵乘积", "https://arxiv.org/abs/2106.10860", "用查表代替乘法。")
    >>> entry_text(e, Issue("i", "第 31 期", None, "issue", ()))
    '不用乘法的矩阵乘积\\n不用乘法的矩阵乘积\\n用查表代替乘法。\\n2106.10860'
    """
    title = entry.title + entry.byline
    parts = [title, title, entry.summary, entry.cards]
    if entry.url:
        arxiv = _ARXIV_RE.search(entry.url)
        if arxiv:
            parts.append(arxiv.group(1))
    return "\n".join(p for p in parts if p)


_ARXIV_RE = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})")


def link_group(entry: Entry) -> str:
    """The identity of what an entry points at, so one paper in several issues is listed once.

    >>> link_group(Entry("a", 0, "papers", "t", "https://arxiv.org/pdf/2106.10860v1.pdf", ""))
    'arxiv:2106.10860'
    >>> link_group(Entry("a", 3, "papers", "t", None, ""))
    'entry:a#3'
    """
    if not entry.url:
        return f"entry:{entry.key}"
    return link_key(entry.url)
