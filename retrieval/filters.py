"""Filters on a search: ``since`` and ``until`` (a date or an issue) and ``section``, combined with the question.

Pure values and parsing here; :class:`~retrieval.search.SearchEngine` applies a :class:`SearchFilter` to its
candidates before it ranks the top k, so a filter never empties a page that has matches further down.

A section is named by its key or either of its labels (:func:`section_names`): Akira's profile gives ``papers`` the
labels 论文 and Papers; a section of an archive without a profile is its heading text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.errors import QueryError, UnknownIssueError
from retrieval.issuedir import IssueDirectory, describe_ref, echo
from retrieval.issueref import parse_issue_ref
from retrieval.models import Archive, Entry, Issue
from retrieval.notices import FILTER_PHRASES, N_

__all__ = ["SearchFilter", "parse_date", "resolve_filter", "section_choices", "section_names"]

_IN_BOUND = {"since": N_("since: {error}"), "until": N_("until: {error}")}
_BOUND_FORMS = {"since": N_("since takes a date (2021-03-01) or an issue: {error}"),
                "until": N_("until takes a date (2021-03-01) or an issue: {error}")}
_NO_DATE = {"since": N_("since: {what} has no date, so it cannot bound a search; give a date (2021-03-01)."),
            "until": N_("until: {what} has no date, so it cannot bound a search; give a date (2021-03-01).")}

_DATE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$|^\s*(\d{4})(\d{2})(\d{2})\s*$")
_DATE_ZH = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]\s*$")


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """What a search is restricted to, besides the question; unset fields do not restrict.

    An issue is inside ``since``/``until`` by its date (both ends included); an issue without a date is outside
    any date bound. ``section`` is a section key (:attr:`Entry.section`)."""

    since: dt.date | None = None
    until: dt.date | None = None
    section: str | None = None

    @property
    def active(self) -> bool:
        """Whether it restricts anything.

        >>> SearchFilter().active, SearchFilter(section="papers").active
        (False, True)
        """
        return self.since is not None or self.until is not None or self.section is not None

    def cache_part(self) -> dict[str, str]:
        """Its part of the query-cache key (only the set fields, so an unfiltered key stays as it was).

        >>> SearchFilter(since=dt.date(2021, 3, 1), section="papers").cache_part()
        {'since': '2021-03-01', 'section': 'papers'}
        """
        part = {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None, "section": self.section}
        return {k: v for k, v in part.items() if v is not None}

    def without(self, name: str) -> SearchFilter:
        """The same filter with one of its fields (``since``, ``until``, ``section``) unset.

        >>> SearchFilter(since=dt.date(2021, 3, 1), section="papers").without("since")
        SearchFilter(since=None, until=None, section='papers')
        """
        return SearchFilter(**{f: None if f == name else getattr(self, f) for f in ("since", "until", "section")})

    def set_fields(self) -> tuple[str, ...]:
        """The names of the fields that are set, in order.

        >>> SearchFilter(until=dt.date(2021, 3, 1), section="papers").set_fields()
        ('until', 'section')
        """
        return tuple(f for f in ("since", "until", "section") if getattr(self, f) is not None)

    def describe(self, name: str | None = None) -> str:
        """One field (or all that are set) in words, as an empty answer names them.

        >>> f = SearchFilter(since=dt.date(2021, 10, 1), section="papers")
        >>> f.describe("since"), f.describe()
        ('since 2021-10-01', 'since 2021-10-01, in section papers')
        """
        return ", ".join(template.format_map(params) for template, params in self.phrases(name))

    def phrases(self, name: str | None = None) -> list[tuple[str, dict[str, str]]]:
        """One field (or all that are set) as message templates and their parameters.

        >>> SearchFilter(section="papers").phrases()
        [('in section {section}', {'section': 'papers'})]
        """
        return [(FILTER_PHRASES[n], {n: str(getattr(self, n))}) for n in ((name,) if name else self.set_fields())]

    def admits(self, issue: Issue, section: str) -> bool:
        """Whether an entry of ``issue`` in ``section`` passes.

        >>> i = Issue("a", "A", None, "issue", (), date=dt.date(2021, 3, 28))
        >>> march = dt.date(2021, 3, 1)
        >>> SearchFilter(since=march).admits(i, "papers"), SearchFilter(until=march).admits(i, "x")
        (True, False)
        >>> SearchFilter(section="papers").admits(i, "articles")
        False
        """
        if self.section is not None and section != self.section:
            return False
        if self.since is None and self.until is None:
            return True
        if issue.date is None:
            return False
        return (self.since is None or issue.date >= self.since) and (self.until is None or issue.date <= self.until)


def section_names(entry: Entry) -> tuple[str, ...]:
    """Every name a reader may use for an entry's section: its key, then its labels.

    >>> section_names(Entry("w", 0, "papers", "t", None, "", section_label="论文", section_label_en="Papers"))
    ('papers', '论文', 'Papers')
    >>> section_names(Entry("w", 0, "Crate of the Week", "t", None, ""))
    ('Crate of the Week',)
    """
    return tuple(dict.fromkeys(n for n in (entry.section, entry.section_label, entry.section_label_en) if n))


def _sections(archive: Archive) -> dict[str, tuple[str, ...]]:
    """The archive's sections, key -> names, in order of first appearance."""
    found: dict[str, tuple[str, ...]] = {}
    for entry in archive.entries:
        if entry.section not in found:
            found[entry.section] = section_names(entry)
    return found


def section_choices(archive: Archive, current: str = "", limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete for a section: ``(shown name, key)`` pairs whose names contain what was typed."""
    wanted = current.strip().casefold()
    out = []
    for key, names in _sections(archive).items():
        if not wanted or any(wanted in n.casefold() for n in names):
            out.append((" / ".join(dict.fromkeys((*names[1:], key))) if len(names) > 1 else key, key))
    return out[:limit]


def _find_section(archive: Archive, text: str) -> str:
    wanted = " ".join(text.split()).casefold()
    sections = _sections(archive)
    for key, names in sections.items():
        if wanted in (n.casefold() for n in names):
            return key
    known = ", ".join(sections) or "none"
    raise QueryError("No section called “{text}”. Sections of this archive: {known}.", text=echo(text),
                     known=echo(known, 300))


def parse_date(text: str) -> dt.date | None:
    """A calendar date as a reader types it (``2021-03-01``, ``2021/3/1``, ``20210301``, ``2021 年 3 月 1 日``);
    None when the text is not shaped like a date, :class:`QueryError` for one that does not exist.

    >>> parse_date("2021-03-01"), parse_date(" 2021/3/1 "), parse_date("2021年3月1日")
    (datetime.date(2021, 3, 1), datetime.date(2021, 3, 1), datetime.date(2021, 3, 1))
    >>> parse_date("第 34 期") is None, parse_date("2021-03") is None
    (True, True)
    >>> parse_date("2021-02-30")
    Traceback (most recent call last):
    ...
    retrieval.errors.QueryError: “2021-02-30” is not a date: day is out of range for month.
    """
    m = _DATE.match(text) or _DATE_ZH.match(text)
    if m is None:
        return None
    year, month, day = (int(g) for g in m.groups() if g is not None)
    try:
        return dt.date(year, month, day)
    except ValueError as err:
        raise QueryError("“{text}” is not a date: {reason}.", text=echo(text), reason=str(err)) from None


def _bound(directory: IssueDirectory, text: str, name: str, *, last: bool) -> dt.date:
    """A ``since``/``until`` value as a date: the date itself, or the date of the issue(s) it names (of
    several, the earliest for ``since`` and the latest for ``until``, so ``since:2021-03`` means March on)."""
    date = parse_date(text)
    if date is not None:
        return date
    ref = parse_issue_ref(text, directory.templates)
    issues: Sequence[Issue]
    if ref is not None and not directory.archive.get(text.strip()):
        try:
            issues = directory.resolve(ref)
        except UnknownIssueError as err:
            raise UnknownIssueError(_IN_BOUND[name], err.suggestions, error=err) from None
        what = describe_ref(ref)
    else:
        try:
            issues = (directory.find_issue(text),)
        except UnknownIssueError as err:
            raise UnknownIssueError(_BOUND_FORMS[name], err.suggestions, error=err) from None
        what = issues[0].label
    dates = [i.date for i in issues if i.date is not None]
    if not dates:
        raise QueryError(_NO_DATE[name], what=what)
    return max(dates) if last else min(dates)


def resolve_filter(directory: IssueDirectory, *, since: str | None = None, until: str | None = None,
                   section: str | None = None) -> SearchFilter:
    """The filter a reader asked for, each value checked: :class:`QueryError` (one line) for a bad date, an
    unknown issue or section, or ``since`` after ``until``."""
    start = _bound(directory, since, "since", last=False) if since and since.strip() else None
    end = _bound(directory, until, "until", last=True) if until and until.strip() else None
    if start is not None and end is not None and start > end:
        raise QueryError("since ({start}) is after until ({end}): nothing can be in between.", start=str(start),
                         end=str(end))
    key = _find_section(directory.archive, section) if section and section.strip() else None
    return SearchFilter(start, end, key)
