"""Unit tests for :mod:`retrieval.parse` and :mod:`retrieval.markdown`.

Every snippet here is written for these tests (invented titles, ids and hashes). Each reproduces one
quirk of the archive's machine-translated Medium markdown described in ``notes/corpus.md``.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.errors import NewsbotError
from retrieval.links import strip_tracking
from retrieval.markdown import absolute_url, clean_block, clean_inline, find_urls, is_separator
from retrieval.models import Issue
from retrieval.parse import ParseError, parse_markdown, section_for, slug_of

SRC = "> 原文：<https://medium.com/analytics-vidhya/{slug}?source=collection_archive---------7----------------------->"

ERA_A = """# 2020 年第 44 周

{src}

本期介绍 2020 年第 44 周(10 月 25 日~)的论文和文章。

## 主题

1.  机器学习论文
2.  技术文章

# —每周编辑精选

*   [一个用于测试的示例论文标题](https://arxiv.org/abs/2010.00001) (1。机器学习论文)
*   没有链接的精选：用图网络预测天气

# —过去的文章

[第 43 周](/analytics-vidhya/akiras-ml-news-week43-2020-aaaaaaaaaaaa) ⇦第 44 周(本帖)⇨ [第 45 周](/analytics-vidhya/x)

— — — — — — — — — — — — — — — — — — — — — — — — — — — — — —

# 1.机器学习论文

— —

# 一个用于测试的示例论文标题

*A Sample Paper For Tests* [https://arxiv.org/abs/2010.00001](https://arxiv.org/abs/2010.00001?utm_source=Revue%20newsletter)

作者提出了一个虚构的方法。

![](img/0000.png)

# 用**图网络**预测天气

*Weather With Graphs*
【https://arxiv.org/abs/2010.00002
T21

一项关于天气预报的虚构研究。[代码](https://github.com/example/weather)

# 2.技术文章

# 一篇关于部署的博客

正文介绍了如何部署模型。

[](/@someone/deploying-models-0123) [## 部署模型的十个步骤

### 这是卡片里的摘要，不是标题…

medium.com](/@someone/deploying-models-0123)

# 3.机器学习用例的例子

## **工厂里的缺陷检测**

一家工厂用视觉模型检查零件。[官方博客](https://example.com/blog/defects?utm_campaign=x&ref=news)

# 4.其他主题

## ****— — — — — –****

# 推特上有我写的论文短评。

https://twitter.com/example""".format(src=SRC.format(slug="akiras-ml-news-week44-2020-0123456789ab"))

ERA_B = """# Akira 的机器学习新闻— #7

{src}

2021 年第 12 周(3 月 21 日~)

## 本周特稿/新闻。

*   [只在开头的要点里出现的论文](https://arxiv.org/abs/2103.00009)。简短的介绍。
*   [把卷积放进变压器](https://arxiv.org/abs/2103.00011)，下面还会讲到。

— — — — — — — — — — — — — — — — — — –

在下面的章节中，还包括以下五个主题。

1.  本周特稿/新闻
2.  机器学习用例

— — — — — — — — — — — — — — — — — — –

# 1.本周特稿/新闻

[**把卷积放进变压器**](https://arxiv.org/abs/2103.00011?utm_campaign=Akira%27s%20News&utm_medium=email&utm_source=Revue%20newsletter)**——**[**arxiv.org**](https://arxiv.org/abs/2103.00011)

![](img/1111.png)

*【2103.00011】Convolutions Inside Transformers*
一个虚构的研究摘要。

【arxiv.org】****——**[](https://arxiv.org/abs/2103.00012)**用哈希代替乘法****

****![](img/2222.png)****

*****【2103.00012】Lookup Tables Instead Of Multiplications* 又一个虚构的摘要。****

****— — — — — — — — — — — — — — — — — — –****

# ****2.机器学习使用 cas****

[](https://news.example.org/factory-ai?utm_campaign=x&utm_medium=email)****——**[**news.example.org**](https://news.example.org/factory-ai)**

**[](https://news.example.org/factory-ai) [## 工厂开始用人工智能排班

### 卡片摘要里的这一行看起来像标题…

news.example.org](https://news.example.org/factory-ai)

一篇关于排班系统的虚构报道。**

# **3.报纸**

[](https://arxiv.org/abs/2103.00013)****——**[**arxiv.org**](https://arxiv.org/abs/2103.00013)

[2103.00013] A Paper Whose Title Only Lives In The Citation
虚构论文的摘要。

# **4.机器学习技术相关文章**

## [流体仿真的入门教程](https://physics.example.com/book?utm_source=x)

[physics.example.com](https://physics.example.com/book)

一本虚构的在线教材。

## ****— — — — — — — — — — — — — — — — — — –****

# **5.其他主题**

[**新版本的框架**](https://framework.example.io/v2?utm_medium=email&gi=abc)**—**[](https://framework.example.io/v2)**已经发布**

框架发布了一个虚构的大版本。

# **过去的时事通讯**

**[](https://www.getrevue.co/profile/x/issues/y) [## 上一期的标题

### 过去一期的卡片…

www.getrevue.co](https://www.getrevue.co/profile/x/issues/y)

# 关于我

一位虚构的工程师。""".format(src=SRC.format(slug="akiras-machine-learning-news-7-0123456789ab"))

MONTHLY = """# Akira 的 ML 新闻# 2020 年 11 月

{src}

本期汇总 2020 年 11 月的精选。

# —每月编辑精选

*   [第一条精选](https://arxiv.org/abs/2011.00001?)
*   [第二条精选](https://example.com/post)""".format(src=SRC.format(slug="akiras-ml-news-november-2020-0123456789ab"))


def _issue(slug: str, intro: str, title: str = "# Akira 的机器学习新闻", extra: str = "") -> str:
    body = "# 1.本周特稿/新闻\n\n[**一条特稿**](https://arxiv.org/abs/2101.00001)\n\n摘要。\n"
    return f"{title}\n\n{SRC.format(slug=slug)}\n\n{intro}\n\n{body}{extra}"


# -- newsletter issues: Era A ---------------------------------------------------------------------------


def test_era_a_metadata() -> None:
    issue = parse_markdown(ERA_A)
    assert (issue.id, issue.kind, issue.label) == ("akiras-ml-news-week44-2020-0123456789ab", "issue", "2020-W44")
    assert (issue.year, issue.week, issue.month, issue.number) == (2020, 44, None, None)
    assert issue.date == dt.date(2020, 10, 25)
    assert not issue.date_estimated
    assert issue.source_url is not None
    # the issue link readers are shown, without Medium's ?source=collection_archive… suffix
    assert issue.source_url == "https://medium.com/analytics-vidhya/akiras-ml-news-week44-2020-0123456789ab"


def test_era_a_items_by_section_and_heading() -> None:
    issue = parse_markdown(ERA_A)
    got = [(e.section, e.title) for e in issue.entries]
    assert got == [
        ("papers", "一个用于测试的示例论文标题"),
        ("papers", "用图网络预测天气"),
        ("articles", "一篇关于部署的博客"),
        ("use_cases", "工厂里的缺陷检测"),
    ]
    assert [e.position for e in issue.entries] == [0, 1, 2, 3]


def test_era_a_picks_mark_items_by_link_and_by_title() -> None:
    issue = parse_markdown(ERA_A)
    assert [e.title for e in issue.features] == ["一个用于测试的示例论文标题", "用图网络预测天气"]


def test_a_pick_that_names_an_item_by_title_lends_it_its_link() -> None:
    text = ERA_A.replace("*   没有链接的精选：用图网络预测天气",
                         "*   [用图网络预测天气](https://weather.example.org/graphs)")
    (weather,) = [e for e in parse_markdown(text).entries if e.title == "用图网络预测天气"]
    assert weather.feature
    assert weather.url == "https://arxiv.org/abs/2010.00002"  # the item's own link stays first
    assert "https://weather.example.org/graphs" in weather.links


def test_era_a_urls_first_link_bare_relative_and_utm() -> None:
    urls = [e.url for e in parse_markdown(ERA_A).entries]
    assert urls == [
        "https://arxiv.org/abs/2010.00001",
        "https://arxiv.org/abs/2010.00002",  # a bare 【url with no closing bracket, before the code link
        "https://medium.com/@someone/deploying-models-0123",  # Medium-relative card link made absolute
        "https://example.com/blog/defects?ref=news",  # utm_* dropped, other parameters kept
    ]


def test_era_a_summaries_are_clean() -> None:
    entries = parse_markdown(ERA_A).entries
    assert entries[0].summary == "A Sample Paper For Tests 作者提出了一个虚构的方法。"
    assert entries[1].summary == "Weather With Graphs 一项关于天气预报的虚构研究。代码"
    # The embed card (title and "### snippet" line) is not body text.
    assert entries[2].summary == "正文介绍了如何部署模型。"
    for e in entries:
        assert not any(bad in e.summary for bad in ("*", "](", "![", "T21", "http", "— —", "###"))


def test_tail_headings_end_items() -> None:
    # "# 4.其他主题" holds only a separator heading, then the Twitter tail: no item at all.
    issue = parse_markdown(ERA_A)
    assert "other" not in issue.sections
    assert all("推特" not in e.title for e in issue.entries)


# -- newsletter issues: Era B ---------------------------------------------------------------------------


def test_era_b_metadata_from_slug_and_intro() -> None:
    issue = parse_markdown(ERA_B)
    assert (issue.number, issue.year, issue.week, issue.label) == (7, 2021, 12, "#7")
    assert issue.date == dt.date(2021, 3, 21)


def test_era_b_items_titles_and_sections() -> None:
    got = [(e.section, e.title, e.feature) for e in parse_markdown(ERA_B).entries]
    assert got == [
        # a highlight bullet whose link no item below has is an item; one that repeats an item is not
        ("features", "只在开头的要点里出现的论文", True),
        ("features", "把卷积放进变压器", True),
        ("features", "用哈希代替乘法", True),  # title after 【domain】 and an empty link
        ("use_cases", "工厂开始用人工智能排班", False),  # truncated "使用 cas"; title from the card
        ("papers", "A Paper Whose Title Only Lives In The Citation", False),  # from the [id] line
        ("articles", "流体仿真的入门教程", False),  # the domain line below is not an item
        ("other", "新版本的框架已经发布", False),  # title text before and after the links
    ]


def test_era_b_urls() -> None:
    assert [e.url for e in parse_markdown(ERA_B).entries] == [
        "https://arxiv.org/abs/2103.00009",
        "https://arxiv.org/abs/2103.00011",
        "https://arxiv.org/abs/2103.00012",
        "https://news.example.org/factory-ai",
        "https://arxiv.org/abs/2103.00013",
        "https://physics.example.com/book",
        "https://framework.example.io/v2?gi=abc",
    ]


def test_era_b_summaries_keep_citation_and_drop_debris() -> None:
    entries = parse_markdown(ERA_B).entries
    assert entries[0].summary == "只在开头的要点里出现的论文。简短的介绍。"  # a highlight bullet: its own text
    assert entries[1].summary == "【2103.00011】Convolutions Inside Transformers 一个虚构的研究摘要。"
    assert entries[3].summary == "一篇关于排班系统的虚构报道。"
    assert entries[5].summary == "一本虚构的在线教材。"


def test_issue_33_layout_bare_feature_paragraph_and_renamed_sections() -> None:
    text = """# Akira 的机器学习新闻—第 40 期

{src}

本周特稿/新闻。

*   [导语里的链接](https://arxiv.org/abs/2110.00001)

# 1.本周特稿/新闻

[**一条特稿**](https://arxiv.org/abs/2110.00001)

摘要一。

# ****3.机器学习论文****

[**一篇论文**](https://arxiv.org/abs/2110.00002)**——**[**arxiv.org**](https://arxiv.org/abs/2110.00002)

摘要二。

# ****4.技术文章****

[**一篇文章**](https://blog.example.com/a)**——**[**blog.example.com**](https://blog.example.com/a)

摘要三。""".format(src=SRC.format(slug="akiras-machine-learning-news-issue-40-0123456789ab"))
    issue = parse_markdown(text)
    assert issue.number == 40
    assert [(e.section, e.feature) for e in issue.entries] == [
        ("features", True), ("papers", False), ("articles", False)
    ]


def test_link_line_items_in_an_era_a_section_without_heading_items() -> None:
    # Week 7 of 2021 writes its articles as link lines even though its papers are headings.
    text = """# Akira 的 ML 新闻—2021 年第 7 周

{src}

# 1.机器学习论文

## [一篇论文](https://arxiv.org/abs/2102.00001)

[论文里提到的链接](https://example.com/x)不是新条目。

# 2.技术文章

[**一篇教程**](https://tutorial.example.com/a)**——**[**tutorial.example.com**](https://tutorial.example.com/a)

教程正文。

[**另一篇教程**](https://tutorial.example.com/b)

教程正文二。""".format(src=SRC.format(slug="akiras-ml-news-week-7-2021-0123456789ab"))
    titles = [e.title for e in parse_markdown(text).entries]
    assert titles == ["一篇论文", "一篇教程", "另一篇教程"]


def test_truncated_monthly_digest_becomes_feature_entries() -> None:
    issue = parse_markdown(MONTHLY)
    assert (issue.year, issue.month, issue.week, issue.label) == (2020, 11, None, "2020-11")
    assert issue.date == dt.date(2020, 11, 1)
    assert [(e.section, e.title, e.url, e.feature) for e in issue.entries] == [
        ("features", "第一条精选", "https://arxiv.org/abs/2011.00001", True),
        ("features", "第二条精选", "https://example.com/post", True),
    ]


# -- dates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "intro", "expected"),
    [
        # The intro was copied from the week before: trust the slug's week, derive its ISO Monday.
        ("akiras-ml-news-week48-2020-0123456789ab", "本期是 2020 年第 47 周(11 月 15 日~)", dt.date(2020, 11, 23)),
        # A typo more than 10 days from the week: ignore it.
        ("akiras-ml-news-week-39-2020-0123456789ab", "本期是 2020 年第 39 周(9 月 10 日~)的内容", dt.date(2020, 9, 21)),
        # No day printed: ISO Monday of the week.
        ("akiras-ml-news-week-37-2020-0123456789ab", "本期是 2020 年第 37 周(9 月第二周)的内容", dt.date(2020, 9, 7)),
        # A week that starts in December of the year before.
        ("akiras-ml-news-week-1-2021-0123456789ab", "本期是 2021 年第 1 周(12 月 27 日~)的内容", dt.date(2020, 12, 27)),
        # A numbered issue with the full date of its week.
        ("akiras-machine-learning-news-22-0123456789ab", "2021 年 7 月 25 日一周的内容", dt.date(2021, 7, 25)),
    ],
)
def test_dates_read_or_derived(slug: str, intro: str, expected: dt.date) -> None:
    issue = parse_markdown(_issue(slug, intro))
    assert issue.date == expected
    assert not issue.date_estimated
    assert issue.year == expected.year or slug.endswith(f"{issue.year}-0123456789ab")


def test_undated_numbered_issue_is_estimated_weekly_from_issue_24() -> None:
    issue = parse_markdown(_issue("akiras-machine-learning-news-issue-30-0123456789ab", "本周特稿/新闻。"))
    assert (issue.number, issue.date, issue.date_estimated) == (30, dt.date(2021, 9, 19), True)
    assert issue.year is None  # an estimate does not make a year


def test_estimate_never_predates_the_newest_cited_arxiv_paper() -> None:
    extra = "\n# 3.报纸\n\n[**论文**](https://arxiv.org/abs/2111.00001)\n\n摘要。\n"
    issue = parse_markdown(_issue("akiras-machine-learning-news-issue-30-0123456789ab", "导语。", extra=extra))
    assert (issue.date, issue.date_estimated) == (dt.date(2021, 11, 1), True)


def test_week_from_the_body_of_a_numbered_issue() -> None:
    issue = parse_markdown(_issue("akiras-machine-learning-news-19-0123456789ab", "2021 年第 24 周(6 月 13 日~)"))
    assert (issue.number, issue.year, issue.week, issue.date) == (19, 2021, 24, dt.date(2021, 6, 13))


# -- detection and ids ----------------------------------------------------------------------------------


def test_newsletter_title_without_source_line_uses_file_stem() -> None:
    text = "# Akira 的机器学习新闻—第 12 期\n\n# 1.本周特稿/新闻\n\n[**特稿**](/analytics-vidhya/a-post-0123)\n\n正文。"
    issue = parse_markdown(text, path="archive/my-copy.md")
    assert (issue.kind, issue.id, issue.number) == ("issue", "my-copy", 12)
    assert issue.source_url is None
    # Without a 原文 line, site-relative links are still Medium's.
    assert issue.entries[0].url == "https://medium.com/analytics-vidhya/a-post-0123"


def test_mojibake_source_label_still_gives_the_slug() -> None:
    slug = "akiras-machine-learning-news-week-13-2021-0123456789a"
    text = f"# Akira Ã§Å¡â€ž\n\n> Ã¥Å½Å¸Ã¦â€“â€¡Ã¯Â¼Å¡<https://medium.com/analytics-vidhya/{slug}?source=x>\n\nÃ¦Â­Â£Ã¦â€“â€¡"
    issue = parse_markdown(text, path="000_mojibake.txt")
    assert (issue.id, issue.kind) == (slug, "issue")
    assert issue.entries  # an unknown layout falls back to heading sections


def test_medium_article_that_is_not_the_newsletter_is_a_document() -> None:
    text = "# Java 面试题\n\n> 原文：<https://medium.com/javarevisited/java-interview-questions-0123456789ab>\n\n正文。"
    issue = parse_markdown(text)
    assert (issue.kind, issue.id) == ("document", "java-interview-questions-0123456789ab")


# -- generic documents ----------------------------------------------------------------------------------

EZYANG = """<!--yml

category: 未分类

date: 2024-07-01 18:18:17

-->

# 一篇博客 : someone’s blog

> 来源：[`blog.example.com/2010/06/a-post/`](http://blog.example.com/2010/06/a-post/)

正文第一段，含[链接](http://example.org/x)。

```
# 这是代码注释，不是标题
x = 1
```

## 小节二

## 空小节

![](img/x.png)

## 小节三

更多内容见[相对链接](/about)。"""


def test_document_sections_yml_block_and_code_fences() -> None:
    issue = parse_markdown(EZYANG, path="docs/ezyang/a-post.md")
    assert (issue.kind, issue.id, issue.title) == ("document", "a-post", "一篇博客 : someone’s blog")
    assert issue.source_url == "http://blog.example.com/2010/06/a-post/"
    assert [(e.title, e.url, e.section) for e in issue.entries] == [
        ("一篇博客 : someone’s blog", "http://example.org/x", "other"),
        ("小节三", "http://blog.example.com/about", "other"),  # relative to the source's site
    ]
    assert "这是代码注释" in issue.entries[0].summary  # code stays searchable, but is not a heading


def test_document_without_heading_or_source() -> None:
    issue = parse_markdown("只是一段文字，\n没有标题。", path="notes/plain.txt")
    assert (issue.kind, issue.id, issue.title) == ("document", "plain", "只是一段文字，")
    assert [e.summary for e in issue.entries] == ["只是一段文字， 没有标题。"]


def test_heading_only_document_has_no_entries() -> None:
    issue = parse_markdown("# 只有标题\n\n> 原文：<https://example.com/posts/only-title/>")
    assert (issue.id, issue.title, issue.entries) == ("only-title", "只有标题", ())


@pytest.mark.parametrize("text", ["", "   \n\t \n", "****\n\n— — — —\n", "\x00\x01\x02", "<!-- only a comment -->"])
def test_nothing_usable_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match=r"empty document|no heading and no text"):
        parse_markdown(text)


def test_impossible_years_are_not_metadata() -> None:
    text = "# 0000 年第 5 周\n\n本期是 0000 年第 5 周(1 月 3 日~)。\n\n# 1.机器学习论文\n\n# 论文\n\n摘要。"
    issue = parse_markdown(text)
    assert (issue.kind, issue.year, issue.week, issue.date) == ("issue", None, 5, None)


def test_parse_error_is_a_value_error_and_a_newsbot_error() -> None:
    assert issubclass(ParseError, ValueError)
    assert issubclass(ParseError, NewsbotError)


# -- helpers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "section"),
    [
        ("# 1.机器学习论文", "papers"),
        ("# 3.报纸", "papers"),
        ("# 3.机器学习用例的例子", "use_cases"),
        ("# 3.机器学习应用的例子", "use_cases"),
        ("# 3.机器学习用例示例", "use_cases"),
        ("# ****2.机器学习使用 cas****", "use_cases"),
        ("# **4.机器学习技术相关文章**", "articles"),
        ("# ****4.技术文章****", "articles"),
        ("# 1.本周特稿/新闻", "features"),
        ("# 3.其他主题", "other"),
        ("# 本周特稿/新闻。", None),  # the intro block is not numbered
        ("# 3 个小技巧", None),
    ],
)
def test_section_for_by_name_not_number(heading: str, section: str | None) -> None:
    assert section_for(heading) == section


def test_slug_of() -> None:
    assert slug_of("https://medium.com/a/b-0123?x=1#y") == "b-0123"
    assert slug_of("https://blog.example.com/2010/06/post/") == "post"


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("## **[**小批量为什么有效？**](https://openreview.net/forum?id=abc)", "小批量为什么有效？"),
        ("[【blog.example.com】](https://b.example.com/a)[](https://b.example.com/a)****——[新服务上线](https://b.example.com/a)",
         "新服务上线"),
        ("[**在 PyTorch**](https://torch.example.io/a)**——**[**中训练一个模型", "在 PyTorch 中训练一个模型"),
        ("[**融合 arxiv.org**](https://arxiv.org/abs/2109.00001)**——**[](https://arxiv.org/abs/2109.00001)", "融合"),
        ("[【arxiv.org】T21](https://arxiv.org/abs/2109.00001)", ""),
    ],
)
def test_clean_inline_titles(raw: str, title: str) -> None:
    assert clean_inline(raw) == title


def test_clean_block_removes_split_url_link_text_and_html() -> None:
    text = "见[https://cdn . example . com/paper . pdf](https://cdn.example.com/paper.pdf)。<br/>完。"
    assert clean_block(text) == "见 。 完。"


def test_urls() -> None:
    assert strip_tracking("https://x.io/a?utm_source=r&id=3&UTM_medium=e") == "https://x.io/a?id=3"
    assert absolute_url("https://open access . the CVF . com/x") is None
    assert absolute_url("#section") is None
    assert find_urls("![](https://img.example.com/a.png)[t](https://a.example.com/p)") == ["https://a.example.com/p"]


@pytest.mark.parametrize("line", ["— — — — — – ", "## ****— — —****", "**—————**", "********", "— —"])
def test_separators(line: str) -> None:
    assert is_separator(line)


# -- robustness -----------------------------------------------------------------------------------------

_PIECES = [
    "# ", "## ", "### ", "1.", "机器学习论文", "本周特稿/新闻", "每周编辑精选", "关于我", "\n", "\n\n", "*", "****",
    "[", "]", "(", ")", "](", "[](https://arxiv.org/abs/2101.00001)", "【arxiv.org】", "——", "— — — –", "[## ",
    "https://x.example.com/a?utm_source=y", "/analytics-vidhya/x", "![](img/a.png)", "```", "<!--", "-->", "> 原文：",
    "<https://medium.com/a/akiras-ml-news-week41-2020-0123456789ab>", "2020 年第 41 周(10 月 4 日~)", "T21", "\x00",
    "第 34 期", "#18", "*   ", "文字", "text", "0000 年第 5 周", "(12 月 27 日~)", "9999 年 13 月",
    "akiras-machine-learning-news-issue-30-0123456789ab", "【2111.00001】",
]


def _check_issue(issue: Issue) -> None:
    assert issue.id
    assert issue.title
    for n, e in enumerate(issue.entries):
        assert e.position == n
        assert e.issue_id == issue.id
        assert e.title
        assert "*" not in e.title
        assert "](" not in e.title
        assert "###" not in e.title
        assert e.url is None or e.url.startswith(("http://", "https://"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text_returns_an_issue_or_raises_parse_error(text: str) -> None:
    try:
        issue = parse_markdown(text)
    except ParseError:
        return
    _check_issue(issue)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=120).map("".join), st.text(max_size=20))
def test_markdown_shaped_text_returns_an_issue_or_raises_parse_error(text: str, path: str) -> None:
    try:
        issue = parse_markdown(text, path=path)
    except ParseError:
        return
    _check_issue(issue)


def test_five_megabytes_of_markdown_debris() -> None:
    # Linear-time check without a timer: a quadratic path here would hit the suite's timeout.
    rng = random.Random(7)
    head = "# Akira 的机器学习新闻—第 34 期\n\n" + SRC.format(slug="akiras-machine-learning-news-issue-34-0123456789ab")
    parts = [head, "\n\n# 1.本周特稿/新闻\n\n"]
    size = 0
    while size < 5_000_000:
        piece = rng.choice(_PIECES) + rng.choice(["", "\n", " "])
        parts.append(piece)
        size += len(piece)
    parts.append("[" * 100_000 + "](" * 100_000 + "*" * 100_000 + "[## " * 10_000)
    issue = parse_markdown("".join(parts))
    assert issue.kind == "issue"
    _check_issue(issue)


OTHER_POSTS_AND_HIGHLIGHTS = """# Akira 的机器学习新闻— #41

{src}

## 本周特稿/新闻。

*   [把卷积放进变压器](https://arxiv.org/abs/2103.00011)，以及[只在要点里的另一篇](https://arxiv.org/abs/2103.00019)。
*   [](https://arxiv.org/abs/2103.00018)

# 1.本周特稿/新闻

[**把卷积放进变压器**](https://arxiv.org/abs/2103.00011)**——**[**arxiv.org**](https://arxiv.org/abs/2103.00011)

一个虚构的研究摘要。

# 其他博客

[](https://a.example.com/one) [## 卡片一

### 第一张卡片的摘要…

a.example.com](https://a.example.com/one) [](https://a.example.com/one) [## 卡片一的重复

a.example.com](https://a.example.com/one)

****[**medium.com**](/analytics-vidhya/zebra-notes-0a0b0c0d0e0f)
斑马的条纹笔记|某作者|分析 vid hya | Medium**——**[**为什么斑马有条纹..**](/analytics-vidhya/zebra-notes-0a0b0c0d0e0f)

# 关于我

虚构的工程师。
""".format(src=SRC.format(slug="akiras-machine-learning-news-issue-41-0a1b2c3d4e5f"))


def test_highlight_bullets_keep_only_links_no_item_has_and_need_text() -> None:
    entries = parse_markdown(OTHER_POSTS_AND_HIGHLIGHTS).entries
    by_url = [e.url for e in entries]
    assert by_url.count("https://arxiv.org/abs/2103.00011") == 1  # the bullet's first link is an item below
    (extra,) = [e for e in entries if e.url == "https://arxiv.org/abs/2103.00019"]
    assert extra.links == ("https://arxiv.org/abs/2103.00019", "https://arxiv.org/abs/2103.00011")  # new one first
    assert "https://arxiv.org/abs/2103.00018" not in by_url  # a bullet with no text is no item


def test_other_posts_merge_a_repeated_card_and_cut_medium_title_suffixes() -> None:
    posts = [e for e in parse_markdown(OTHER_POSTS_AND_HIGHLIGHTS).entries if e.section == "other"]
    assert [(e.title, e.url) for e in posts] == [
        ("卡片一", "https://a.example.com/one"),
        ("斑马的条纹笔记", "https://medium.com/analytics-vidhya/zebra-notes-0a0b0c0d0e0f"),
    ]
    assert posts[1].byline.startswith("|某作者|分析 vid hya | Medium")  # not shown in the title, still indexed
