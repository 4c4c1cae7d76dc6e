"""Issue references as readers type them: ``34``, ``#18``, ``第 34 期``, ``2021-W13``, ``2020 年 9 月``, ``latest``,
``TWiR 528``, ``周刊 350``, ``the week of 2024-01-03``.

Pure functions, no I/O. The forms that name a newsletter (``TWiR {n}``) are data: :data:`DEFAULT_TEMPLATES`,
which an archive's profile can replace with its own list (see :func:`compile_templates`).

:func:`parse_issue_ref` reads a whole command argument; :func:`extract_issue_ref`
finds a reference *inside* a question and is deliberately stricter, because a false hit there narrows a
search to one issue: a bare number, ``GPT-3``, ``ResNet-50``, ``2021 年的论文``, ``16x16`` and arXiv ids
such as ``2101.01234`` are never references inside a question.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.models import Issue

__all__ = ["DEFAULT_TEMPLATES", "IssueRef", "compile_templates", "extract_issue_ref", "matches", "parse_issue_ref"]


@dataclass(frozen=True)
class IssueRef:
    """What a reference names; unset fields are None. ``latest`` needs the archive to resolve."""

    number: int | None = None
    year: int | None = None
    week: int | None = None
    month: int | None = None
    latest: bool = False
    slug: str | None = None
    date: dt.date | None = None
    """A day of the issue's week (``the week of 2024-01-03``)."""


_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))

# ASCII matching: "ſep" must not pass for "sep" (Unicode case folding); full-width input is folded first.
_I = re.IGNORECASE | re.ASCII
# Years a newsletter can plausibly carry; keeps "1234 年" and "9999-01" out.
_YEAR = r"(20[12]\d)"
# Boundaries: no letter/digit glued on either side, so "GPT-3", "ResNet-50" and "2101.01234" stay text.
_L = r"(?<![\w.\-/#])"
_DIGIT = re.compile(r"\d")
"""Any digit, ASCII or not (the templates' placeholders need an ASCII one)."""
_R = r"(?![\w.\-/]*\d)(?!\w)"
_N = r"(\d{1,3})"
_W = r"(\d{1,2})"

# Forms allowed anywhere (inside a question). Each yields one kind of reference.
_INLINE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("latest", re.compile(r"最新(?:的)?一期|最近一期|最新期|(?<![\w])(?:the\s+)?(?:latest|newest|most\s+recent)"
                          r"\s+(?:issue|newsletter|edition|one)\b", _I)),
    ("year_week", re.compile(_L + _YEAR + r"\s*年\s*第\s*" + _W + r"\s*周", re.ASCII)),
    ("year_week", re.compile(_L + _YEAR + r"\s*-?\s*W\s*" + _W + _R, _I)),
    ("week_year", re.compile(_L + r"(?:week|wk|W)[\s_\-]*" + _W + r"\s*[,，_\-]?\s*(?:of\s+)?" + _YEAR + _R,
                             _I)),
    ("week_year", re.compile(r"第\s*" + _W + r"\s*周\s*[,，]\s*" + _YEAR + r"(?:\s*年)?", re.ASCII)),
    ("year_month", re.compile(_L + _YEAR + r"\s*年\s*(\d{1,2})\s*月(?!\s*\d{1,2}\s*[日号])", re.ASCII)),
    ("month_year", re.compile(_L + r"(" + _MONTH_NAMES + r")\.?\s*,?\s*" + _YEAR + _R, _I)),
    ("year_month_name", re.compile(_L + _YEAR + r"\s+(" + _MONTH_NAMES + r")\b", _I)),
    ("year_month", re.compile(_L + _YEAR + r"[-/.](0[1-9]|1[0-2])" + _R, re.ASCII)),
    # "34期" without 第, as readers type it; not 期望 (expect), 期间 (period), 期刊 (journal), 期待, 期限, 期末.
    ("number", re.compile(r"(?<![\w.\-/#&])" + _N + r"\s*期(?![望间刊待限末])", re.ASCII)),
    ("number", re.compile(r"(?<![\w#&])#\s?" + _N + _R, re.ASCII)),
    ("week", re.compile(r"(?<![年\d])第\s*" + _W + r"\s*周", re.ASCII)),
    # "week 13" with no year: the archive decides (the only week 13, or the several listed).
    ("week", re.compile(_L + r"(?:week|wk)[\s_\-]*" + _W + _R, _I)),
    ("slug", re.compile(r"(?<![\w\-/])(akiras?-(?:ml|machine-learning)-news-[a-z0-9\-]*[a-z0-9])", _I)),
)

DEFAULT_TEMPLATES: tuple[str, ...] = (
    "issue {n}", "第 {n} 期",
    "TWiR {n}", "This Week in Rust {n}", "周刊 {n}", "周刊 {n} 期", "周刊 第 {n} 期",
    "the week of {date}", "week of {date}", "{date} issue", "issue of {date}",
    "TWiR {date}", "TWiR of {date}", "This Week in Rust {date}", "This Week in Rust of {date}",
    "{date} 那期", "{date} 的那期", "{date} 这期", "{date} 的周刊",
    "TWiR {month}", "TWiR of {month}", "This Week in Rust {month}", "{month} 那期", "{month} 的那期", "{month} 这期",
)
"""How readers name an issue of the newsletters newsbot knows; an archive's profile can supply its own list.

A template is text with one placeholder: ``{n}`` (an issue number, optionally after ``#`` or ``No.``),
``{date}`` (``2024-01-03``, ``2024/1/3``, ``2024 年 1 月 3 日``, ``January 3, 2024``, ``3 Jan 2024``) or
``{month}`` (``April 2017``, ``2017 年 4 月``, ``2017-04``); or both ``{year}`` and ``{week}``.
Case is ignored and a space matches any spacing, none included (``第34期``, ``TWiR #528``)."""

_PLACEHOLDERS = {
    "{n}": r"(?:no\.?\s*)?#?\s*" + _N,
    # 2024-01-03, 2024/1/3, 2024 年 1 月 3 日 | January 3, 2024 | 3 Jan 2024
    "{date}": "(?:" + _YEAR + r"\s*(?:[-/.]|年)\s*(0?[1-9]|1[0-2])\s*(?:[-/.]|月)\s*(0?[1-9]|[12]\d|3[01])"
              + r"(?:\s*[日号])?|(" + _MONTH_NAMES + r")\.?\s*(0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s*,?\s*" + _YEAR
              + r"|(0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(" + _MONTH_NAMES + r")\.?\s*,?\s*" + _YEAR + ")",
    # April 2017 | 2017 年 4 月 | 2017-04
    "{month}": "(?:(" + _MONTH_NAMES + r")\.?\s*,?\s*" + _YEAR + "|" + _YEAR + r"\s*年\s*(0?[1-9]|1[0-2])\s*月"
               + "|" + _YEAR + r"[-/.](0[1-9]|1[0-2]))",
    # Together, as in 2021 年第 13 周 or week 13 of 2021.
    "{year}": _YEAR,
    "{week}": _W,
}
_KINDS = {("{n}",): "number", ("{date}",): "date", ("{month}",): "month", ("{year}", "{week}"): "year_week",
          ("{week}", "{year}"): "week_year"}
"""The placeholders a template may hold, in order, and the kind of reference it then names."""
_PLACEHOLDER_RE = re.compile(r"(\{[^{}]*\})")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]", re.ASCII)


@functools.cache
def compile_templates(templates: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """``(kind, pattern)`` for each template; a bad template raises ``ValueError`` naming it.

    >>> [kind for kind, _ in compile_templates(("TWiR {n}", "the week of {date}", "TWiR {month}",
    ...                                         "{year} 年第 {week} 周", "week {week} of {year}"))]
    ['number', 'date', 'month', 'year_week', 'week_year']
    >>> compile_templates(("{n}",))
    Traceback (most recent call last):
    ...
    ValueError: issue reference template '{n}': needs some text besides its placeholders
    >>> compile_templates(("week {w}",))
    Traceback (most recent call last):
    ...
    ValueError: issue reference template 'week {w}': unknown placeholder {w} (use {n}, {date}, {month}, {year}, {week})
    """
    return tuple(_compile_template(t) for t in templates)


@functools.cache
def check_templates(templates: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``(kind, regex source)`` for each template, each checked as :func:`compile_templates` does, uncompiled."""
    return tuple(_template_source(t) for t in templates)


def _compile_template(template: str) -> tuple[str, re.Pattern[str]]:
    kind, source = _template_source(template)
    return kind, re.compile(source, _I)


def _template_source(template: str) -> tuple[str, str]:
    where = f"issue reference template {template!r}"
    pieces = [p for p in _PLACEHOLDER_RE.split(template.strip()) if p.strip()]
    holders = [p for p in pieces if _PLACEHOLDER_RE.fullmatch(p)]
    for p in holders:
        if p not in _PLACEHOLDERS:
            raise ValueError(f"{where}: unknown placeholder {p} (use {{n}}, {{date}}, {{month}}, {{year}}, {{week}})")
    kind = _KINDS.get(tuple(holders))
    if kind is None:
        raise ValueError(f"{where}: needs one placeholder, {{n}}, {{date}} or {{month}}, or both {{year}} and "
                         "{week}")
    if len(pieces) == len(holders):
        raise ValueError(f"{where}: needs some text besides its placeholders")
    if "{" in _PLACEHOLDER_RE.sub("", template) or "}" in _PLACEHOLDER_RE.sub("", template):
        raise ValueError(f"{where}: a brace outside its placeholder")
    words: list[str] = []
    for p in pieces:
        words.extend([_PLACEHOLDERS[p]] if p in holders else map(re.escape, p.split()))
    body = r"\s*".join(words)
    # Word boundaries only where the template has a letter or a number at its edge ("TWiR 5" in "XTWiR 5"
    # is no reference); a CJK edge such as 期 needs none.
    first, last = pieces[0], pieces[-1]
    left = _L if first in holders or _ASCII_ALNUM.match(first[0]) else ""
    right = _R if last in holders or _ASCII_ALNUM.match(last[-1]) else ""
    return kind, left + body + right


_WHOLE_NUMBER = re.compile(r"^\s*(?:no\.?\s*)?#?\s*(\d{1,3})\s*$", _I)
_WHOLE_WEEK = re.compile(r"^\s*W\s*(\d{1,2})\s*$", _I)
_WHOLE_LATEST = re.compile(r"^\s*(?:最新|最近|latest|newest|last|current|recent)\s*$", _I)
_WHOLE_SLUG = re.compile(r"^\s*([a-z][a-z0-9]*(?:-[a-z0-9]+){2,})\s*$", _I)
_SLUG_WEEK = re.compile(r"week-?(\d{1,2})-(20[12]\d)")
_FULL_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")
_SLUG_MONTH = re.compile(r"(" + "|".join(_FULL_MONTHS) + r")-(20[12]\d)")
_SLUG_NUMBER = re.compile(r"news-(?:issue-)?(\d{1,3})(?:-[0-9a-f]{6,})?$")
# What is left around a removed reference and means nothing on its own.
_LEFTOVER_BEFORE = re.compile(r"(?:\b(?:in|from|of|on|for)\s*|在\s*)$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_LEFTOVER_AFTER = re.compile(r"^\s*(?:里面|里|中|的)")
_EDGE_PUNCT = " \t\r\n,，。.:：;；!！?？、-—"
# Chinese input methods type full-width digits, letters and "#"; fold them one-to-one so that
# positions in the folded text are positions in the original.
_FOLD = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


def parse_issue_ref(text: str, templates: Sequence[str] = DEFAULT_TEMPLATES) -> IssueRef | None:
    """Read a whole command argument as an issue reference; None if it is not one.

    >>> parse_issue_ref("34"), parse_issue_ref("#18"), parse_issue_ref("第34期")
    (IssueRef(number=34, year=None, week=None, month=None, latest=False, slug=None, date=None), \
IssueRef(number=18, year=None, week=None, month=None, latest=False, slug=None, date=None), \
IssueRef(number=34, year=None, week=None, month=None, latest=False, slug=None, date=None))
    >>> parse_issue_ref("Issue #34").number, parse_issue_ref("issue 34").number, parse_issue_ref("第 34 期").number
    (34, 34, 34)
    >>> [(r.year, r.week) for r in map(parse_issue_ref, ["2021-W13", "2021 年第 13 周", "week 13 2021",
    ...                                                  "week 13, 2021", "W13 2021"]) if r]
    [(2021, 13), (2021, 13), (2021, 13), (2021, 13), (2021, 13)]
    >>> [(r.year, r.month) for r in map(parse_issue_ref, ["2020 年 9 月", "2020-09", "September 2020",
    ...                                                   "sep 2020"]) if r]
    [(2020, 9), (2020, 9), (2020, 9), (2020, 9)]
    >>> parse_issue_ref("34期").number, parse_issue_ref("week 13"), parse_issue_ref("W13") == parse_issue_ref("week 13")
    (34, IssueRef(number=None, year=None, week=13, month=None, latest=False, slug=None, date=None), True)
    >>> parse_issue_ref("最新一期").latest, parse_issue_ref("latest").latest
    (True, True)
    >>> parse_issue_ref("akiras-ml-news-week41-2020-0a1b2c3d4e5f")  # doctest: +NORMALIZE_WHITESPACE
    IssueRef(number=None, year=2020, week=41, month=None, latest=False,
             slug='akiras-ml-news-week41-2020-0a1b2c3d4e5f', date=None)
    >>> parse_issue_ref("ViT 鲁棒性") is None, parse_issue_ref("") is None
    (True, True)
    """
    text = text.translate(_FOLD)
    if m := _WHOLE_NUMBER.match(text):
        n = int(m.group(1))
        return IssueRef(number=n) if n > 0 else None
    if _WHOLE_LATEST.match(text):
        return IssueRef(latest=True)
    if m := _WHOLE_WEEK.match(text):
        return _week(None, int(m.group(1)))
    found = _find(text, templates)
    if found is not None:
        ref, start, end = found
        rest = _tidy(text[:start], text[end:])
        if not rest:
            return ref
    if m := _WHOLE_SLUG.match(text):
        return _slug_ref(m.group(1))
    return None


def extract_issue_ref(query: str, templates: Sequence[str] = DEFAULT_TEMPLATES) -> tuple[IssueRef | None, str]:
    """Find an issue reference inside a question; return it and the question without it.

    >>> extract_issue_ref("第 34 期 讲了什么 ViT")
    (IssueRef(number=34, year=None, week=None, month=None, latest=False, slug=None, date=None), '讲了什么 ViT')
    >>> extract_issue_ref("what did issue 34 say about ViT?")[1]
    'what did say about ViT?'
    >>> ref, rest = extract_issue_ref("2021 年第 13 周的论文")
    >>> (ref.year, ref.week, rest) if ref else None
    (2021, 13, '论文')
    >>> [extract_issue_ref(q)[0] for q in ("GPT-3 的论文", "ResNet-50", "2021 年的论文", "16x16 patches",
    ...                                    "2101.01234 是什么", "34 层网络", "latest papers on ViT", "顶级 3 期刊")]
    [None, None, None, None, None, None, None, None]
    >>> extract_issue_ref("34期讲了什么")[0].number, extract_issue_ref("ViT in week 13")[0].week
    (34, 13)
    >>> extract_issue_ref("最新一期有什么")[0].latest
    True
    """
    found = _find(query.translate(_FOLD), templates)
    if found is None:
        return None, query
    ref, start, end = found
    return ref, _tidy(query[:start], query[end:])


def matches(ref: IssueRef, issue: Issue) -> bool:
    """True when ``issue`` is one the reference names.

    Numbers, weeks and months must all agree where the reference sets them. A month also names the
    weekly issues whose covered week starts in it (``2020 年 9 月`` → the September digest and weeks
    37–40); callers that want one issue should prefer the digest (``issue.month`` set). ``latest``
    needs the whole archive, so it never matches a single issue here.

    >>> wk = Issue("akiras-ml-news-week41-2020-0a1b2c3d4e5f", "T", None, "issue", (), year=2020, week=41)
    >>> matches(IssueRef(year=2020, week=41), wk), matches(IssueRef(number=41), wk)
    (True, False)
    >>> matches(IssueRef(slug="akiras-ml-news-week41-2020"), wk), matches(IssueRef(latest=True), wk)
    (True, False)
    >>> twir = Issue("this-week-in-rust-528", "T", None, "issue", (), number=528, date=dt.date(2024, 1, 3))
    >>> [matches(IssueRef(date=dt.date(2024, 1, d)), twir) for d in (1, 3, 7, 8)]
    [True, True, True, False]
    """
    if ref.latest:
        return False
    if ref.slug is not None:
        sid, slug = issue.id.lower(), ref.slug.lower()
        if sid == slug or sid.startswith(slug + "-"):
            return True
        # "week-13-2021" is not an id, but it still names a week.
    if issue.kind != "issue":
        return False
    if ref.date is not None:
        return _same_week(ref.date, issue)
    if ref.number is None and ref.week is None and ref.month is None:
        return False
    if ref.number is not None and issue.number != ref.number:
        return False
    if ref.week is not None:
        if issue.week != ref.week:
            return False
        if ref.year is not None and issue.year != ref.year:
            return False
    if ref.month is not None:
        if issue.month is not None:
            return issue.month == ref.month and (ref.year is None or issue.year == ref.year)
        d = issue.date
        if d is None or issue.date_estimated or d.month != ref.month:
            return False
        return ref.year is None or d.year == ref.year
    return True


def _same_week(day: dt.date, issue: Issue) -> bool:
    # "The week of 2024-01-01" names the issue of that Monday-to-Sunday week, whichever day it went out.
    d = issue.date
    return d is not None and not issue.date_estimated and d.isocalendar()[:2] == day.isocalendar()[:2]


def _find(text: str, templates: Sequence[str]) -> tuple[IssueRef, int, int] | None:
    best: tuple[IssueRef, int, int] | None = None
    check_templates(tuple(templates))  # a bad template is named whatever the question
    # Every placeholder holds a digit, so a question without one is not looked at with them, nor are they compiled
    # for it (compiling them is most of a start-up's first answer that names no issue).
    own = compile_templates(tuple(templates)) if _DIGIT.search(text) else ()
    for kind, pattern in _INLINE + own:
        m = pattern.search(text)
        if m is None:
            continue
        ref = _build(kind, m)
        if ref is None:
            continue
        # The earliest reference wins; at the same place, the longer (more specific) one.
        if best is None or m.start() < best[1] or (m.start() == best[1] and m.end() > best[2]):
            best = (ref, m.start(), m.end())
    return best


def _build(kind: str, m: re.Match[str]) -> IssueRef | None:
    g = m.groups()
    if kind == "latest":
        return IssueRef(latest=True)
    if kind == "slug":
        return _slug_ref(m.group(1))
    if kind == "number":
        n = int(g[0])
        return IssueRef(number=n) if n > 0 else None
    if kind == "week":
        return _week(None, int(g[0]))
    if kind == "year_week":
        return _week(int(g[0]), int(g[1]))
    if kind == "week_year":
        return _week(int(g[1]), int(g[0]))
    if kind == "year_month":
        return _month(int(g[0]), int(g[1]))
    if kind == "date":
        if g[0] is not None:
            return _date(int(g[0]), int(g[1]), int(g[2]))
        if g[3] is not None:
            return _date(int(g[5]), _MONTHS[g[3].lower()], int(g[4]))
        return _date(int(g[8]), _MONTHS[g[7].lower()], int(g[6]))
    if kind == "month":
        if g[0] is not None:
            return _month(int(g[1]), _MONTHS[g[0].lower()])
        return _month(int(g[2] or g[4]), int(g[3] or g[5]))
    if kind == "month_year":
        return _month(int(g[1]), _MONTHS.get(g[0].lower(), 0))
    if kind == "year_month_name":
        return _month(int(g[0]), _MONTHS.get(g[1].lower(), 0))
    return None


def _week(year: int | None, week: int) -> IssueRef | None:
    return IssueRef(year=year, week=week) if 1 <= week <= 53 else None


def _month(year: int, month: int) -> IssueRef | None:
    return IssueRef(year=year, month=month) if 1 <= month <= 12 else None


def _date(year: int, month: int, day: int) -> IssueRef | None:
    try:
        return IssueRef(date=dt.date(year, month, day))
    except ValueError:  # 2023-02-30
        return None


def _slug_ref(slug: str) -> IssueRef:
    s = slug.lower()
    number = year = week = month = None
    if m := _SLUG_WEEK.search(s):
        week, year = int(m.group(1)), int(m.group(2))
    elif m := _SLUG_MONTH.search(s):
        month, year = _MONTHS[m.group(1)], int(m.group(2))
    elif m := _SLUG_NUMBER.search(s):
        number = int(m.group(1))
    return IssueRef(number=number, year=year, week=week, month=month, slug=s)


def _tidy(before: str, after: str) -> str:
    before = _LEFTOVER_BEFORE.sub("", before.rstrip())
    after = _LEFTOVER_AFTER.sub("", after)
    # Only the seam is tidied: the question keeps its own final "?".
    before, after = before.rstrip(_EDGE_PUNCT), after.lstrip(_EDGE_PUNCT)
    joined = f"{before} {after}" if before and after else before or after
    return _SPACES.sub(" ", joined).strip()
