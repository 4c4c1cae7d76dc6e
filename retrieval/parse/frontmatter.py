"""Front matter at the top of a markdown file, as static site generators write it, and what a file name says.

Three styles: Pelican's ``Key: value`` header lines (up to the first blank line), Jekyll's and Hugo's ``---`` YAML
block and Hugo's ``+++`` TOML block. TOML is read with the standard library's ``tomllib``; for YAML only simple
``key: value`` lines are read (what newsletters put there: title, date, number, tags on one line), so newsbot needs
no YAML library, whose full language (anchors, tags, multi-document streams) an archive never needs here.
Keys come back lower-cased, values as stripped strings.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from pathlib import PurePath

_PELICAN = re.compile(r"^([A-Za-z][A-Za-z0-9_ -]{0,30}):[ \t]*(.*?)\s*$")
_PELICAN_FIRST = frozenset({"title", "date", "number", "category", "slug", "author", "tags", "summary", "issue"})
_YAML_LINE = re.compile(r"^([A-Za-z_][\w-]{0,40})[ \t]*:[ \t]*(.*?)\s*$")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_FILE_NUMBER = re.compile(r"^(?:.*?[-_ ])?(?:issue|weekly|no|number|vol|episode)[-_ ]?(\d{1,5})$|^(\d{1,5})$",
                          re.IGNORECASE | re.ASCII)
_MAX_LINES = 60


def front_matter(lines: Sequence[str]) -> tuple[dict[str, str], int]:
    """The front matter's keys and values, and the line the rest of the file starts at (0 when there is none).

    >>> front_matter(["Title: This Week in Rust 528", "Number: 528", "Date: 2024-01-03", "", "Hello"])
    ({'title': 'This Week in Rust 528', 'number': '528', 'date': '2024-01-03'}, 3)
    >>> front_matter(["---", "title: \\"第 3 期\\"", "date: 2024-01-05", "---", "# x"])
    ({'title': '第 3 期', 'date': '2024-01-05'}, 4)
    >>> front_matter(["+++", 'title = "Issue 7"', "date = 2024-01-05", "+++"])
    ({'title': 'Issue 7', 'date': '2024-01-05'}, 4)
    >>> front_matter(["# Just a heading", "Note: not front matter"])
    ({}, 0)
    """
    first = next((i for i, line in enumerate(lines[:_MAX_LINES]) if line.strip()), None)
    if first is None:
        return {}, 0
    opener = lines[first].strip()
    if opener in ("---", "+++"):
        end = next((i for i in range(first + 1, min(len(lines), first + _MAX_LINES)) if lines[i].strip() == opener),
                   None)
        if end is None:
            return {}, 0
        block = lines[first + 1:end]
        return (_toml(block) if opener == "+++" else _yaml(block)), end + 1
    m = _PELICAN.match(lines[first])
    if not m or m.group(1).strip().lower() not in _PELICAN_FIRST:
        return {}, 0
    out: dict[str, str] = {}
    i = first
    while i < len(lines) and (m := _PELICAN.match(lines[i])):
        out[m.group(1).strip().lower()] = m.group(2)
        i += 1
    return out, i


def _yaml(block: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block:
        if m := _YAML_LINE.match(line):
            out[m.group(1).lower()] = m.group(2).strip().strip("\"'")
    return out


def _toml(block: Sequence[str]) -> dict[str, str]:
    try:
        data = tomllib.loads("\n".join(block))
    except tomllib.TOMLDecodeError:
        return {}
    return {str(k).lower(): str(v) for k, v in data.items() if isinstance(v, str | int | float | dt.date)}


def date_in(text: str) -> dt.date | None:
    """The first valid ``YYYY-MM-DD`` date in ``text`` (a front matter value or a file name).

    >>> date_in("2024-01-03T10:00:00+00:00"), date_in("2014-11-17-this-week-in-rust.md"), date_in("2024-13-40")
    (datetime.date(2024, 1, 3), datetime.date(2014, 11, 17), None)
    """
    for m in _DATE.finditer(text):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


def number_in_file_name(path: str) -> int | None:
    """The issue number a file name ends in (``issue-350.md``, ``350.md``, ``weekly_12.md``), else None.

    >>> number_in_file_name("docs/issue-350.md"), number_in_file_name("350.md"), number_in_file_name("2024-01-03-x.md")
    (350, 350, None)
    >>> number_in_file_name("my-weekly-12.md"), number_in_file_name("note-0003.md")
    (12, None)
    """
    stem = PurePath(path).stem
    if date_in(stem):
        return None
    m = _FILE_NUMBER.search(stem)
    return int(m.group(1) or m.group(2)) if m else None
