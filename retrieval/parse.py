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
* **date**: the start date the intro prints (``(9 月 13 日~)``, ``2021 年 7 月 25 日一周``) unless the
  sentence names another week or the date is more than 10 days from the week's ISO Monday (source
  typos: week 48 says 第 47 周, week 39 says 9 月 10 日); else the ISO Monday of (year, week), else
  the 1st of a digest's month. Numbered issues with no date are estimated (``date_estimated``):
  weekly cadence from issue #24 (2021-08-08, the last one that prints a date), but never before the
  month of the newest arXiv id the issue cites.

Everything is line-based and no regex backtracks without bound, so time grows linearly with the
input (the tests parse 5 MB of synthetic debris).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from retrieval.errors import ParseError
from retrieval.links import link_key, same_link, strip_tracking
from retrieval.markdown import (
    card_text,
    clean_block,
    clean_inline,
    find_urls,
    is_domain,
    is_separator,
    strip_asterisks,
    strip_controls,
)
from retrieval.models import Entry, Issue, Section

__all__ = ["ParseError", "parse_markdown", "section_for", "slug_of"]


# -- line shapes --------------------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CARD_OPEN = re.compile(r"\[##(?:[ \t]|$)")
# The line that closes a card: text without "[" and then "](url)".
_CARD_CLOSE = re.compile(r"^[^\[]*\]\([^()\s]*\)")
_CARD_MAX_LINES = 8
_BULLET = re.compile(r"^[ \t]*[*+\-][ \t]+(.*)$")
_LINK_START = re.compile(r"^\[([^\[\]]*)\]\(([^()\s]*)\)")
_HAS_LINK = re.compile(r"\]\((?:https?:|/)")
# Era B link line: "…](url)——[…", "【domain】——[…", "…——【domain】"; the dashes join title and domain.
_DASH_JOIN = re.compile(r"[)】][ \t]*—{1,3}|—{1,3}[ \t]*(?:\[[^\[\]]*\]\(|【)")
_DOMAIN_TAG_START = re.compile(r"^【[^【】]{1,80}】")
_SOURCE_LABEL = re.compile(r"^>\s*(?:原文|来源|原文链接|source)\s*[：:]", re.IGNORECASE)
_SOURCE_URL = re.compile(r"<(https?://[^<>\s]+)>|\]\((https?://[^()\s]+)\)|(https?://\S+)")
_HTML_COMMENT_OPEN = "<!--"
_HTML_COMMENT_CLOSE = "-->"

# -- newsletter vocabulary -----------------------------------------------------------------------------

_NEWSLETTER_SLUG = re.compile(r"akiras-(?:ml|machine-learning)-news", re.IGNORECASE)
_NEWSLETTER_TITLE = re.compile(
    r"(?:akira|阿基拉)\s*的\s*(?:ml|机器学习)\s*新闻|^\s*\d{4}\s*年第\s*\d{1,2}\s*周\s*$", re.IGNORECASE
)
_NUMBERED = re.compile(r"^\s*(\d{1,2})\s*[.．、]\s*(\S.*)$", re.ASCII)
# Synonyms, checked in this order ("机器学习技术相关文章" must not be read as use cases).
_SECTION_SYNONYMS: tuple[tuple[Section, re.Pattern[str]], ...] = (
    (Section.FEATURES, re.compile(r"特稿|本周新闻")),
    (Section.USE_CASES, re.compile(r"用例|应用的?例子|使用\s*cas|现实世界", re.IGNORECASE)),
    (Section.PAPERS, re.compile(r"论文|报纸")),
    (Section.ARTICLES, re.compile(r"文章")),
    (Section.OTHER, re.compile(r"其他|其它")),
)
_PICKS = re.compile(r"编辑精选")
# Headings (and a few paragraphs) after which nothing is an item: past issues, blogs, about, Twitter.
_TAIL = re.compile(
    r"过去的(?:时事通讯|文章)|时事通讯|订阅|其他博客|关于我|推特.{0,16}评|我.{0,12}推特"
    r"|github\s*上.{0,8}论文的摘要"
)
# The author's list of other posts (其他博客) ends the issue, yet its posts are items a reader asks about.
_OTHER_POSTS = re.compile(r"其他博客")
_TAIL_PARAGRAPH = re.compile(r"^\s*我的\s*github\s*上.{0,8}论文的摘要")
_ARXIV_TITLE_LINE = re.compile(r"^\s*[\[【]\s*(?:\d{4}\.\d{4,5}(?:\s*v\d+)?)?\s*[\]】]?\s*(.+)$")
_ARXIV_ID = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|[\[【]\s*)(\d{2})(\d{2})\.\d{4,5}", re.ASCII)
_PICK_NOTE = re.compile(r"[(（]\s*\d\s*[。.．]\s*[^()（）]{1,12}[)）]|[(（]\s*\d\s*[)）]")
_PICK_TAIL = re.compile(r"[。.]?\s*(?:机器学习)?(?:论文|技术文章|其他话题|其他主题|用例\S{0,4})\s*[)）]\s*$")

# -- metadata ------------------------------------------------------------------------------------------

_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
_SLUG_NUMBER = re.compile(r"news-(?:issue-)?(\d{1,3})-[0-9a-f]{6,}$", re.ASCII)
_SLUG_WEEK = re.compile(r"week-?(\d{1,2})-(\d{4})", re.ASCII)
_SLUG_MONTH = re.compile(r"(" + "|".join(_MONTHS) + r")-(\d{4})")
_TITLE_NUMBER = re.compile(
    r"第\s*(\d{1,3})\s*期|#\s?(\d{1,3})(?![\d年])|issue\s*#?\s*(\d{1,3})\b", re.IGNORECASE | re.ASCII
)
_YEAR_WEEK = re.compile(r"(\d{4})\s*年\s*第\s*(\d{1,2})\s*周|第\s*(\d{1,2})\s*周\s*[，,]\s*(\d{4})", re.ASCII)
_YEAR_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?!\s*\d)", re.ASCII)
_WEEK_ONLY = re.compile(r"第\s*(\d{1,2})\s*周", re.ASCII)
_FULL_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", re.ASCII)
_START_DATE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*[~～〜]", re.ASCII)
_INTRO_LINES = 4
_MIN_YEAR, _MAX_YEAR = 1990, 2100
_DATE_TOLERANCE = dt.timedelta(days=10)
# The last numbered issue that prints its date; undated later issues are counted weekly from it.
_ANCHOR_NUMBER, _ANCHOR_DATE = 24, dt.date(2021, 8, 8)

_MEDIUM = "https://medium.com"
_STEM_SAFE = re.compile(r"[^\w.\-]+")


@dataclass
class _Item:
    section: Section
    line: int
    header: str
    heading: bool
    body: list[str] = field(default_factory=list)
    feature: bool = False
    bullet: bool = False
    """One line of a bulleted list, not a headed item."""
    post: bool = False
    """A post of the author's 其他博客 list."""
    new_links: tuple[str, ...] = ()
    """For a bullet: its links that no other item of the issue has (the first becomes its main link)."""


@dataclass(frozen=True)
class _Pick:
    line: int
    title: str
    url: str | None


@dataclass(frozen=True)
class _Head:
    title: str
    source_url: str | None
    body_start: int


# -- public API ----------------------------------------------------------------------------------------


def parse_markdown(text: str, *, path: str = "") -> Issue:
    """Parse a markdown file into an :class:`Issue` (a newsletter issue or a generic document).

    Raises :class:`ParseError` only when there is nothing usable (empty, whitespace or markup only).

    >>> md = "# 2020 年第 41 周\\n\\n> 原文：<https://medium.com/x/akiras-ml-news-week41-2020-0a1b2c3d4e5f?s=1>\\n\\n"
    >>> md += "本期是 2020 年第 41 周(10 月 4 日~)。\\n\\n# 1.机器学习论文\\n\\n# 把大模型压缩成小模型\\n\\n"
    >>> md += "*Small Models* [https://arxiv.org/abs/2010.00001](https://arxiv.org/abs/2010.00001)\\n\\n一项研究。\\n"
    >>> issue = parse_markdown(md)
    >>> issue.id, issue.kind, issue.label, issue.date
    ('akiras-ml-news-week41-2020-0a1b2c3d4e5f', 'issue', '2020-W41', datetime.date(2020, 10, 4))
    >>> [(e.section.value, e.title, e.url) for e in issue.entries]
    [('papers', '把大模型压缩成小模型', 'https://arxiv.org/abs/2010.00001')]
    >>> parse_markdown("# Notes\\n\\nSome text.", path="docs/notes.md").entries[0].summary
    'Some text.'
    """
    lines = _prepare(text)
    head = _read_head(lines)
    slug = slug_of(head.source_url) if head.source_url else ""
    issue_id = slug or _stem_id(path, text)
    title = head.title or _fallback_title(lines, head.body_start, path)
    if not title:
        raise ParseError("no heading and no text")
    is_issue = bool(_NEWSLETTER_SLUG.search(slug)) if head.source_url else bool(
        _NEWSLETTER_TITLE.search(title) or _NEWSLETTER_SLUG.search(path)
    )
    if is_issue:
        # Without a 原文 line, a file named after the slug still carries the number and week.
        issue = _parse_issue(lines, head, issue_id, title, slug or issue_id)
        if issue.entries:
            return issue
        # An unknown (or damaged) layout still yields its text, one entry per heading section.
        entries = _document_entries(lines, head, issue_id, title)
        if not entries and not head.title:
            raise ParseError("no heading and no text")
        return dataclasses.replace(issue, entries=entries)
    entries = _document_entries(lines, head, issue_id, title)
    if not entries and not head.title:
        raise ParseError("no heading and no text")
    return Issue(id=issue_id, title=title, source_url=head.source_url, kind="document", entries=entries)


def slug_of(url: str) -> str:
    """The last non-empty path component of a URL, without query or fragment.

    >>> slug_of("https://medium.com/analytics-vidhya/akiras-machine-learning-news-issue-40-0a1b2c3d4e5f?source=x")
    'akiras-machine-learning-news-issue-40-0a1b2c3d4e5f'
    >>> slug_of("https://lilianweng.github.io/posts/2023-06-23-agent/")
    '2023-06-23-agent'
    >>> slug_of("https://example.com")
    ''
    """
    rest = url.split("://", 1)[-1]
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    parts = [p for p in rest.split("/")[1:] if p]
    return parts[-1] if parts else ""


def _highlights_section(plain: str) -> Section | None:
    """The section a short un-numbered heading names (the highlights atop an issue), else None.

    >>> _highlights_section("本周特稿/新闻。"), _highlights_section("报纸")
    (<Section.FEATURES: 'features'>, <Section.PAPERS: 'papers'>)
    >>> _highlights_section("用图网络预测天气的论文集合与讨论"), _highlights_section("关于我")
    (None, None)
    """
    name = plain.strip().rstrip("。.：:")
    if not name or len(name) > _HIGHLIGHT_HEADING:
        return None
    return next((section for section, pattern in _SECTION_SYNONYMS if pattern.search(name)), None)


_HIGHLIGHT_HEADING = 10


def section_for(heading: str) -> Section | None:
    """The section a numbered newsletter heading names, by synonym; None if it names none.

    >>> section_for("# ****2.机器学习使用 cas****")
    <Section.USE_CASES: 'use_cases'>
    >>> section_for("# **4.机器学习技术相关文章**"), section_for("# 3.报纸")
    (<Section.ARTICLES: 'articles'>, <Section.PAPERS: 'papers'>)
    >>> section_for("# 用图网络预测天气") is None
    True
    """
    m = _NUMBERED.match(strip_asterisks(heading).lstrip("# \t"))
    if not m:
        return None
    name = m.group(2)
    for section, pattern in _SECTION_SYNONYMS:
        if pattern.search(name):
            return section
    return None


# -- reading the file ----------------------------------------------------------------------------------


def _prepare(text: str) -> list[str]:
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


def _read_head(lines: Sequence[str]) -> _Head:
    i = _next_nonblank(lines, 0)
    title = ""
    body_start = i
    if i < len(lines):
        m = _HEADING.match(lines[i])
        if m:
            title = clean_inline(m.group(2) or "")
            body_start = i + 1
    source_url, source_line = _find_source(lines, body_start)
    if source_url:
        # The issue link readers are shown: without Medium's ?source=collection_archive… tracking suffix.
        source_url = strip_tracking(source_url)
    if source_line >= 0:
        body_start = source_line + 1
    return _Head(title, source_url, body_start)


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


def _stem_id(path: str, text: str) -> str:
    stem = _STEM_SAFE.sub("-", PurePath(path).stem).strip("-") if path else ""
    if stem:
        return stem
    return "doc-" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _fallback_title(lines: Sequence[str], start: int, path: str) -> str:
    for i in range(start, min(len(lines), start + 50)):
        t = clean_inline(lines[i])
        if t:
            return t[:80]
    return clean_inline(PurePath(path).stem) if path else ""


def _line_kinds(lines: Sequence[str], start: int) -> list[str]:
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
        if om and not _HEADING.match(line):
            end = _card_end(lines, i, om.end())
            if end >= 0:
                for j in range(i, end + 1):
                    kinds[j] = "card"
                i = end + 1
                continue
        i += 1
    return kinds


_LEADING_CARD = re.compile(r"\[\]\([^()\s]*\)\s*(?=\[##)")


def _starts_other_post(line: str, current: _Item | None, base: str) -> bool:
    """In the 其他博客 list, a paragraph opening with a link elsewhere than the current post is the next post
    (there its link text is often only the domain, ``[**medium.com**](/analytics-vidhya/…)``)."""
    m = _LINK_START.match(strip_asterisks(line).strip())
    if not m or not m.group(2):
        return False
    return current is None or not _same_item(current, line, base)


def _same_item(item: _Item, card: str, base: str) -> bool:
    """Whether ``card`` (or a line) first links where ``item`` does (a post's own card under its link line)."""
    card_urls = find_urls(card, base)[:1]
    own = find_urls(item.header, base)[:1] or find_urls("\n".join(item.body), base)[:1]
    return bool(card_urls) and bool(own) and same_link(card_urls[0], own[0])


def _split_cards(block: str) -> list[str]:
    """A run of chained embed cards, one string per card (its ``[](url)`` opener included).

    >>> _split_cards("[](https://a.io/1) [## 一\\n\\n### x\\n\\na.io](https://a.io/1) [](https://b.io/2) [## 二\\n\\nb.io](https://b.io/2)")
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
        hm = _HEADING.match(line)
        if _CARD_OPEN.search(line) or (hm and len(hm.group(1)) < 3):
            return end


# -- newsletter issues ---------------------------------------------------------------------------------


def _parse_issue(lines: Sequence[str], head: _Head, issue_id: str, title: str, slug: str) -> Issue:
    kinds = _line_kinds(lines, head.body_start)
    # The newsletter lives on Medium: its site-relative links ("](/analytics-vidhya/…)") are Medium's.
    base = head.source_url or _MEDIUM
    items, picks = _segment(lines, kinds, head.body_start, base)
    entries = _build_entries(issue_id, items, picks, base)
    number, year, week, month = _metadata(slug, title, lines, head.body_start)
    date, estimated = _issue_date(lines, head.body_start, number, year, week, month)
    if year is None and date is not None and not estimated:
        year = date.year
    return Issue(
        id=issue_id, title=title, source_url=head.source_url, kind="issue", entries=entries,
        number=number, year=year, week=week, month=month, date=date, date_estimated=estimated,
    )


def _segment(
    lines: Sequence[str], kinds: Sequence[str], start: int, base: str
) -> tuple[list[_Item], list[_Pick]]:
    """Walk the body once: numbered section headings open sections, tail headings close them."""
    era_b = any(
        _HEADING.match(lines[i]) and section_for(lines[i]) is Section.FEATURES
        for i in range(start, len(lines)) if not kinds[i]
    )
    items: list[_Item] = []
    picks: list[_Pick] = []
    section: Section | None = None
    in_picks = False
    current: _Item | None = None
    # Era A items are headings, so there a link opening a paragraph is body text ("[相关代码](url) 可以下载");
    # a section whose items are link lines (week 7 2021) shows it by starting with one.
    heading_items = False
    other_posts = False
    # Linked bullets under un-numbered section headings before the first numbered one are items too, unless
    # their links are items of the issue already (_build_entries drops those).
    highlights = numbered_seen = False
    prev_blank = True
    skip_to = start
    for i in range(start, len(lines)):
        if i < skip_to:
            continue
        line = lines[i]
        blank = not line.strip()
        if kinds[i]:
            if section is not None and kinds[i] == "card" and (
                    current is None or (other_posts and not _same_item(current, line, base))):
                # Cards with no item above them, and cards of other posts in the 其他博客 list (one post per
                # card), are items of their own.
                skip_to = i
                while skip_to < len(lines) and kinds[skip_to] == "card":
                    skip_to += 1
                for card in _split_cards("\n".join(lines[i:skip_to])):
                    # A card of the post above (its link line's card, or the same link chained twice) is part of it.
                    if current is not None and (current.post or not other_posts) and _same_item(current, card, base):
                        current.body.append(card)
                        continue
                    current = _Item(section, i, "", heading=False, body=card.split("\n"), post=other_posts)
                    items.append(current)
            elif current is not None:
                current.body.append(line)
            prev_blank = False
            continue
        m = _HEADING.match(line)
        if m and len(m.group(1)) <= 2:
            text = m.group(2) or ""
            plain = strip_asterisks(text).strip()
            prev_blank = True
            if is_separator(text):
                continue
            if _PICKS.search(plain):
                section, in_picks, current = None, True, None
                continue
            other_posts = False
            if _OTHER_POSTS.search(plain):
                section, in_picks, current, heading_items, other_posts = Section.OTHER, False, None, False, True
                continue
            if _TAIL.search(plain):
                section, in_picks, current = None, False, None
                continue
            named = section_for(text)
            if named is not None:
                section, in_picks, current, heading_items, highlights = named, False, None, False, False
                numbered_seen = True
                continue
            if not numbered_seen and len(m.group(1)) == 2 and (named := _highlights_section(plain)) is not None:
                # "## 本周特稿/新闻。" atop the issue: a digest of the sections below, in bullets.
                section, in_picks, current, highlights = named, False, None, True
                continue
            if section is not None:
                current = _Item(section, i, text, heading=True)
                items.append(current)
                heading_items = True
                continue
            in_picks = False
            continue
        if in_picks:
            bm = _BULLET.match(line)
            if bm:
                pick = _make_pick(i, bm.group(1), base)
                if pick is not None:
                    picks.append(pick)
        elif section is not None and highlights:
            if (bullet := _BULLET.match(line)) and _HAS_LINK.search(line):
                items.append(_Item(section, i, bullet.group(1), heading=False, bullet=True))
        elif section is not None:
            if _TAIL_PARAGRAPH.match(strip_asterisks(line)):
                section, current = None, None
            elif prev_blank and not blank and (
                    ((era_b or not heading_items) and _is_link_header(line))
                    or (other_posts and _starts_other_post(line, current, base))):
                current = _Item(section, i, line, heading=False, post=other_posts)
                items.append(current)
            elif current is not None:
                current.body.append(line)
        prev_blank = blank
    return items, picks


def _is_link_header(line: str) -> bool:
    """An Era B item written as a link line rather than a heading.

    >>> _is_link_header("[**小模型也能很准**](https://arxiv.org/abs/2101.00001?utm_source=x)")
    True
    >>> _is_link_header("【arxiv.org】****——**[](https://arxiv.org/abs/2101.00002)**用查表代替乘法****")
    True
    >>> _is_link_header("[**arxiv.org**](https://arxiv.org/abs/2101.00001)"), _is_link_header("[2101.00001]标题")
    (False, False)
    """
    s = strip_asterisks(line).strip()
    if not _HAS_LINK.search(s):
        return False
    if _DASH_JOIN.search(s):
        return True
    tag = _DOMAIN_TAG_START.match(s)
    if tag and is_domain(tag.group(0)):
        return True
    m = _LINK_START.match(s)
    if not m:
        return False
    text = m.group(1).strip()
    # A link whose text is a domain or a URL is the "source" decoration under a heading item.
    return bool(text) and not is_domain(text) and not text.lower().startswith(("http", "www."))


def _make_pick(line: int, text: str, base: str) -> _Pick | None:
    urls = find_urls(text, base)
    title = clean_inline(_PICK_TAIL.sub("", _PICK_NOTE.sub("", strip_asterisks(text))))
    if not title:
        return None
    return _Pick(line, title, urls[0] if urls else None)


def _build_entries(issue_id: str, items: list[_Item], picks: list[_Pick], base: str | None) -> tuple[Entry, ...]:
    rows: list[tuple[int, Section, str, str | None, str, bool, tuple[str, ...], str, str]] = []
    item_urls: list[list[str]] = []
    item_titles: list[str] = []
    bylines: list[str] = []
    items = _without_repeated_bullets(items, base)
    for item in items:
        header_urls = find_urls(item.header, base)
        if item.bullet:
            # Its main link is one no other item has, so the issue lists each link once; it keeps the rest.
            header_urls = [*item.new_links, *(u for u in header_urls if u not in item.new_links)]
        body_text = "\n".join(item.body)
        body_urls = find_urls(body_text, base)
        urls = header_urls + body_urls
        item_urls.append(urls)
        title, byline = _item_title(item, body_text)
        item_titles.append(title)
        bylines.append(byline)
    unmatched = _mark_features(items, item_urls, item_titles, picks)
    for item, urls, title, byline in zip(items, item_urls, item_titles, bylines, strict=True):
        summary = clean_block(item.header if item.bullet else "\n".join(item.body))
        feature = item.feature or item.section is Section.FEATURES
        cards = card_text("\n".join([item.header, *item.body]))
        if not summary and cards:
            # An item that is only a card: its snippet is the summary a reader sees.
            summary = cards.removeprefix(title).strip() or cards
        links = tuple({link_key(u): u for u in reversed(urls)}.values())[::-1]
        rows.append((item.line, item.section, title, urls[0] if urls else None, summary, feature, links, cards,
                     byline))
    for pick in unmatched:
        rows.append((pick.line, Section.FEATURES, pick.title, pick.url, pick.title, True,
                     (pick.url,) if pick.url else (), "", ""))
    rows.sort(key=lambda r: r[0])
    return tuple(
        Entry(issue_id, pos, section, title, url, summary, feature, links, cards, byline)
        for pos, (_, section, title, url, summary, feature, links, cards, byline) in enumerate(rows)
    )


def _without_repeated_bullets(items: list[_Item], base: str | None) -> list[_Item]:
    """Drop bullet items that only point at items the issue has anyway (the highlights repeat its features), or
    that have no text; note on each kept bullet the links that are its own."""
    known = {link_key(u) for item in items if not item.bullet
             for u in find_urls("\n".join([item.header, *item.body]), base)}
    out = []
    for item in items:
        if item.bullet:
            fresh = {link_key(u): u for u in find_urls(item.header, base) if link_key(u) not in known}
            if not fresh or not clean_inline(item.header):
                continue
            item.new_links = tuple(fresh.values())
            known |= set(fresh)
        out.append(item)
    return out


def _item_title(item: _Item, body: str) -> tuple[str, str]:
    """The title to show, and the byline that followed it (kept for search)."""
    title = _raw_title(item, body)
    if item.post:
        # Medium's "title | author | publication" once the link text is gone.
        m = _POST_TITLE_END.search(title)
        if m and m.start() > 0:
            return title[: m.start()], title[m.start():]
    return title, ""


def _raw_title(item: _Item, body: str) -> str:
    # A leading 的 is what is left when the translation split the title around a lost link.
    title = clean_inline(item.header).removeprefix("的").strip()
    if item.bullet:
        # A bullet is a sentence or two; its first clause names the item.
        title = _CLAUSE_END.split(title, maxsplit=1)[0][:_BULLET_TITLE] or title[:_BULLET_TITLE]
    if len(title) > _WEAK_TITLE and not is_domain(title):
        return title
    # The header was only decoration ("[](url)——[arxiv.org](url)"): use the embed card's title,
    # then the cited paper's title line, then the first words of the body.
    for line in item.body:
        idx = line.find("[## ")
        if idx >= 0:
            card = clean_inline(line[idx + 4:])
            if card:
                return card
    for line in item.body:
        s = strip_asterisks(line).strip()
        if s.startswith(("[", "【")) and not s.startswith(("[](", "[!", "![")):
            m = _ARXIV_TITLE_LINE.match(s)
            t = clean_inline(m.group(1)) if m else ""
            if t:
                return t
    words = clean_block(body)
    return words[:60] if words else "（无标题）"


def _mark_features(
    items: list[_Item], item_urls: list[list[str]], item_titles: list[str], picks: list[_Pick]
) -> list[_Pick]:
    """Flag the items each 编辑精选 bullet points at (by link, else by title; a title match also gets the pick's
    link); return the picks that match no item."""
    keys = [{link_key(u) for u in urls} for urls in item_urls]
    unmatched: list[_Pick] = []
    for pick in picks:
        hit = -1
        if pick.url:
            key = link_key(pick.url)
            hit = next((n for n, k in enumerate(keys) if key in k and not items[n].feature), -1)
        if hit < 0:
            hit = _best_title_match(pick.title, item_titles, items)
        if hit >= 0:
            items[hit].feature = True
            if pick.url and link_key(pick.url) not in keys[hit]:
                # Matched by title: the pick's link is the item's too (the translation lost the item's own, or the
                # pick points at another copy of the same post), so a question naming it finds the item.
                item_urls[hit].append(pick.url)
                keys[hit].add(link_key(pick.url))
        else:
            unmatched.append(pick)
    return unmatched


_CLAUSE_END = re.compile(r"[。！？!?]|[.;；]\s")
_POST_TITLE_END = re.compile(r"\s*[|｜]\s*")
_BULLET_TITLE = 80
# Two characters or fewer ("融合" once "arxiv.org" is gone) is what the MT left of a lost title.
_WEAK_TITLE = 2
_TITLE_NOISE = re.compile(r"[\W_]+")
_TITLE_MATCH = 0.5


def _best_title_match(title: str, titles: list[str], items: list[_Item]) -> int:
    a = _bigrams(title)
    best, best_score = -1, _TITLE_MATCH
    for n, other in enumerate(titles):
        if items[n].feature:
            continue
        b = _bigrams(other)
        if not a or not b:
            continue
        score = 2 * len(a & b) / (len(a) + len(b))
        if score > best_score:
            best, best_score = n, score
    return best


def _bigrams(text: str) -> set[str]:
    t = _TITLE_NOISE.sub("", text.lower())
    return {t[i:i + 2] for i in range(len(t) - 1)}


# -- generic documents ---------------------------------------------------------------------------------


def _document_entries(lines: Sequence[str], head: _Head, issue_id: str, title: str) -> tuple[Entry, ...]:
    """One entry per heading section; the text under the title is the title's own section."""
    kinds = _line_kinds(lines, head.body_start)
    sections: list[tuple[str, list[str]]] = [(title, [])]
    for i in range(head.body_start, len(lines)):
        line = lines[i]
        m = None if kinds[i] else _HEADING.match(line)
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
        entries.append(Entry(issue_id, len(entries), Section.OTHER, heading, urls[0] if urls else None, summary))
    return tuple(entries)


# -- metadata ------------------------------------------------------------------------------------------


def _intro(lines: Sequence[str], start: int) -> list[str]:
    """The first few non-empty lines of the body, where the covered week and date are printed."""
    out: list[str] = []
    for i in range(start, len(lines)):
        s = strip_asterisks(lines[i]).strip()
        if not s:
            continue
        if section_for(s) is not None:
            break
        out.append(s)
        if len(out) >= _INTRO_LINES:
            break
    return out


def _metadata(
    slug: str, title: str, lines: Sequence[str], start: int
) -> tuple[int | None, int | None, int | None, int | None]:
    number = year = week = month = None
    s = slug.lower()
    if m := _SLUG_NUMBER.search(s):
        number = int(m.group(1))
    elif m := _TITLE_NUMBER.search(title):
        number = int(next(g for g in m.groups() if g))
    if m := _SLUG_WEEK.search(s):
        week, year = int(m.group(1)), int(m.group(2))
    elif m := _SLUG_MONTH.search(s):
        month, year = _MONTHS.index(m.group(1)) + 1, int(m.group(2))
    if year is None:
        for text in (title, *_intro(lines, start)):
            if m := _YEAR_WEEK.search(text):
                year, week = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(4)), int(m.group(3)))
                break
            # A month names a monthly digest only in the title; intros mention months in passing.
            if text is title and (m := _YEAR_MONTH.search(text)):
                year, month = int(m.group(1)), int(m.group(2))
                break
    if year is not None and not _MIN_YEAR <= year <= _MAX_YEAR:
        year = None  # "0000 年" would make no date
    if week is not None and not 1 <= week <= 53:
        week = None
    if month is not None and not 1 <= month <= 12:
        month = None
    return number, year, week, month


def _iso_monday(year: int, week: int) -> dt.date | None:
    try:
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        return None


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _read_date(intro: Iterable[str], year: int | None, week: int | None) -> dt.date | None:
    ref = _iso_monday(year, week) if year is not None and week is not None else None
    for text in intro:
        wm = _WEEK_ONLY.search(text)
        if wm and week is not None and int(wm.group(1)) != week:
            continue  # the sentence is about another week (week 48 copies week 47's intro)
        found: dt.date | None = None
        if m := _FULL_DATE.search(text):
            found = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif (m := _START_DATE.search(text)) and year is not None:
            month, day = int(m.group(1)), int(m.group(2))
            around = ref or dt.date(year, 7, 1)
            options = [d for y in (year - 1, year, year + 1) if (d := _safe_date(y, month, day))]
            found = min(options, key=lambda d: abs(d - around)) if options else None
        if found is None:
            continue
        if ref is not None and abs(found - ref) > _DATE_TOLERANCE:
            return None  # a typo in the source (week 39 prints 9 月 10 日)
        return found
    return None


def _issue_date(
    lines: Sequence[str], start: int, number: int | None, year: int | None, week: int | None, month: int | None
) -> tuple[dt.date | None, bool]:
    read = _read_date(_intro(lines, start), year, week)
    if read is not None:
        return read, False
    if year is not None and week is not None:
        return _iso_monday(year, week), False
    if year is not None and month is not None:
        return dt.date(year, month, 1), False
    if number is not None:
        return _estimate_date(number, lines), True
    return None, False


def _estimate_date(number: int, lines: Sequence[str]) -> dt.date:
    estimate = _ANCHOR_DATE + dt.timedelta(weeks=number - _ANCHOR_NUMBER)
    newest: dt.date | None = None
    for line in lines:
        for m in _ARXIV_ID.finditer(line):
            yy, mm = int(m.group(1)), int(m.group(2))
            if yy >= 7 and 1 <= mm <= 12:  # new-style arXiv ids began in 2007
                d = dt.date(2000 + yy, mm, 1)
                newest = d if newest is None or d > newest else newest
    # An issue cannot predate the papers it cites.
    return max(estimate, newest) if newest is not None else estimate
