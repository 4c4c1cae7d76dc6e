"""One definition of "the same link", and the tracking parameters a link drops.

Two functions, used everywhere a link is compared or stored (the parser, "also in", the evaluation):

* :func:`strip_tracking` removes what only says how a reader arrived: Revue's ``utm_*`` parameters and
  Medium's ``source=collection_archive…`` and ``gi=<hash>`` suffixes. Every other parameter is kept as written.
* :func:`link_key` is the identity of the page a link points at: an arXiv id without version, otherwise the
  tracking-free link without scheme, ``www.``, fragment or trailing ``/`` and ``?``, host in lower case.
  Two links are the same link exactly when their keys are equal.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["link_key", "same_link", "strip_tracking"]

_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)
# Medium appends "?source=collection_archive---------3-----------------------" (post_page---…, rss----…) to post
# links; its runs of dashes tell it from a site's own source= parameter (GitHub's search?source=code).
_MEDIUM_SOURCE = re.compile(r"^source=[^&]*---", re.IGNORECASE)
# Medium-hosted publications (towardsdatascience.com …) add a per-visit "?gi=5e36973da6db".
_MEDIUM_GI = re.compile(r"^gi=[0-9a-f]{8,16}$", re.IGNORECASE)


def _tracking(param: str) -> bool:
    low = param.lower()
    return low.startswith("utm_") or bool(_MEDIUM_SOURCE.match(low)) or bool(_MEDIUM_GI.match(low))


def strip_tracking(url: str) -> str:
    """``url`` without ``utm_*``, Medium ``source=…`` and ``gi=<hash>`` parameters; everything else kept as written.

    >>> strip_tracking("https://arxiv.org/abs/2101.00001?utm_campaign=News%27s&utm_medium=email")
    'https://arxiv.org/abs/2101.00001'
    >>> strip_tracking("https://x.io/a?gi=c9&utm_source=Revue&amp=1#frag")
    'https://x.io/a?gi=c9&amp=1#frag'
    >>> strip_tracking("https://medium.com/p/tabnet-5a3e0c000041?source=collection_archive---------3-----")
    'https://medium.com/p/tabnet-5a3e0c000041'
    >>> strip_tracking("https://towardsdatascience.com/recent-x-transformer-ed32a2c72654?gi=5e36973da6db")
    'https://towardsdatascience.com/recent-x-transformer-ed32a2c72654'
    >>> strip_tracking("https://github.com/foo/bar/search?source=code&q=x")
    'https://github.com/foo/bar/search?source=code&q=x'
    >>> strip_tracking("https://example.com/search?q=source%3Dx")
    'https://example.com/search?q=source%3Dx'
    """
    base, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hsep, fragment = rest.partition("#")
    kept = [p for p in query.split("&") if p and not _tracking(p)]
    out = base + ("?" + "&".join(kept) if kept else "")
    return out + (hsep + fragment if hsep else "")


def link_key(url: str) -> str:
    """The identity of the page ``url`` points at.

    >>> link_key("http://arxiv.org/pdf/2106.10860v2.pdf")
    'arxiv:2106.10860'
    >>> link_key("https://www.Example.com/x/?a=1&utm_source=Revue#top")
    'example.com/x?a=1'
    >>> link_key("https://example.com/post?") == link_key("http://example.com/post/")
    True
    >>> link_key("https://medium.com/@a/post-5a3e0c000041?source=collection_archive---------3-----")
    'medium.com/@a/post-5a3e0c000041'
    """
    arxiv = _ARXIV.search(url)
    if arxiv:
        return f"arxiv:{arxiv.group(1)}"
    u = strip_tracking(url.strip()).split("#", 1)[0]
    u = u.split("://", 1)[-1]
    host, _, rest = u.partition("/")
    host = host.lower()
    if host.startswith("www."):
        host = host[4:]
    base, _, query = rest.partition("?")
    base = base.rstrip("/")
    path = f"{host}/{base}" if base else host
    return f"{path}?{query}" if query else path


def same_link(a: str, b: str) -> bool:
    """True when two links point at the same page.

    >>> same_link("https://arxiv.org/abs/2106.10860", "https://arxiv.org/pdf/2106.10860v1.pdf")
    True
    >>> same_link("https://x.org/a", "https://x.org/b")
    False
    """
    return link_key(a) == link_key(b)


def link_hash(url: str) -> str:
    """Eight hex digits of a link's identity (:func:`link_key`): stable across runs and hosts, for an id that
    must tell two pages apart.

    >>> link_hash("https://x.org/article?id=2") == link_hash("http://www.x.org/article?id=2&utm_source=feed")
    True
    >>> link_hash("https://x.org/article?id=2") == link_hash("https://x.org/article?id=3")
    False
    """
    return hashlib.sha256(link_key(url).encode("utf-8")).hexdigest()[:8]
