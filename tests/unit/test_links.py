"""One definition of "the same link" (retrieval.links), used by the parser, the search engine and the evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

import retrieval.entrytext as entrytext
import retrieval.measure.evaluate as evaluate
import retrieval.parse as parse
import retrieval.search as search
from retrieval.links import link_key, same_link, strip_tracking
from retrieval.models import Entry
from retrieval.parse import parse_markdown

MEDIUM = "https://medium.com/analytics-vidhya/some-post-0a1b2c3d4e5f"
ISSUE = f"""# Akira 的机器学习新闻 #40

> 原文：<https://medium.com/analytics-vidhya/akiras-machine-learning-news-issue-40-0a1b2c3d4e5f>

# 1.本周特稿/新闻

[**一篇博客文章**]({MEDIUM}?source=collection_archive---------16-----------------------)**——**[**medium.com**]({MEDIUM}?source=collection_archive---------16-----------------------)

这是一篇关于模型压缩的博客。

# 3.机器学习论文

[**小模型也能很准**](https://arxiv.org/abs/2101.00001?utm_source=Revue&utm_medium=email)**——**[**arxiv.org**](https://arxiv.org/abs/2101.00001)

一项研究。
"""


@pytest.mark.parametrize(("a", "b"), [
    ("https://arxiv.org/abs/2106.10860", "http://arxiv.org/pdf/2106.10860v3.pdf"),
    ("https://www.example.com/post/", "https://example.com/post?"),
    ("https://example.com/a?utm_source=Revue&id=1", "https://EXAMPLE.com/a?id=1#top"),
    (MEDIUM, f"{MEDIUM}?source=collection_archive---------3-----------------------"),
])
def test_same_link(a: str, b: str) -> None:
    assert same_link(a, b)
    assert link_key(a) == link_key(b)


def test_different_links_stay_different() -> None:
    assert not same_link("https://example.com/a?id=1", "https://example.com/a?id=2")
    assert not same_link("https://arxiv.org/abs/2106.10860", "https://arxiv.org/abs/2106.10861")


def test_issue_links_drop_medium_source_and_utm() -> None:
    issue = parse_markdown(ISSUE)
    assert [e.url for e in issue.entries] == [MEDIUM, "https://arxiv.org/abs/2101.00001"]
    assert strip_tracking(f"{MEDIUM}?source=collection_archive---------16-----") == MEDIUM


def test_no_module_keeps_its_own_link_identity() -> None:
    # The three old private definitions are gone; everyone compares with link_key.
    for module, name in ((search, "canonical_link"), (parse, "_url_key"), (evaluate, "_strip_utm")):
        assert not hasattr(module, name), f"{module.__name__}.{name} is back"
    entry = Entry("i", 0, "papers", "t", "http://www.example.com/x/", "")
    assert entrytext.link_group(entry) == link_key("https://example.com/x")
    sources = Path(search.__file__).parent
    offenders = [p.name for p in sources.rglob("*.py") if 'startswith("utm_")' in p.read_text(encoding="utf-8")
                 and p.name != "links.py"]
    assert offenders == []


def test_an_entry_keeps_every_link_of_its_item_main_link_first() -> None:
    md = ISSUE.replace("这是一篇关于模型压缩的博客。", "这是一篇关于模型压缩的博客，代码在 [GitHub](https://github.com/a/b)，"
                       "论文见 https://arxiv.org/abs/2101.00009v2 。")
    blog = parse_markdown(md).entries[0]
    assert blog.url == MEDIUM
    assert blog.links == (MEDIUM, "https://github.com/a/b", "https://arxiv.org/abs/2101.00009v2")
    paper = parse_markdown(md).entries[1]
    assert paper.links == ("https://arxiv.org/abs/2101.00001",)  # the same link twice is one link
