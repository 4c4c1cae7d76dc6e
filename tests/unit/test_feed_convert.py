"""Feed item conversion within limits (issue 19): nesting depth, time, output size and growth; identity by the
whole link; Atom HTML titles as text. Pure functions, no I/O."""

from __future__ import annotations

import pytest

from bot.errors import FeedItemError
from bot.feeds.convert import MAX_HTML_DEPTH, FeedItem, ItemLimits, convert_item, file_stem, html_depth, parse_feed


def _item(html: str) -> FeedItem:
    return FeedItem("k", "https://x.example/post", "Title", html)


def test_html_nested_deeper_than_the_limit_is_refused_before_markdownify() -> None:
    deep = "<div>" * 1000 + "x" + "</div>" * 1000  # markdownify's recursion overflows on this
    with pytest.raises(FeedItemError, match=f"HTML nested deeper than {MAX_HTML_DEPTH} levels"):
        convert_item(_item(deep), ItemLimits())
    ok = "<blockquote>" * MAX_HTML_DEPTH + "x" + "</blockquote>" * MAX_HTML_DEPTH
    assert convert_item(_item(ok), ItemLimits()).endswith("x\n")


def test_depth_counts_unclosed_siblings_and_void_elements_as_a_parser_does() -> None:
    flat = "<ul>" + "<li>item<br><img src='a.png'>" * 500 + "</ul>" + "<p>para" * 500
    assert html_depth(flat) == 2
    assert html_depth("<b>" * 10 + "</i>" * 10) == 10  # stray end tags close nothing


def test_nested_quotes_that_would_grow_the_file_are_refused() -> None:
    quotes = "<blockquote>" * 60 + "line<br>" * 2000 + "</blockquote>" * 60
    with pytest.raises(FeedItemError, match=r"its markdown would be \d+ bytes from \d+ bytes of HTML \(more than 4×\)"):
        convert_item(_item(quotes), ItemLimits())


def test_output_over_the_size_limit_is_refused() -> None:
    text = "<p>" + "word " * 50_000 + "</p>"
    with pytest.raises(FeedItemError, match=r"its markdown would be \d+ bytes \(the limit is 100000\)"):
        convert_item(_item(text), ItemLimits(max_bytes=100_000))
    assert len(convert_item(_item(text), ItemLimits())) > 100_000


def test_a_conversion_past_its_deadline_stops() -> None:
    with pytest.raises(FeedItemError, match="conversion took too long"):
        convert_item(_item("<p>a</p>" * 100), ItemLimits(seconds=-1.0))


def _rss(*items: str) -> bytes:
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>" + "".join(items)
            + "</channel></rss>").encode()


def test_items_without_a_guid_are_known_by_their_whole_link() -> None:
    links = ["https://x.example/article?id=1", "https://x.example/article?id=2",
             "https://x.example/2021/01/index.html", "https://x.example/2021/02/index.html"]
    feed = parse_feed(_rss(*(f"<item><title>P</title><link>{u.replace('&', '&amp;')}</link></item>" for u in links)))
    assert [i.key for i in feed.items] == ["x.example/article?id=1", "x.example/article?id=2",
                                           "x.example/2021/01/index.html", "x.example/2021/02/index.html"]
    assert feed.skipped == ()
    stems = {file_stem(i) for i in feed.items}
    assert all("/" not in s and "?" not in s for s in stems)
    again = parse_feed(_rss("<item><title>P</title><link>https://x.example/a?id=1</link></item>",
                            "<item><title>P</title><link>https://www.x.example/a?id=1&amp;utm_source=rss</link></item>"))
    assert len(again.items) == 1
    assert again.skipped == ("item 'P' appears twice in the feed; the first copy is used",)


def test_an_atom_html_title_becomes_text() -> None:
    doc = ("<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>F</title><id>urn:f</id>"
           "<entry><id>urn:1</id><title type='html'>&lt;b&gt;Week 13&lt;/b&gt; &amp;amp; &lt;i&gt;more&lt;/i&gt;"
           "</title><link href='https://x.example/w13'/><content type='html'>&lt;p&gt;x&lt;/p&gt;</content></entry>"
           "<entry><id>urn:2</id><title type='text'>&lt;b&gt; is a tag</title>"
           "<link href='https://x.example/w14'/></entry></feed>")
    assert [i.title for i in parse_feed(doc.encode()).items] == ["Week 13 & more", "<b> is a tag"]
