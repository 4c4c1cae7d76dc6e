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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from xml.sax import SAXException

import feedparser
import markdownify

from bot.errors import FeedItemError, FeedParseError
from retrieval.links import link_key
from retrieval.parse import slug_of

__all__ = ["MAX_GROWTH", "MAX_HTML_DEPTH", "MAX_ITEM_SECONDS", "FeedItem", "FeedItemError", "FeedParseError",
           "ItemLimits", "ParsedFeed", "convert_item", "file_stem", "html_depth", "html_text", "html_to_markdown",
           "item_markdown", "parse_feed"]

MAX_HTML_DEPTH = 64
"""HTML nested deeper than this is refused before markdownify: its recursion overflows near 400 levels, and
each level of blockquote repeats its ``>`` prefix on every line below it (a small feed, a huge file)."""
MAX_ITEM_SECONDS = 20.0
"""A conversion still running after this long is stopped and its item skipped (a worker-thread bound)."""
MAX_GROWTH = 4
"""An item's markdown may be at most this many times its HTML (plus the head): markdown is shorter than
HTML, so more means a pathological document."""

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


@dataclass(frozen=True, slots=True)
class ItemLimits:
    max_bytes: int = 1_048_576
    """The largest archive file one item may become (UTF-8 bytes)."""
    max_depth: int = MAX_HTML_DEPTH
    seconds: float = MAX_ITEM_SECONDS
    growth: int = MAX_GROWTH


class _Converter(markdownify.MarkdownConverter):
    """markdownify, keeping what the newsletter parser reads, stopping at a deadline."""

    deadline = float("inf")

    def process_tag(self, node: Any, parent_tags: Any = None) -> str:
        # Checked once per element: a cheap, cooperative time bound (a thread cannot be killed).
        if time.monotonic() > self.deadline:
            raise FeedItemError("conversion took too long")
        return str(super().process_tag(node, parent_tags))  # type: ignore[misc]

    def convert_a(self, el: Any, text: str, parent_tags: Any) -> str:
        # An empty anchor around an embed card still carries the item's URL; markdownify drops it.
        href = el.get("href")
        if href and not text.strip() and "_noformat" not in parent_tags:
            return f"[]({href})"
        return str(super().convert_a(el, text, parent_tags))  # type: ignore[misc]


_OPTIONS: dict[str, Any] = dict(
    heading_style="ATX", bullets="*",
    autolinks=False,  # "<https://…>" autolinks: the parser wants [text](url), as Medium's export writes it
    escape_asterisks=False, escape_underscores=False, escape_misc=False,  # the text is read, not rendered
)
_CONVERTER = _Converter(**_OPTIONS)

_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"])
# Tags an HTML parser closes by opening a sibling (<p>a<p>b are siblings, not nested).
_SELF_CLOSING_SIBLINGS = frozenset(["p", "li", "dt", "dd", "tr", "td", "th", "option"])


class _DepthCounter(HTMLParser):
    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.depth = 0
        self.limit = limit

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _VOID:
            return
        if tag in _SELF_CLOSING_SIBLINGS and self.stack and self.stack[-1] == tag:
            self.stack.pop()
        self.stack.append(tag)
        self.depth = max(self.depth, len(self.stack))
        if self.depth > self.limit:
            raise FeedItemError(f"HTML nested deeper than {self.limit} levels")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:  # a stray end tag closes nothing
            while self.stack.pop() != tag:
                pass


def html_depth(html: str, limit: int = 1 << 30) -> int:
    """The deepest element nesting in ``html`` (void elements do not nest); raise :class:`FeedItemError` as soon
    as it passes ``limit``. Linear and without recursion, so it is safe on any input.

    >>> html_depth("<div><p>a<p>b<br><b>c</b></div>"), html_depth("text"), html_depth("</i></i><i>")
    (3, 0, 1)
    >>> html_depth("<blockquote>" * 70, limit=64)
    Traceback (most recent call last):
    ...
    bot.errors.FeedItemError: HTML nested deeper than 64 levels
    """
    counter = _DepthCounter(limit)
    counter.feed(html)
    counter.close()
    return counter.depth


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    """The text of an HTML fragment, without markup (an Atom ``type="html"`` title).

    >>> html_text("<b>Deep</b> learning &amp; <i>you</i> &lt;3")
    'Deep learning & you <3'
    """
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


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


def convert_item(item: FeedItem, limits: ItemLimits) -> str:
    """:func:`item_markdown` within ``limits``: raise :class:`FeedItemError` with the reason for an item nested too
    deep, taking too long, or becoming too large. Meant for a worker thread.

    >>> item = FeedItem("k", "https://x.org/a", "A", "<p>hi</p>")
    >>> convert_item(item, ItemLimits())
    '# A\\n\\n> 原文：<https://x.org/a>\\n\\nhi\\n'
    >>> convert_item(item, ItemLimits(max_bytes=10))
    Traceback (most recent call last):
    ...
    bot.errors.FeedItemError: its markdown would be 38 bytes (the limit is 10)
    """
    html_depth(item.html, limits.max_depth)
    converter = _Converter(**_OPTIONS)
    converter.deadline = time.monotonic() + limits.seconds
    text = item_markdown(item, converter)
    size = len(text.encode("utf-8"))
    head = len(item.title.encode("utf-8")) + len(item.link) + 64
    if size > limits.max_bytes:
        raise FeedItemError(f"its markdown would be {size} bytes (the limit is {limits.max_bytes})")
    if size > limits.growth * len(item.html.encode("utf-8")) + head:
        raise FeedItemError(f"its markdown would be {size} bytes from {len(item.html.encode('utf-8'))} bytes of "
                          f"HTML (more than {limits.growth}×)")
    return text


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def item_markdown(item: FeedItem, converter: markdownify.MarkdownConverter = _CONVERTER) -> str:
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
    body = str(converter.convert(item.html)).strip()
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


def _entry_title(entry: Any) -> str:
    title = str(entry.get("title") or "")
    # feedparser keeps an Atom type="html" (or xhtml) title's markup; a title is text.
    if "html" in str((entry.get("title_detail") or {}).get("type", "")):
        title = html_text(title)
    return _one_line(title)


def parse_feed(data: bytes, url: str = "") -> ParsedFeed:
    """Parse RSS 2.0 or Atom bytes. A document that is not well-formed XML is refused as a whole:
    a half-read feed could hold a truncated item that would overwrite a good file.

    >>> rss = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
    ...        b"<item><guid>g1</guid><title>A</title><link>https://x.org/a</link><description>&lt;p&gt;hi&lt;/p&gt;"
    ...        b"</description></item><item><title>no link</title></item></channel></rss>")
    >>> feed = parse_feed(rss)
    >>> [(i.key, i.link, i.title, i.html) for i in feed.items], feed.skipped
    ([('g1', 'https://x.org/a', 'A', '<p>hi</p>')], ("item 'no link' has no link; skipped",))
    >>> [i.key for i in parse_feed(rss.replace(b"<guid>g1</guid>", b"")).items]
    ['x.org/a']
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
        title = _entry_title(entry)
        link = str(entry.get("link") or "").strip()
        # The whole link (by the project's one link identity), never a path segment: ?id=1 and ?id=2 differ.
        key = str(entry.get("id") or "").strip() or link_key(link)
        name = title[:60] or key[:60] or "untitled"
        if not link.startswith(("http://", "https://")):
            skipped.append(f"item {name!r} has no link; skipped")
            continue
        if key in seen or link_key(link) in seen:
            skipped.append(f"item {name!r} appears twice in the feed; the first copy is used")
            continue
        seen.update((key, link_key(link)))
        items.append(FeedItem(key=key, link=link, title=title, html=_entry_html(entry)))
    return ParsedFeed(title=_one_line(str(parsed.feed.get("title") or "")), items=tuple(items),
                      skipped=tuple(skipped))
