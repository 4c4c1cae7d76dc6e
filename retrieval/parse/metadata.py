"""An issue's number, year, week, month and date, from its 原文 slug, its title and the first lines of its body.

* **number, week, month**: the slug first (``…-issue-40-<hash>``, ``…-week41-2020-<hash>``,
  ``…-september-2020-<hash>``), then the title and the intro (``2020 年第 41 周``, ``2021 年 3 月``).
* **date**: the start date the intro prints (``(9 月 13 日~)``, ``2021 年 7 月 25 日一周``) unless the
  sentence names another week or the date is more than 10 days from the week's ISO Monday (source
  typos: week 48 says 第 47 周, week 39 says 9 月 10 日); else the ISO Monday of (year, week), else
  the 1st of a digest's month. Numbered issues with no date are estimated (``date_estimated``):
  weekly cadence from issue #24 (2021-08-08, the last one that prints a date), but never before the
  month of the newest arXiv id the issue cites.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from retrieval.links import link_hash, link_key
from retrieval.markdown import strip_asterisks
from retrieval.parse.segment import section_for

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
_ARXIV_ID = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|[\[【]\s*)(\d{2})(\d{2})\.\d{4,5}", re.ASCII)
_INTRO_LINES = 4
_MIN_YEAR, _MAX_YEAR = 1990, 2100
_DATE_TOLERANCE = dt.timedelta(days=10)
# The last numbered issue that prints its date; undated later issues are counted weekly from it.
_ANCHOR_NUMBER, _ANCHOR_DATE = 24, dt.date(2021, 8, 8)


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


_INDEX_PAGES = frozenset({"index.html", "index.htm", "index.php", "index.shtml", "default.htm", "default.aspx"})
"""Last segments that do not name a page by themselves (``…/2021/01/index.html``)."""
_SHORT_SEGMENT = 24
"""A last segment this short (``article``, ``view.php``) with a query is named by its query, not by itself."""


def issue_id_of(url: str) -> str:
    """An issue's id from its 原文 URL: the last path segment, readable and what the archive has always used; when
    that segment does not name the page alone (an index page, or a short segment with a query that names the page:
    ``article?id=3``), the segment plus eight hex digits of the whole link's identity, so two such pages never
    share an id. A long, specific segment keeps its plain id whatever its query (a post's slug with a campaign
    tag). The id is a function of the URL alone: it never changes as other issues arrive.

    >>> issue_id_of("https://medium.com/analytics-vidhya/akiras-ml-news-week41-2020-5a3e0c000041?source=rss----7219b4dc6c4c---4")
    'akiras-ml-news-week41-2020-5a3e0c000041'
    >>> issue_id_of("https://news.example/article?id=1") != issue_id_of("https://news.example/article?id=2")
    True
    >>> issue_id_of("https://news.example/2021/01/index.html").startswith("index.html-")
    True
    >>> issue_id_of("https://medium.com/x/akiras-ml-news-week41-2020-0a1b2c3d4e5f?s=1")
    'akiras-ml-news-week41-2020-0a1b2c3d4e5f'
    >>> issue_id_of("https://news.example/article?id=1&utm_source=rss") == issue_id_of("http://news.example/article?id=1")
    True
    """
    slug = slug_of(url)
    key = link_key(url)
    generic = slug.lower() in _INDEX_PAGES or ("?" in key and len(slug) <= _SHORT_SEGMENT)
    if not generic:
        return slug
    digest = link_hash(url)
    return f"{slug}-{digest}" if slug else digest


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


def metadata(
    slug: str, title: str, lines: Sequence[str], start: int
) -> tuple[int | None, int | None, int | None, int | None]:
    """``(number, year, week, month)`` of an issue, each None when nothing names it (or it is out of range).

    >>> metadata("akiras-ml-news-week41-2020-0a1b2c3d4e5f", "2020 年第 41 周", [], 0)
    (None, 2020, 41, None)
    >>> metadata("", "Akira 的机器学习新闻 #40", ["本期是 2021 年第 30 周。"], 0)
    (40, 2021, 30, None)
    """
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


def issue_date(
    lines: Sequence[str], start: int, number: int | None, year: int | None, week: int | None, month: int | None
) -> tuple[dt.date | None, bool]:
    """The issue's date and whether it is estimated (counted from the issue number, not read or derived)."""
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
