"""Fetch a feed with aiohttp: conditional GET, a timeout, a size cap, bounded redirects.

A 304 costs one round trip and no parsing. Every failure is a :class:`FetchError` carrying a reason a
person can read, whether it is worth retrying, and how long the server asked us to wait (it lives in
:mod:`bot.errors`, and the one error tree is drawn in :mod:`retrieval.errors`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import importlib.metadata
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.errors import FetchError
from bot.redact import redact_urls


def _user_agent() -> str:
    """``newsbot/<installed version> (feed poller)``; a checkout that was never installed says ``unknown``."""
    try:
        return f"newsbot/{importlib.metadata.version('newsbot')} (feed poller)"
    except importlib.metadata.PackageNotFoundError:
        return "newsbot/unknown (feed poller)"


USER_AGENT = _user_agent()
MAX_SERVER_DELAY = 24 * 3600.0
"""A Cache-Control max-age or Retry-After longer than this is capped: a misconfigured server must not
silence a feed for a year."""
_FEED_TYPES = ("xml", "rss", "atom")
_NEUTRAL_TYPES = ("", "text/plain", "application/octet-stream")


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int
    """200, or 304 (not modified: ``body`` is empty)."""
    body: bytes
    etag: str | None
    last_modified: str | None
    max_age: float | None
    """Cache-Control max-age in seconds, if the server sent one."""
    url: str
    """The URL after redirects."""


def parse_max_age(header: str | None) -> float | None:
    """Seconds from a Cache-Control header (``no-store``/``no-cache`` count as 0).

    >>> parse_max_age("public, max-age=7200"), parse_max_age("no-cache"), parse_max_age(None)
    (7200.0, 0.0, None)
    >>> parse_max_age("max-age=99999999")
    86400.0
    """
    if not header:
        return None
    m = re.search(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", header, re.IGNORECASE)
    if m:
        return min(float(m.group(1)), MAX_SERVER_DELAY)
    if re.search(r"no-(?:cache|store)", header, re.IGNORECASE):
        return 0.0
    return None


def parse_retry_after(header: str | None, now: dt.datetime) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date.

    >>> now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    >>> parse_retry_after("120", now), parse_retry_after("Thu, 01 Jan 2026 12:10:00 GMT", now)
    (120.0, 600.0)
    >>> parse_retry_after("soon", now) is None
    True
    """
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return min(float(header), MAX_SERVER_DELAY)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_SERVER_DELAY)


def check_content_type(header: str | None) -> None:
    """Refuse a body that says it is something other than a feed (an HTML error page, an image).

    >>> check_content_type("application/rss+xml; charset=utf-8"), check_content_type(None)
    (None, None)
    >>> check_content_type("text/html; charset=utf-8")
    Traceback (most recent call last):
    ...
    bot.errors.FetchError: wrong content type text/html (expected an RSS or Atom feed)
    """
    mime = (header or "").split(";", 1)[0].strip().lower()
    if mime in _NEUTRAL_TYPES or any(t in mime for t in _FEED_TYPES):
        return
    raise FetchError(f"wrong content type {mime} (expected an RSS or Atom feed)")


async def fetch_feed(session: aiohttp.ClientSession, url: str, *, etag: str | None = None,
                     last_modified: str | None = None, timeout_s: float = 30.0, max_bytes: int = 5_000_000,
                     max_redirects: int = 5, now: dt.datetime | None = None) -> FetchResult:
    """GET ``url`` conditionally; raise :class:`FetchError` with a reason on any failure."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s),
                               allow_redirects=True, max_redirects=max_redirects) as resp:
            max_age = parse_max_age(resp.headers.get("Cache-Control"))
            if resp.status == 304:
                return FetchResult(304, b"", resp.headers.get("ETag") or etag,
                                   resp.headers.get("Last-Modified") or last_modified, max_age, str(resp.url))
            if resp.status != 200:
                raise _status_error(resp.status, resp.reason, resp.headers.get("Retry-After"),
                                    now or dt.datetime.now(dt.UTC))
            check_content_type(resp.headers.get("Content-Type"))
            if resp.content_length is not None and resp.content_length > max_bytes:
                raise FetchError(f"body too large ({resp.content_length} bytes; the limit is {max_bytes})")
            body = bytearray()
            async for chunk in resp.content.iter_chunked(65536):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"body too large (more than {max_bytes} bytes)")
            return FetchResult(200, bytes(body), resp.headers.get("ETag"), resp.headers.get("Last-Modified"),
                               max_age, str(resp.url))
    except aiohttp.TooManyRedirects:
        raise FetchError(f"more than {max_redirects} redirects (a redirect loop?)") from None
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout_s:g} s (timeout)") from None
    except aiohttp.InvalidURL as err:
        raise FetchError(f"invalid URL {redact_urls(str(err))}", permanent=True) from None
    except aiohttp.ClientError as err:
        # aiohttp's messages may quote the URL (a redirect target too): the reason is logged and shown in stats.
        raise FetchError(f"network error: {type(err).__name__}: {redact_urls(str(err))}") from None


def _status_error(status: int, reason: str | None, retry_after: str | None, now: dt.datetime) -> FetchError:
    text = f"HTTP {status} {reason or ''}".strip()
    if status == 410:
        # 410 says "gone for good": asking again on a schedule is noise. A 404 may be a passing mistake.
        return FetchError(text, permanent=True)
    return FetchError(text, retry_after=parse_retry_after(retry_after, now))


def read_feed_file(path: Path, max_bytes: int) -> bytes:
    """A feed document on disk, within the same size cap as a fetched one; raise :class:`FetchError`.
    A device or pipe is refused: /dev/zero never ends."""
    if not stat.S_ISREG(path.stat().st_mode):  # before opening: opening a pipe would wait for a writer
        raise FetchError("not a regular file")
    with path.open("rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise FetchError("not a regular file")
        data = fh.read(max_bytes + 1)  # the file may grow while it is read
    if len(data) > max_bytes:
        raise FetchError(f"file too large (more than {max_bytes} bytes)")
    return data
