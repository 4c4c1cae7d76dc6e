"""Feed URLs without their secrets, for every log line, stats line and reply that names a feed.

A feed URL may carry credentials (``https://user:pass@host/feed``) or a token in its query (``?token=…``).
Only the operator's config file holds the raw URL; everything a person or a log reads goes through
:func:`redact_url` (one URL) or :func:`redact_urls` (URLs inside a message, e.g. an aiohttp error).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "***"
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"'`]+")


def redact_url(url: str) -> str:
    """``url`` with its user-info and every query value (and any fragment) masked; scheme, host, port and
    path are kept, so an operator still recognises the feed.

    >>> redact_url("https://user:pass@host/feed?token=abc&x=1")
    'https://***@host/feed?token=***&x=***'
    >>> redact_url("https://medium.com/feed/@akira")
    'https://medium.com/feed/@akira'
    >>> redact_url("http://u@[::1]:8080/f?k#frag")
    'http://***@[::1]:8080/f?***#***'
    >>> redact_url("http://[::1:8080/f?k=v")  # unparseable: nothing after the scheme is trusted
    'http://***'
    >>> redact_url("file:///srv/feeds/a.xml")
    'file:///srv/feeds/a.xml'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://{MASK}" if sep else MASK
    netloc = parts.netloc
    if "@" in netloc:
        # rpartition: a password may itself contain "@"; the host (with an IPv6 literal's brackets) follows the last.
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    out = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"{netloc}{parts.path}"
    if parts.query:
        out += "?" + "&".join(_mask_param(p) for p in parts.query.split("&"))
    if parts.fragment:
        out += f"#{MASK}"
    return out


def _mask_param(param: str) -> str:
    """One ``key=value`` with its value masked; a bare word may itself be the token.

    >>> _mask_param("token=abc"), _mask_param("s3cr3t"), _mask_param("")
    ('token=***', '***', '')
    """
    if not param:
        return param
    key, sep, _ = param.partition("=")
    return f"{key}={MASK}" if sep else MASK


def redact_urls(text: str) -> str:
    """Every URL inside ``text`` redacted (:func:`redact_url`); the words around them are kept.

    >>> redact_urls("HTTP 503 from https://a:b@x.org/f?t=1, giving up")
    'HTTP 503 from https://***@x.org/f?t=***, giving up'
    """
    return _URL_IN_TEXT.sub(_redact_match, text)


def _redact_match(m: re.Match[str]) -> str:
    url = m.group()
    url_only = url.rstrip(",.;:)]")  # punctuation that ends the sentence, not the URL
    return redact_url(url_only) + url[len(url_only):]
