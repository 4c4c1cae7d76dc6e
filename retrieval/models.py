"""Typed, immutable values shared by every layer of newsbot.

Everything here is a plain value: no I/O, no discord, no jieba. The parser produces
:class:`Issue` and :class:`Entry`, the loader wraps them in an :class:`Archive`, and the
search and command layers only ever read them. What a search returns (:class:`Hit`,
:class:`SearchResult`, :class:`Concept`) lives here too, so the command layer can name results without
loading the search engine's jieba, numpy and rank_bm25.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # annotations only: importing the glossary at run time would load jieba
    from retrieval.glossary import WeightedTerm


SectionKey = str
"""A section's key: Akira's profile names its five (``features``, ``papers``…); a generic archive's section key is
its heading text. The profile that parsed an issue supplies the labels (:attr:`Entry.section_label`)."""


DocumentKind = Literal["issue", "document"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of an issue: a paper, an article, a news story, or a heading section of a document."""

    issue_id: str
    """The :attr:`Issue.id` this entry belongs to."""
    position: int
    """0-based order of the entry inside its issue; ``(issue_id, position)`` is unique."""
    section: SectionKey
    """The section's key: a profile's (``papers``) or, in a generic archive, its heading text."""
    title: str
    url: str | None
    """The first real link: Medium-relative links made absolute, Revue ``utm_*`` parameters removed."""
    summary: str
    """Body text with markdown debris (asterisk runs, images, separators, empty links) removed."""
    feature: bool = False
    """True when the issue lists this entry among its features (本周特稿/新闻 or 每周编辑精选)."""
    links: tuple[str, ...] = ()
    """Every distinct web link of the item, :attr:`url` first (the paper, its code, the news about it)."""
    cards: str = ""
    """Title and snippet of the item's Medium/Revue embed cards: a second, independent translation of the linked
    page, often in the words a reader uses. Indexed for search, never shown."""
    byline: str = ""
    """What followed the title on its line (``|作者藤井昭弘|走向数据科学``: Medium's author and publication): indexed
    with the title, not shown in it."""
    section_label: str = ""
    """The section's name as the newsletter's readers know it (``论文``); empty means the key itself."""
    section_label_en: str = ""
    """The section's English name, when the profile gives one (``Papers``)."""

    @property
    def section_name(self) -> str:
        """The section's label to show: :attr:`section_label`, else the key.

        >>> Entry("w", 0, "papers", "t", None, "s", section_label="论文").section_name
        '论文'
        >>> Entry("w", 0, "Jobs", "t", None, "").section_name
        'Jobs'
        """
        return self.section_label or self.section

    @property
    def section_name_both(self) -> str:
        """``label / English label`` when both exist and differ, else the label.

        >>> Entry("w", 0, "papers", "t", None, "s", section_label="论文", section_label_en="Papers").section_name_both
        '论文 / Papers'
        """
        if self.section_label_en and self.section_label_en != self.section_name:
            return f"{self.section_name} / {self.section_label_en}"
        return self.section_name

    @property
    def all_links(self) -> tuple[str, ...]:
        """:attr:`links`, or just :attr:`url` for an entry built without them.

        >>> Entry("w13", 0, "papers", "t", "https://x.org/a", "s").all_links
        ('https://x.org/a',)
        >>> Entry("w13", 0, "papers", "t", None, "s").all_links
        ()
        """
        return self.links or ((self.url,) if self.url else ())

    @property
    def key(self) -> str:
        """A stable key for this entry, unique within an archive.

        >>> Entry("week-13-2021", 3, "papers", "t", None, "s").key
        'week-13-2021#3'
        """
        return f"{self.issue_id}#{self.position}"


@dataclass(frozen=True, slots=True)
class Issue:
    """One newsletter issue (or, for ``kind == "document"``, any other markdown article)."""

    id: str
    """Stable id: the slug of the 原文 URL (``akiras-machine-learning-news-issue-34-55111a45fef7``),
    or the file stem when the file has no 原文 line."""
    title: str
    source_url: str | None
    kind: DocumentKind
    entries: tuple[Entry, ...]
    number: int | None = None
    """The issue number (#18, 第 34 期), when the issue has one."""
    year: int | None = None
    week: int | None = None
    """ISO-style week number as the newsletter uses it (2021 年第 13 周)."""
    month: int | None = None
    """Month of a monthly digest (2020 年 9 月)."""
    date: dt.date | None = None
    """Start date of the covered week or month, when it can be derived."""
    date_estimated: bool = False
    """True when :attr:`date` was extrapolated (e.g. from the issue number) rather than read."""
    path: str = ""
    """The file this issue was loaded from, relative to the archive root."""
    repaired: bool = False
    """True when the text went through mojibake repair."""
    uncertain_chars: int = 0
    """How many repaired characters the repair model was not sure about."""

    @property
    def features(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.feature)

    @property
    def sections(self) -> tuple[SectionKey, ...]:
        """The section keys present, in order of first appearance."""
        seen: dict[SectionKey, None] = {}
        for e in self.entries:
            seen.setdefault(e.section)
        return tuple(seen)

    @property
    def label(self) -> str:
        """A short human name: ``#34``, ``2021-W13``, ``2020-09`` or the title.

        >>> Issue("x", "T", None, "issue", (), number=34).label
        '#34'
        >>> Issue("x", "T", None, "issue", (), year=2021, week=13).label
        '2021-W13'
        >>> Issue("x", "T", None, "issue", (), year=2020, month=9).label
        '2020-09'
        """
        if self.number is not None:
            return f"#{self.number}"
        if self.year is not None and self.week is not None:
            return f"{self.year}-W{self.week:02d}"
        if self.year is not None and self.month is not None:
            return f"{self.year}-{self.month:02d}"
        return self.title


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file the loader could not use, and why, in words a person can act on."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What mojibake repair did to one document."""

    path: str
    codepage: str
    damaged: int
    """Characters that had lost bytes."""
    filled: int
    """Damaged characters the model filled in."""
    uncertain: int
    """Filled characters whose best candidate did not clearly beat the runner-up."""


@dataclass(frozen=True, slots=True)
class Archive:
    """A loaded archive: deduplicated issues in chronological order, plus what was skipped or repaired."""

    root: str
    issues: tuple[Issue, ...]
    skipped: tuple[SkippedFile, ...] = ()
    repairs: tuple[RepairReport, ...] = ()
    duplicates: tuple[SkippedFile, ...] = ()
    """Files dropped because another copy of the same 原文 URL won (the clean copy wins)."""
    profile: str = ""
    """The name of the newsletter profile the archive was read with (``akira``, ``generic``, a user's)."""
    notes: tuple[str, ...] = ()
    """One line each about what loaded but looks wrong: an issue with no items, a profile's section no issue has."""
    language: str = ""
    """The newsletter's language as its profile says (``zh``, ``en``); '' when no profile was found."""
    issue_ref: tuple[str, ...] = ()
    """How the newsletter's readers name an issue, as the profile's templates (``TWiR {n}``), besides the usual
    forms."""
    _by_id: dict[str, Issue] = field(default_factory=dict, repr=False, compare=False)
    _newsletter: tuple[Issue, ...] = field(default=(), init=False, repr=False, compare=False)
    _entries: tuple[Entry, ...] = field(default=(), init=False, repr=False, compare=False)
    _sections: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived once: autocomplete and every issue lookup read these on each keystroke or query.
        self._by_id.update({i.id: i for i in self.issues})
        object.__setattr__(self, "_newsletter", tuple(i for i in self.issues if i.kind == "issue"))
        object.__setattr__(self, "_entries", tuple(e for i in self.issues for e in i.entries))
        names: dict[str, str] = {}
        for e in self._entries:
            names.setdefault(e.section, e.section_name)
        object.__setattr__(self, "_sections", tuple(names.items()))

    def section_names(self) -> tuple[tuple[str, str], ...]:
        """Every section key of the archive with its label, in order of first appearance (oldest issue first).

        >>> e = Entry("a", 0, "papers", "t", None, "", section_label="论文")
        >>> Archive("r", (Issue("a", "A", None, "issue", (e, Entry("a", 1, "Jobs", "j", None, ""))),)).section_names()
        (('papers', '论文'), ('Jobs', 'Jobs'))
        """
        return self._sections

    def get(self, issue_id: str) -> Issue | None:
        return self._by_id.get(issue_id)

    @property
    def newsletter_issues(self) -> tuple[Issue, ...]:
        return self._newsletter

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    @property
    def latest(self) -> Issue | None:
        """The newest dated issue: one whose date cannot be read sorts last but is no newer for that. Only an
        archive where no issue has a date falls back to the last one.

        >>> a, b = Issue("a", "A", None, "issue", (), date=dt.date(2021, 3, 28)), Issue("b", "B", None, "issue", ())
        >>> Archive("r", (a, b)).latest.id, Archive("r", (b,)).latest.id
        ('a', 'b')
        """
        issues = self.newsletter_issues
        dated = [i for i in issues if i.date is not None]
        return dated[-1] if dated else (issues[-1] if issues else None)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: an entry, where it came from, and why it matched."""

    entry: Entry
    issue: Issue
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()
    """Character spans of ``snippet`` that matched query terms."""
    also_in: tuple[Issue, ...] = ()
    """Other issues that carry the same link."""
    bridges: tuple[tuple[str, str], ...] = ()
    """``(what the reader typed, the rendering that matched)`` for each concept this entry matched only through a
    glossary or dictionary bridge (``("CLIP", "剪辑")``): why a Chinese entry answers an English word."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What one search returns: the hits, best first, and the terms and issues they were searched with."""

    query: str
    hits: tuple[Hit, ...]
    terms: tuple[WeightedTerm, ...] = ()
    issues: tuple[Issue, ...] = ()
    """Issues the query was restricted to (from an issue reference in the question or the filter)."""
    notice: str | None = None
    """A message for a person: why nothing was searched, or that the question was shortened."""
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Concept:
    """One thing the reader asked about, and every term that stands for it (typed first, then renderings)."""

    label: str
    terms: tuple[WeightedTerm, ...]
