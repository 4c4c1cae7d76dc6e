"""Small pure text helpers shared by the renderers."""

from __future__ import annotations

import datetime as dt  # noqa: F401 - used by the doctests
import re

from retrieval.models import Issue

# C0 controls but tab, DEL, and C1 controls (0x9b is an 8-bit CSI): what a terminal would act on. Also the
# invisible format and bidi controls (U+202E turns the rest of a line around) and the lone surrogates that
# surrogateescape makes of undecodable input bytes (printing one raw writes that byte to the terminal).
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\udc80-\udcff]")


def _written_out(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code >= 0xDC80:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    r"""``text`` with every terminal control character written out as ``\xNN``, so typed input echoed back
    in a message is shown, never obeyed by the terminal.

    >>> escape_controls("/nope\x1b[2J")
    '/nope\\x1b[2J'
    >>> escape_controls("变压器\tok\x9b31m")
    '变压器\tok\\x9b31m'
    >>> escape_controls("/issue \u202e21"), escape_controls(b"/issue \xff".decode("utf-8", "surrogateescape"))
    ('/issue \\u202e21', '/issue \\xff')
    """
    return _TERMINAL_CONTROLS.sub(_written_out, text)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, at a sentence or word end when one is near.

    >>> shorten("这是一个很长的摘要。第二句话在这里。", 12)
    '这是一个很长的摘要。…'
    >>> shorten("short", 10)
    'short'
    >>> shorten("one two three four", 12)
    'one two…'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    for mark in ("。", "！", "？", ". ", "; ", "；"):
        pos = cut.rfind(mark)
        if pos >= limit // 2:
            return cut[: pos + len(mark)].rstrip() + "…"
    space = cut.rfind(" ")
    if space >= limit // 2:
        return cut[:space].rstrip() + "…"
    return cut + "…"


def issue_date(issue: Issue) -> str | None:
    """The issue's date for display; estimated dates are marked with ``≈``.

    >>> issue_date(Issue("x", "T", None, "issue", (), date=dt.date(2021, 3, 28)))
    '2021-03-28'
    >>> issue_date(Issue("x", "T", None, "issue", (), date=dt.date(2021, 9, 1), date_estimated=True))
    '≈2021-09-01'
    """
    if issue.date is None:
        return None
    return ("≈" if issue.date_estimated else "") + issue.date.isoformat()


def format_duration(seconds: float) -> str:
    """
    >>> format_duration(3725)
    '1h 2m 5s'
    >>> format_duration(4.2)
    '4s'
    """
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h {m}m {sec}s"
    if m:
        return f"{m}m {sec}s"
    return f"{sec}s"
