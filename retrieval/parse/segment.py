"""Cutting a newsletter issue's body into items and 编辑精选 picks, in one pass over its lines.

:class:`Segmenter` is a small state machine. Its :class:`Mode` says what an ordinary line means where the walk
is (an item's body, a pick, nothing); level-1 and level-2 headings switch modes; its :class:`Phase` says whether
the walk is still in the highlights atop the issue, where linked bullets are items. Sections are recognised by
name (:func:`section_for`), never by number or count. :mod:`retrieval.parse.entries` turns the result into
entries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from retrieval.links import same_link
from retrieval.markdown import clean_inline, find_urls, is_domain, is_separator, strip_asterisks
from retrieval.parse.lines import HEADING, split_cards
from retrieval.profile import Profile, SectionRule, load_profile

_NUMBERED = re.compile(r"^\s*(\d{1,2})\s*[.．、]\s*(\S.*)$", re.ASCII)
FEATURES, OTHER = "features", "other"
"""The two section keys Akira's reader relies on (an ``akira``-layout profile must define both)."""


def _synonyms(profile: Profile | None) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The profile's section keys and heading patterns, checked in order (Akira's when no profile is given)."""
    return _compiled((profile or load_profile("akira")).sections)


@functools.cache
def _compiled(rules: tuple[SectionRule, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((rule.key, re.compile(rule.match, re.IGNORECASE)) for rule in rules if rule.match)


_HIGHLIGHT_HEADING = 10
_PICKS = re.compile(r"编辑精选")
# Headings (and a few paragraphs) after which nothing is an item: past issues, blogs, about, Twitter.
_TAIL = re.compile(
    r"过去的(?:时事通讯|文章)|时事通讯|订阅|其他博客|关于我|推特.{0,16}评|我.{0,12}推特"
    r"|github\s*上.{0,8}论文的摘要"
)
# The author's list of other posts (其他博客) ends the issue, yet its posts are items a reader asks about.
_OTHER_POSTS = re.compile(r"其他博客")
_TAIL_PARAGRAPH = re.compile(r"^\s*我的\s*github\s*上.{0,8}论文的摘要")
_PICK_NOTE = re.compile(r"[(（]\s*\d\s*[。.．]\s*[^()（）]{1,12}[)）]|[(（]\s*\d\s*[)）]")
_PICK_TAIL = re.compile(r"[。.]?\s*(?:机器学习)?(?:论文|技术文章|其他话题|其他主题|用例\S{0,4})\s*[)）]\s*$")
_BULLET = re.compile(r"^[ \t]*[*+\-][ \t]+(.*)$")
_LINK_START = re.compile(r"^\[([^\[\]]*)\]\(([^()\s]*)\)")
HAS_LINK = re.compile(r"\]\((?:https?:|/)")
# Era B link line: "…](url)——[…", "【domain】——[…", "…——【domain】"; the dashes join title and domain.
_DASH_JOIN = re.compile(r"[)】][ \t]*—{1,3}|—{1,3}[ \t]*(?:\[[^\[\]]*\]\(|【)")
_DOMAIN_TAG_START = re.compile(r"^【[^【】]{1,80}】")


@dataclass
class Item:
    """One item of the issue as the walk builds it: its header line, then the body lines under it."""

    section: str
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
class Pick:
    """One 每周编辑精选 bullet: the title and link of an item it marks as a feature."""

    line: int
    title: str
    url: str | None


def section_for(heading: str, profile: Profile | None = None) -> str | None:
    """The section key a numbered newsletter heading names, by the profile's synonyms; None if it names none.

    >>> section_for("# ****2.机器学习使用 cas****")
    'use_cases'
    >>> section_for("# **4.机器学习技术相关文章**"), section_for("# 3.报纸")
    ('articles', 'papers')
    >>> section_for("# 用图网络预测天气") is None
    True
    """
    m = _NUMBERED.match(strip_asterisks(heading).lstrip("# \t"))
    if not m:
        return None
    name = m.group(2)
    for section, pattern in _synonyms(profile):
        if pattern.search(name):
            return section
    return None


def _highlights_section(plain: str, profile: Profile | None = None) -> str | None:
    """The section a short un-numbered heading names (the highlights atop an issue), else None.

    >>> _highlights_section("本周特稿/新闻。"), _highlights_section("报纸")
    ('features', 'papers')
    >>> _highlights_section("用图网络预测天气的论文集合与讨论"), _highlights_section("关于我")
    (None, None)
    """
    name = plain.strip().rstrip("。.：:")
    if not name or len(name) > _HIGHLIGHT_HEADING:
        return None
    return next((section for section, pattern in _synonyms(profile) if pattern.search(name)), None)


class Mode(Enum):
    """What an ordinary line means where the walk is."""

    OUTSIDE = "outside"
    """No section open (before the first, after a tail heading, under an unknown heading): lines are skipped."""
    PICKS = "picks"
    """Under 每周编辑精选: each bullet is a pick."""
    SECTION = "section"
    """In a section: headings, link lines and stray cards open items, other lines are the open item's body."""
    OTHER_POSTS = "other posts"
    """In the author's 其他博客 list: as in a section, and every post (its link or card) is an item of its own."""


class Phase(Enum):
    """How far the walk is into the issue; only the highlights atop it read bullets as items."""

    START = "start"
    """No numbered section and no highlights heading yet."""
    HIGHLIGHTS = "highlights"
    """Under un-numbered section headings atop the issue (``## 本周特稿/新闻。``), a digest in bullets."""
    NUMBERED = "numbered"
    """A numbered section heading has been seen; no more highlights."""


class Segmenter:
    """One walk over an issue's body: numbered section headings open sections, tail headings close them."""

    def __init__(self, lines: Sequence[str], kinds: Sequence[str], start: int, base: str,
                 profile: Profile | None = None) -> None:
        self.profile = profile
        self.lines = lines
        self.kinds = kinds
        self.start = start
        self.base = base
        # Era B (section 1 is 本周特稿/新闻) writes items as link lines, whatever the section's first item is.
        self.era_b = any(
            HEADING.match(lines[i]) and section_for(lines[i], profile) == FEATURES
            for i in range(start, len(lines)) if not kinds[i]
        )
        self.items: list[Item] = []
        self.picks: list[Pick] = []
        self.mode = Mode.OUTSIDE
        self.phase = Phase.START
        self.section: str | None = None
        """The open section: set in Mode.SECTION and Mode.OTHER_POSTS, None otherwise."""
        self.current: Item | None = None
        """The item whose body the next lines extend."""
        # Era A items are headings, so there a link opening a paragraph is body text ("[相关代码](url) 可以下载");
        # a section whose items are link lines (week 7 2021) shows it by starting with one.
        self.heading_items = False
        self.prev_blank = True

    def run(self) -> tuple[list[Item], list[Pick]]:
        """The items and picks of the whole body, in reading order."""
        i = self.start
        while i < len(self.lines):
            if self.kinds[i]:
                i = self._markup(i)
                continue
            m = HEADING.match(self.lines[i])
            if m and len(m.group(1)) <= 2:
                self._heading(i, m.group(2) or "", len(m.group(1)))
                self.prev_blank = True
            else:
                self._line(i)
            i += 1
        return self.items, self.picks

    # -- transitions ---------------------------------------------------------------------------------------

    def _enter(self, mode: Mode, section: str | None = None) -> None:
        self.mode = mode
        self.section = section
        self.current = None

    def _heading(self, i: int, text: str, level: int) -> None:
        """A level-1 or level-2 heading: it switches mode, or is an item of the open section."""
        if is_separator(text):
            return
        plain = strip_asterisks(text).strip()
        named = section_for(text, self.profile)
        if _PICKS.search(plain):
            self._enter(Mode.PICKS)
        elif _OTHER_POSTS.search(plain):
            self._enter(Mode.OTHER_POSTS, OTHER)
            self.heading_items = False
        elif _TAIL.search(plain):
            self._enter(Mode.OUTSIDE)
        elif named is not None:
            self._enter(Mode.SECTION, named)
            self.heading_items = False
            self.phase = Phase.NUMBERED
        elif (self.phase is not Phase.NUMBERED and level == 2
              and (named := _highlights_section(plain, self.profile)) is not None):
            # "## 本周特稿/新闻。" atop the issue: a digest of the sections below, in bullets.
            self._enter(Mode.SECTION, named)
            self.phase = Phase.HIGHLIGHTS
        elif self.section is not None:
            # Any other heading ends the 其他博客 list's special reading but is an item of its section.
            self.mode = Mode.SECTION
            self._open(Item(self.section, i, text, heading=True))
            self.heading_items = True
        else:
            self.mode = Mode.OUTSIDE

    def _open(self, item: Item) -> None:
        self.items.append(item)
        self.current = item

    # -- lines ---------------------------------------------------------------------------------------------

    def _line(self, i: int) -> None:
        """An ordinary markdown line (not a level-1 or level-2 heading, not code, not a card)."""
        line = self.lines[i]
        blank = not line.strip()
        if self.mode is Mode.PICKS:
            if bm := _BULLET.match(line):
                pick = _make_pick(i, bm.group(1), self.base)
                if pick is not None:
                    self.picks.append(pick)
        elif self.section is not None and self.phase is Phase.HIGHLIGHTS:
            # Linked bullets under the highlights headings are items too, unless their links are items of the
            # issue already (entries.build_entries drops those).
            if (bullet := _BULLET.match(line)) and HAS_LINK.search(line):
                self.items.append(Item(self.section, i, bullet.group(1), heading=False, bullet=True))
        elif self.section is not None:
            self._section_line(i, line, blank)
        self.prev_blank = blank

    def _section_line(self, i: int, line: str, blank: bool) -> None:
        assert self.section is not None
        other_posts = self.mode is Mode.OTHER_POSTS
        if _TAIL_PARAGRAPH.match(strip_asterisks(line)):
            self._enter(Mode.OUTSIDE)
        elif self.prev_blank and not blank and (
                ((self.era_b or not self.heading_items) and _is_link_header(line))
                or (other_posts and _starts_other_post(line, self.current, self.base))):
            self._open(Item(self.section, i, line, heading=False, post=other_posts))
        elif self.current is not None:
            self.current.body.append(line)

    def _markup(self, i: int) -> int:
        """A code or card line at ``i``; returns the next line to read."""
        self.prev_blank = False
        line = self.lines[i]
        other_posts = self.mode is Mode.OTHER_POSTS
        if self.section is not None and self.kinds[i] == "card" and (
                self.current is None or (other_posts and not _same_item(self.current, line, self.base))):
            # Cards with no item above them, and cards of other posts in the 其他博客 list (one post per card),
            # are items of their own.
            return self._cards(i, self.section, other_posts)
        if self.current is not None:
            self.current.body.append(line)
        return i + 1

    def _cards(self, i: int, section: str, other_posts: bool) -> int:
        end = i
        while end < len(self.lines) and self.kinds[end] == "card":
            end += 1
        for card in split_cards("\n".join(self.lines[i:end])):
            current = self.current
            # A card of the post above (its link line's card, or the same link chained twice) is part of it.
            if current is not None and (current.post or not other_posts) and _same_item(current, card, self.base):
                current.body.append(card)
                continue
            self._open(Item(section, i, "", heading=False, body=card.split("\n"), post=other_posts))
        return end


def segment(lines: Sequence[str], kinds: Sequence[str], start: int, base: str,
            profile: Profile | None = None) -> tuple[list[Item], list[Pick]]:
    """The items and 编辑精选 picks of an issue whose body starts at ``lines[start]``.

    ``kinds`` marks code and card lines (:func:`retrieval.parse.lines.line_kinds`); site-relative links resolve
    against ``base``.

    >>> md = "# 1.机器学习论文\\n\\n# 小模型\\n\\n一项研究。\\n\\n# 每周编辑精选\\n\\n* 小模型（1. 论文）"
    >>> items, picks = segment(md.split("\\n"), [""] * 9, 0, "https://medium.com")
    >>> [(it.section, it.header, it.body) for it in items], [p.title for p in picks]
    ([('papers', '小模型', ['', '一项研究。', ''])], ['小模型'])
    """
    return Segmenter(lines, kinds, start, base, profile).run()


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
    if not HAS_LINK.search(s):
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


def _make_pick(line: int, text: str, base: str) -> Pick | None:
    urls = find_urls(text, base)
    title = clean_inline(_PICK_TAIL.sub("", _PICK_NOTE.sub("", strip_asterisks(text))))
    if not title:
        return None
    return Pick(line, title, urls[0] if urls else None)


def _starts_other_post(line: str, current: Item | None, base: str) -> bool:
    """In the 其他博客 list, a paragraph opening with a link elsewhere than the current post is the next post
    (there its link text is often only the domain, ``[**medium.com**](/analytics-vidhya/…)``)."""
    m = _LINK_START.match(strip_asterisks(line).strip())
    if not m or not m.group(2):
        return False
    return current is None or not _same_item(current, line, base)


def _same_item(item: Item, card: str, base: str) -> bool:
    """Whether ``card`` (or a line) first links where ``item`` does (a post's own card under its link line)."""
    card_urls = find_urls(card, base)[:1]
    own = find_urls(item.header, base)[:1] or find_urls("\n".join(item.body), base)[:1]
    return bool(card_urls) and bool(own) and same_link(card_urls[0], own[0])
