"""Parse one markdown file into an :class:`~retrieval.models.Issue`.

Two kinds of file come in:

* **newsletter issues** of Akira's Machine Learning News (Chinese MT of the Medium posts): the
  原文 URL's slug contains ``akiras-ml-news`` or ``akiras-machine-learning-news`` (or, with no 原文
  line, the title looks like one). Their items become entries, with section, feature flag, URL and
  a cleaned summary; number, week, month and date come from the slug, the title and the intro.
* **any other markdown article** (``kind="document"``): one entry per heading section.

Layouts (see ``notes/corpus.md`` §3–4 for the quirks this handles):

* Era A (2020 – 2021 week 8): ``# 1.机器学习论文`` / ``# 2.技术文章`` / ``# 3.机器学习用例的例子`` /
  ``# 4.其他主题``; each item is a ``#``/``##`` heading; features are the ``每周编辑精选`` bullets.
* Era B (2021 week 9 – issue 34): ``# 1.本周特稿/新闻`` … ``# 5.其他主题``; an item is a heading or
  a *link line* (``[**title**](url)**——**[**arxiv.org**](url)``), features are section 1's items.

Sections are matched by name, never by number or count. Decisions worth knowing:

* **URL** of an entry: the first web link of its header (the heading or link line), else the first
  link or bare URL of its body, in reading order; images never count. For papers this is the arXiv
  link, because the header links to the paper and the body cites it first.
* **date**: read from the intro, else derived from the week or month, else estimated from the
  number (see :mod:`retrieval.parse.metadata`).

Everything is line-based and no regex backtracks without bound, so time grows linearly with the
input (the tests parse 5 MB of synthetic debris).

Modules, in the order a file goes through them:

* :mod:`~retrieval.parse.lines`: the file as lines, its title and 原文 link, code and embed-card lines;
* :mod:`~retrieval.parse.segment`: a newsletter body cut into items and 编辑精选 picks (a state machine);
* :mod:`~retrieval.parse.entries`: items and picks made entries (titles, links, summaries, features);
* :mod:`~retrieval.parse.metadata`: an issue's number, week, month and date;
* :mod:`~retrieval.parse.document`: any other file, one entry per heading section.
"""


from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from retrieval.errors import ParseError
from retrieval.models import Issue
from retrieval.parse.document import document_entries
from retrieval.parse.entries import build_entries
from retrieval.parse.generic import parse_generic
from retrieval.parse.lines import Head, fallback_title, line_kinds, prepare, read_head, stem_id
from retrieval.parse.metadata import issue_date, issue_id_of, metadata, slug_of
from retrieval.parse.segment import section_for, segment
from retrieval.profile import Profile, compiled, load_profile

__all__ = ["ParseError", "issue_id_of", "parse_markdown", "section_for", "slug_of"]

_MEDIUM = "https://medium.com"


def parse_markdown(text: str, *, path: str = "", profile: Profile | None = None) -> Issue:
    """Parse a markdown file into an :class:`Issue` (a newsletter issue or a generic document).

    ``profile`` says the newsletter's layout (:mod:`retrieval.profile`); None is Akira's, as it always was. A
    generic-layout profile goes to :func:`retrieval.parse.generic.parse_generic`.

    Raises :class:`ParseError` only when there is nothing usable (empty, whitespace or markup only).

    >>> md = "# 2020 年第 41 周\\n\\n> 原文：<https://medium.com/x/akiras-ml-news-week41-2020-0a1b2c3d4e5f?s=1>\\n\\n"
    >>> md += "本期是 2020 年第 41 周(10 月 4 日~)。\\n\\n# 1.机器学习论文\\n\\n# 把大模型压缩成小模型\\n\\n"
    >>> md += "*Small Models* [https://arxiv.org/abs/2010.00001](https://arxiv.org/abs/2010.00001)\\n\\n一项研究。\\n"
    >>> issue = parse_markdown(md)
    >>> issue.id, issue.kind, issue.label, issue.date
    ('akiras-ml-news-week41-2020-0a1b2c3d4e5f', 'issue', '2020-W41', datetime.date(2020, 10, 4))
    >>> [(e.section, e.title, e.url) for e in issue.entries]
    [('papers', '把大模型压缩成小模型', 'https://arxiv.org/abs/2010.00001')]
    >>> parse_markdown("# Notes\\n\\nSome text.", path="docs/notes.md").entries[0].summary
    'Some text.'
    """
    if profile is not None and profile.layout != "akira":
        issue = parse_generic(text, path=path, profile=profile)
        if issue.kind == "document":
            return parse_markdown(text, path=path)  # an article in a folder of articles reads as it always has
        return issue
    profile = profile or load_profile("akira")
    other = next(((r.label, r.label_en) for r in profile.sections if r.key == "other"), ("", ""))
    lines = prepare(text)
    head = read_head(lines)
    slug = slug_of(head.source_url) if head.source_url else ""
    issue_id = (issue_id_of(head.source_url) if head.source_url else "") or stem_id(path, text)
    title = head.title or fallback_title(lines, head.body_start, path)
    if not title:
        raise ParseError("no heading and no text")
    is_issue = _hit(profile.match.files, slug) if head.source_url else (
        _hit(profile.match.title, title) or _hit(profile.match.files, path)
    )
    if is_issue:
        # Without a 原文 line, a file named after the slug still carries the number and week.
        issue = _parse_issue(lines, head, issue_id, title, slug or issue_id, profile)
        if issue.entries:
            return issue
        # An unknown (or damaged) layout still yields its text, one entry per heading section.
        entries = document_entries(lines, head, issue_id, title, other)
        if not entries and not head.title:
            raise ParseError("no heading and no text")
        return dataclasses.replace(issue, entries=entries)
    entries = document_entries(lines, head, issue_id, title, other)
    if not entries and not head.title:
        raise ParseError("no heading and no text")
    return Issue(id=issue_id, title=title, source_url=head.source_url, kind="document", entries=entries)


def _hit(pattern: str, text: str) -> bool:
    return bool(pattern) and bool(compiled(pattern).search(text))


def _parse_issue(lines: Sequence[str], head: Head, issue_id: str, title: str, slug: str,
                 profile: Profile) -> Issue:
    kinds = line_kinds(lines, head.body_start)
    # The newsletter lives on Medium: its site-relative links ("](/analytics-vidhya/…)") are Medium's.
    base = head.source_url or _MEDIUM
    items, picks = segment(lines, kinds, head.body_start, base, profile)
    entries = build_entries(issue_id, items, picks, base, profile)
    number, year, week, month = metadata(slug, title, lines, head.body_start)
    date, estimated = issue_date(lines, head.body_start, number, year, week, month)
    if year is None and date is not None and not estimated:
        year = date.year
    return Issue(
        id=issue_id, title=title, source_url=head.source_url, kind="issue", entries=entries,
        number=number, year=year, week=week, month=month, date=date, date_estimated=estimated,
    )
