"""Pure conversion: feed bytes → :class:`FeedItem` values → the markdown text of an archive file.

No I/O here. feedparser is given bytes (never a URL, so its blocking fetcher is never used), and HTML
becomes markdown through markdownify (docs/contributing.md says why markdownify and not html2text).

The file a feed item becomes has the same head as a file saved by hand::

    # <title>

    > 原文：<<link>>

    <body as markdown>

so :func:`retrieval.parse.parse_markdown` gives the same issue, sections and entries for both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax import SAXException

import feedparser
import markdownify

from bot.errors import FeedParseError
from retrieval.parse import slug_of

__all__ = ["FeedItem", "FeedParseError", "ParsedFeed", "file_stem", "html_to_markdown", "item_markdown",
           "parse_feed"]




@dataclass(frozen=True, slots=True)
class FeedItem:
    """One feed entry, as the archive needs it."""

    key: str
    """Identity: the entry's id (RSS guid, Atom id), else its link."""
    link: str
    """The item's web address; it becomes the file's 原文 line."""
    title: str
    html: str
    """The richest body the feed carries (``content:encoded`` / Atom content, else the summary)."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: tuple[FeedItem, ...]
    skipped: tuple[str, ...]
    """One reason per entry that could not become an item (no link, a duplicate)."""


class _Converter(markdownify.MarkdownConverter):
    """markdownify, keeping what the newsletter parser reads."""

    def convert_a(self, el: Any, text: str, parent_tags: Any) -> str:
        # An empty anchor around an embed card still carries the item's URL; markdownify drops it.
        href = el.get("href")
        if href and not text.strip() and "_noformat" not in parent_tags:
            return f"[]({href})"
        return str(super().convert_a(el, text, parent_tags))  # type: ignore[misc]


_CONVERTER = _Converter(
    heading_style="ATX", bullets="*",
    autolinks=False,  # "<https://…>" autolinks: the parser wants [text](url), as Medium's export writes it
    escape_asterisks=False, escape_underscores=False, escape_misc=False,  # the text is read, not rendered
)


def html_to_markdown(html: str) -> str:
    """HTML to markdown the archive parser reads like a hand-saved file.

    >>> html_to_markdown("<h1>1.机器学习论文</h1><p><a href='https://arxiv.org/abs/2010.01412'>SAM</a> 很好。</p>")
    '# 1.机器学习论文\\n\\n[SAM](https://arxiv.org/abs/2010.01412) 很好。'
    >>> html_to_markdown("<p><a href='https://x.org/a'>https://x.org/a</a><script>alert(1)</script></p>")
    '[https://x.org/a](https://x.org/a)'
    >>> html_to_markdown("<p><a href='https://arxiv.org/abs/1'></a><b>标题</b></p>")
    '[](https://arxiv.org/abs/1)**标题**'
    """
    return str(_CONVERTER.convert(html)).strip()


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def item_markdown(item: FeedItem) -> str:
    """The archive file for an item: title heading, 原文 line, body.

    >>> print(item_markdown(FeedItem("id-1", "https://example.com/p/akiras-ml-news-week41-2020-0a1b2c3d4e5f",
    ...                              "2020 年\\n第 41 周", "<p>以下是本周的论文。</p>")))
    # 2020 年 第 41 周
    <BLANKLINE>
    > 原文：<https://example.com/p/akiras-ml-news-week41-2020-0a1b2c3d4e5f>
    <BLANKLINE>
    以下是本周的论文。
    <BLANKLINE>
    """
    title = _one_line(item.title) or _one_line(slug_of(item.link)) or "untitled"
    body = html_to_markdown(item.html)
    return f"# {title}\n\n> 原文：<{item.link}>\n\n{body}\n"


def file_stem(item: FeedItem) -> str:
    """A safe, stable file name (without ``.md``) for an item: its link's slug, else a hash of its key.

    >>> file_stem(FeedItem("x", "https://medium.com/a/akiras-ml-news-week41-2020-0a1b2c3d4e5f?s=1", "", ""))
    'akiras-ml-news-week41-2020-0a1b2c3d4e5f'
    >>> file_stem(FeedItem("tag:x,2021:1", "https://example.com/", "", ""))
    'item-ce352d43e4ff'
    >>> file_stem(FeedItem("k", "https://example.com/../../etc/passwd", "", ""))
    'passwd'
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", slug_of(item.link)).strip(".-")[:120]
    if stem:
        return stem
    return "item-" + hashlib.sha1(item.key.encode("utf-8")).hexdigest()[:12]


def _entry_html(entry: Any) -> str:
    contents: Sequence[Any] = entry.get("content") or ()
    # Prefer HTML content; an Atom feed may carry a text and an HTML version.
    for content in sorted(contents, key=lambda c: "html" not in str(c.get("type", ""))):
        value = content.get("value")
        if value:
            return str(value)
    return str(entry.get("summary") or entry.get("description") or "")


def parse_feed(data: bytes, url: str = "") -> ParsedFeed:
    """Parse RSS 2.0 or Atom bytes. A document that is not well-formed XML is refused as a whole:
    a half-read feed could hold a truncated item that would overwrite a good file.

    >>> rss = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
    ...        b"<item><guid>g1</guid><title>A</title><link>https://x.org/a</link><description>&lt;p&gt;hi&lt;/p&gt;"
    ...        b"</description></item><item><title>no link</title></item></channel></rss>")
    >>> feed = parse_feed(rss)
    >>> [(i.key, i.link, i.title, i.html) for i in feed.items], feed.skipped
    ([('g1', 'https://x.org/a', 'A', '<p>hi</p>')], ("item 'no link' has no link; skipped",))
    >>> parse_feed(b"<rss><channel><item><title>broken</ti")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bot.errors.FeedParseError: malformed XML: ...
    >>> parse_feed(b"<html><body>hello</body></html>")
    Traceback (most recent call last):
    ...
    bot.errors.FeedParseError: not an RSS or Atom feed
    """
    # Relative links stay relative: the archive parser resolves them against the item's 原文 URL, as it does
    # for a hand-saved file (feedparser would resolve them against the feed's URL).
    parsed = feedparser.parse(data, response_headers={"content-location": url} if url else None,
                              sanitize_html=False, resolve_relative_uris=False)
    error = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(error, SAXException):
        raise FeedParseError(f"malformed XML: {_one_line(str(error))[:200]}")
    if not parsed.get("version"):
        raise FeedParseError("not an RSS or Atom feed")
    items: list[FeedItem] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        title = _one_line(str(entry.get("title") or ""))
        link = str(entry.get("link") or "").strip()
        key = str(entry.get("id") or "").strip() or link
        name = title[:60] or key[:60] or "untitled"
        if not link.startswith(("http://", "https://")):
            skipped.append(f"item {name!r} has no link; skipped")
            continue
        if key in seen or link in seen:
            skipped.append(f"item {name!r} appears twice in the feed; the first copy is used")
            continue
        seen.update((key, link))
        items.append(FeedItem(key=key, link=link, title=title, html=_entry_html(entry)))
    return ParsedFeed(title=_one_line(str(parsed.feed.get("title") or "")), items=tuple(items),
                      skipped=tuple(skipped))
