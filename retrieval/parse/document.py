"""Plain markdown documents (not newsletter issues), and issues whose layout the segmenter does not know.

Such a file becomes one entry per heading section, all in the section keyed ``other``; the text
under the title is the title's own section. Headings inside code and embed cards do not cut sections.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.markdown import clean_block, clean_inline, find_urls, is_separator
from retrieval.models import Entry
from retrieval.parse.lines import HEADING, Head, line_kinds


def document_entries(lines: Sequence[str], head: Head, issue_id: str, title: str,
                     labels: tuple[str, str] = ("", "")) -> tuple[Entry, ...]:
    """One entry per heading section with text; its URL is the first link of its text.

    >>> lines = ["# 笔记", "", "开头。", "## 第二节", "见 [这里](https://example.com/a)。", "## 空节", ""]
    >>> [(e.title, e.url, e.summary) for e in document_entries(lines, Head("笔记", None, 1), "d", "笔记")]
    [('笔记', None, '开头。'), ('第二节', 'https://example.com/a', '见 这里。')]
    """
    kinds = line_kinds(lines, head.body_start)
    sections: list[tuple[str, list[str]]] = [(title, [])]
    for i in range(head.body_start, len(lines)):
        line = lines[i]
        m = None if kinds[i] else HEADING.match(line)
        if m and not is_separator(m.group(2) or ""):
            heading = clean_inline(m.group(2) or "")
            if heading:
                sections.append((heading, []))
                continue
        sections[-1][1].append(line)
    entries: list[Entry] = []
    for heading, body in sections:
        text = "\n".join(body)
        summary = clean_block(text)
        if not summary:
            continue
        urls = find_urls(text, head.source_url)
        entries.append(Entry(issue_id, len(entries), "other", heading, urls[0] if urls else None, summary,
                             section_label=labels[0], section_label_en=labels[1]))
    return tuple(entries)
