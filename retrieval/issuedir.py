"""The issue directory: which newsletter issues a person means by ``34``, ``#18``, ``第 34 期``, ``2021-W13``.

Lookups, "did you mean" suggestions and autocomplete over one archive's issues. It needs no index, so it is
separate from the search engine, which uses it for issue references inside questions.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process

from retrieval.errors import AmbiguousIssueError, QueryError, UnknownIssueError
from retrieval.issueref import DEFAULT_TEMPLATES, IssueRef, matches, parse_issue_ref
from retrieval.models import Archive, Issue
from retrieval.notices import REF_PHRASES


class IssueDirectory:
    """Finds the issues of one archive from what a person typed."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.templates = tuple(dict.fromkeys((*archive.issue_ref, *DEFAULT_TEMPLATES)))
        """The forms of an issue reference: the newsletter's own (its profile's), then the usual ones."""

    def resolve(self, ref: IssueRef) -> tuple[Issue, ...]:
        """The newsletter issues a reference names, or :class:`UnknownIssueError` with suggestions."""
        newsletter = self.archive.newsletter_issues
        if ref.latest:
            latest = self.archive.latest
            return (latest,) if latest is not None else ()
        found = tuple(i for i in newsletter if matches(ref, i))
        if found:
            return found
        raise UnknownIssueError("No issue matches {ref}.", self.suggest(describe_ref(ref)), ref=describe_ref(ref))

    def find_issue(self, text: str) -> Issue:
        """One issue from what a person typed: ``34``, ``#18``, ``第 34 期``, ``2021-W13``, a title, an id."""
        text = text.strip()
        if not text:
            raise QueryError("Name an issue, e.g. 34, #18, 第 34 期, 2021-W13 or 2020 年 9 月.")
        by_id = self.archive.get(text)
        if by_id is not None:
            return by_id
        ref = parse_issue_ref(text, self.templates)
        if ref is not None:
            found = self.resolve(ref)
            # "2020-09" is the monthly digest's own label, so it names that digest, not September's weeks.
            monthly = [i for i in found if i.month is not None and i.week is None]
            if len(monthly) == 1:
                return monthly[0]
            if len(found) == 1:
                return found[0]
            # Never a silent pick: "week 13" of two years, or a month of four weekly issues, is listed.
            raise AmbiguousIssueError(
                "“{text}” names {n} issues ({ref}); name one of them.",
                tuple(f"{i.label} — {i.title}" for i in reversed(found)), text=echo(text), n=len(found),
                ref=describe_ref(ref))
        for issue in self.archive.issues:
            if text.lower() in (issue.title.lower(), issue.label.lower()):
                return issue
        raise UnknownIssueError("No issue called “{text}”.", self.suggest(text), text=echo(text))

    def suggest(self, text: str, limit: int = 5) -> tuple[str, ...]:
        """The closest issue labels to what a person typed, for “did you mean”."""
        return tuple(f"{i.label} — {i.title}" for i in map(self.by_id, self.suggest_ids(text, limit)))

    def suggest_ids(self, text: str, limit: int = 5) -> list[str]:
        """Ids of the issues whose label or title is closest to ``text``."""
        choices = {i.id: f"{i.label} {i.title}" for i in self.archive.newsletter_issues}
        if not choices or not text.strip():
            return []
        found = process.extract(text, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=30)
        return [key for _label, _score, key in found]

    def named_by(self, text: str) -> list[Issue]:
        """The newsletter issues, newest first, that what a person typed names exactly (reference, label, id)."""
        ref = parse_issue_ref(text, self.templates)  # once per call: autocomplete calls this on every keystroke
        newest_first = reversed(self.archive.newsletter_issues)
        if ref is not None and not ref.latest:
            return [i for i in newest_first if matches(ref, i)]
        lowered = text.lower()
        return [i for i in newest_first if lowered in (i.id.lower(), i.label.lower())]

    def by_id(self, issue_id: str) -> Issue:
        """The issue with this id; ``KeyError`` if the archive has none (a cached result that went stale)."""
        issue = self.archive.get(issue_id)
        if issue is None:
            raise KeyError(issue_id)
        return issue


def echo(text: str, limit: int = 80) -> str:
    """What a person typed, to repeat in a message: one line, at most ``limit`` characters.

    >>> echo("第 34 期\\n" * 3)
    '第 34 期 第 34 期 第 34 期'
    >>> len(echo("x" * 2000))
    80
    """
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_ref(ref: IssueRef) -> str:
    """A reference in words.

    >>> describe_ref(IssueRef(number=34, year=None, week=None, month=None))
    'issue #34'
    >>> describe_ref(IssueRef(number=None, year=2021, week=13, month=None))
    'week 13 of 2021'
    """
    if ref.latest:
        return REF_PHRASES["latest"]
    if ref.slug:
        return f"“{ref.slug}”"  # the reader's own text: nothing to translate
    if ref.number is not None:
        return REF_PHRASES["number"].format(number=ref.number)
    if ref.week is not None:
        return (REF_PHRASES["year_week"].format(week=ref.week, year=ref.year) if ref.year
                else REF_PHRASES["week"].format(week=ref.week))
    if ref.month is not None:
        return f"{ref.year}-{ref.month:02d}" if ref.year else REF_PHRASES["month"].format(month=ref.month)
    if ref.date is not None:
        return REF_PHRASES["date"].format(date=ref.date.isoformat())
    return REF_PHRASES["other"]
