"""Pure helpers that turn Medium-export markdown debris into plain text and clean URLs.

The archive's markdown is machine-translated Medium/Revue output: bold runs leak across blocks
(``# ****2.机器学习用例****``), links lose their text (``[](url)``), embed cards span lines and hide
``### snippet`` lines, separators are rows of em dashes. Nothing here knows about newsletters; the
parser in :mod:`retrieval.parse` builds on these functions.

Every regex is compiled once, and none has nested unbounded quantifiers, so cleaning stays linear.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from retrieval.links import strip_tracking

__all__ = [
    "absolute_url",
    "card_text",
    "clean_block",
    "clean_inline",
    "find_urls",
    "is_domain",
    "is_separator",
    "strip_asterisks",
    "strip_controls",
]

_ASTERISKS = re.compile(r"\*+")
# Control characters other than tab/newline carry no text; binary-ish input is reduced to nothing.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WS = re.compile(r"\s+")
# Removing debris between two Chinese characters leaves a space Chinese never has.
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")
_IMAGE = re.compile(r"!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)")
# An embed card: ``[## Card title … domain](url)``. Bounded so a stray ``[##`` cannot scan far.
_CARD = re.compile(r"\[##[^\[\]]{0,3000}\]\([^()\s]{0,2000}\)")
# ``[text](target)``; the target may hold one level of parentheses (Wikipedia-style URLs).
_LINK = re.compile(r"\[([^\[\]\n]{0,1000})\]\(((?:[^()\s]|\([^()\s]{0,500}\)){0,2000})\)")
_BARE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&'+,;=%]{1,2000}")
_HTML_COMMENT = re.compile(r"<!--.{0,20000}?-->", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,20}(?:\s[^<>]{0,500})?/?>")
# MT artefact: a stray "T21"/"T3" glued behind a 【url】 or used as a whole link text.
_T_ARTEFACT = re.compile(
    r"(?<=】)T\d{1,2}\b|(?<=\[)T\d{1,2}(?=\])|(?<=【)T\d{1,2}(?=】)|^[ \t]*T\d{1,2}[ \t]*$", re.MULTILINE
)
_T_DIGIT = re.compile(r"T\d")
"""Every _T_ARTEFACT match holds this: a text without it is not scanned by the slower pattern."""
# Host names left in a title by the translation ("融合 arxiv.org") are decoration, not words.
_DOMAIN_WORD = re.compile(
    r"(?<![\w/.@-])(?:[a-z0-9-]{1,63}\.){1,4}(?:org|com|net|io|ai|pub|dev|co|edu|tech|gov)(?![\w/.-])",
    re.IGNORECASE,
)
# Separators: rows of em/en dashes (``— — — … –``, ``—————``) and lines made of asterisks only.
# Written dash-first (same matches as ``(?:[—–―-][ \t]*){2,}``): about 3x faster on a large archive.
_DASH_RUN = re.compile(r"[—–―-](?:[ \t]*[—–―-])+[ \t]*")
# One to three em dashes glue a title to its source link ("…](url)**—**[](url)"): not words.
_LINK_DASH = re.compile(r"(?<=[)\]】])[ \t]*—{1,3}|—{1,3}[ \t]*(?=[\[【])")
_SEPARATOR_LINE = re.compile(r"^[\s#*_—–―\-=]*$")
_HEADING_MARK = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+|$)", re.MULTILINE)
_LIST_MARK = re.compile(r"^[ \t]*(?:[*+\-]|\d{1,3}[.)])[ \t]+", re.MULTILINE)
_QUOTE_MARK = re.compile(r"^[ \t]*>+[ \t]?", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,}).*$", re.MULTILINE)
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?\.)+[a-z]{2,24}$")
_HASH_RUN = re.compile(r"#{2,}")
_HOST = re.compile(r"^[\w.\-]+$")
_URLISH = re.compile(r"^(?:https?\s*:|www\s*\.)", re.IGNORECASE)
_BRACKETED = re.compile(r"【([^【】\n]{0,300})】")
_STRAY_BRACKET = re.compile(r"[\[\]]|【\s*】|\(\s*\)|（\s*）")
_EMPTY_BRACKETS = re.compile(r"【\s*】|\[\s*\]|\(\s*\)|（\s*）")
_LONE_BRACKET_URL = re.compile(r"[【\[]\s*(?=https?://)")


def strip_controls(text: str) -> str:
    r"""``text`` without control characters other than tab and newline (they carry no text).

    >>> strip_controls("a\x00b\tc\x1bd\n")
    'ab\tcd\n'
    """
    return _CONTROL.sub("", text)


def strip_asterisks(text: str) -> str:
    """Remove every run of asterisks; Medium's bold runs are never balanced, so never pair them.

    >>> strip_asterisks("# ****2.机器学习用例****")
    '# 2.机器学习用例'
    >>> strip_asterisks("a **b*** c")
    'a b c'
    """
    return _ASTERISKS.sub("", text)


def is_domain(text: str) -> bool:
    """True when ``text`` is only a host name, the way link cards and 【arxiv.org】 tags show it.

    Spaces inserted by the translation (``the gradient . pub``) are ignored.

    >>> is_domain("【arxiv.org】")
    True
    >>> is_domain("the gradient . pub")
    True
    >>> is_domain("把卷积放进变压器")
    False
    """
    t = strip_asterisks(text).strip().strip("【】[]").replace(" ", "").lower()
    if _T_DIGIT.search(t):
        t = _T_ARTEFACT.sub("", t)
    if t.startswith("www."):
        t = t[4:]
    return bool(_DOMAIN.match(t))


def is_separator(line: str) -> bool:
    """True for separator rows: dashes, asterisks, ``## — — –`` and empty lines.

    >>> is_separator("## ****— — — — – ****")
    True
    >>> is_separator("**—————**")
    True
    >>> is_separator("# 1.机器学习论文")
    False
    """
    return bool(_SEPARATOR_LINE.match(line))


def absolute_url(target: str, base: str | None = None) -> str | None:
    """Make a link target absolute and strip tracking (``utm_*``, Medium ``source=``); None when not a web link.

    Site-relative targets (``/analytics-vidhya/…``) resolve against ``base``'s origin; the archive's
    base is always ``https://medium.com``. Images and in-page anchors are not links.

    >>> absolute_url("/analytics-vidhya/akiras-ml-news-week41-2020-0a1b2c3d4e5f", "https://medium.com/x")
    'https://medium.com/analytics-vidhya/akiras-ml-news-week41-2020-0a1b2c3d4e5f'
    >>> absolute_url("img/1f0e.png") is None
    True
    >>> absolute_url("https://arxiv.org/abs/2101.00002?utm_source=Revue%20newsletter")
    'https://arxiv.org/abs/2101.00002'
    """
    t = target.strip().strip("<>")
    low = t.lower()
    if low.startswith(("http://", "https://")):
        url = t
    elif t.startswith("//"):
        url = "https:" + t
    elif t.startswith("/") and base:
        try:
            parts = urlsplit(base)
        except ValueError:
            return None
        if not parts.scheme or not parts.netloc:
            return None
        url = urlunsplit((parts.scheme, parts.netloc, "", "", "")) + t
    else:
        return None
    url = strip_tracking(url)
    # A bare "?" left behind (``…/2101.00001?``) means nothing.
    url = url.rstrip("?")
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    # "https://open access . the CVF . com/…" (a URL split by the translation) has no real host.
    return url if _HOST.match(host) and "." in host.strip(".") else None


def find_urls(text: str, base: str | None = None) -> list[str]:
    """All web links in ``text`` in reading order: link targets and bare URLs, never images.

    >>> find_urls("![](img/a.png) 见[论文](https://arxiv.org/abs/2101.00003?utm_medium=email)和 https://x.org/a")
    ['https://arxiv.org/abs/2101.00003', 'https://x.org/a']
    >>> find_urls("【https://arxiv.org/abs/2101.00004 ")
    ['https://arxiv.org/abs/2101.00004']
    """
    text = _IMAGE.sub(" ", text)
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for m in _LINK.finditer(text):
        spans.append(m.span(2))
        url = absolute_url(m.group(2), base)
        if url:
            found.append((m.start(), url))
    k = 0  # both lists are in text order, so one pointer keeps this linear
    for m in _BARE_URL.finditer(text):
        while k < len(spans) and spans[k][1] <= m.start():
            k += 1
        if k < len(spans) and spans[k][0] <= m.start():
            continue
        url = absolute_url(m.group(0).rstrip(".,;:!?'"), base)
        if url:
            found.append((m.start(), url))
    found.sort(key=lambda p: p[0])
    return [u for _, u in found]


def _link_text(m: re.Match[str]) -> str:
    text = m.group(1)
    # Decoration, not words: domain tags (【arxiv.org】), URL-shaped text and MT "T21" debris.
    if is_domain(text) or _URLISH.match(strip_asterisks(text).strip().strip("【[")):
        return " "
    return text


def _link_words(m: re.Match[str]) -> str:
    # In a title link, a host name next to the words ("融合 arxiv.org") is the source, not the title.
    return _DOMAIN_WORD.sub(" ", _link_text(m))


def _drop_domain_tag(m: re.Match[str]) -> str:
    return " " if is_domain(m.group(1)) else m.group(0)


def clean_inline(text: str) -> str:
    """Clean a heading or link line into a title: no asterisks, links, domain tags or dashes.

    Link text is kept (the title may sit inside, before or after a link); domain-only link text,
    empty links, images, bare URLs and separator dashes are dropped.

    >>> clean_inline("【arxiv.org】****——**[](https://arxiv.org/abs/2101.00002)**用查表代替乘法来加速****")
    '用查表代替乘法来加速'
    >>> clean_inline("[**只用一半的标签，精度和全部标签**](https://arxiv.org/abs/2101.00005)**——**[**arxiv.org**](https://arxiv.org/abs/2101.00005)相同")
    '只用一半的标签，精度和全部标签相同'
    >>> clean_inline("## **[**Why *does* it work?**](https://openreview.net/forum?id=d-XzF81Wg1)")
    'Why does it work?'
    """
    t = strip_controls(text)
    t = _HEADING_MARK.sub("", t.strip())
    if _T_DIGIT.search(t):
        t = _T_ARTEFACT.sub("", t)
    t = _IMAGE.sub(" ", t)
    t = strip_asterisks(t)
    t = _LINK_DASH.sub(" ", t)
    t = _LINK.sub(_link_words, t)
    t = _BRACKETED.sub(_drop_domain_tag, t)
    t = _LONE_BRACKET_URL.sub(" ", t)
    t = _BARE_URL.sub(" ", t)
    t = _DASH_RUN.sub(" ", t)
    # Whatever brackets are left belong to links the translation broke ("[**里实现一个模型").
    t = _STRAY_BRACKET.sub(" ", t)
    # Heading marks from a card line ("[## …") or a glued heading never belong in a title.
    t = _HASH_RUN.sub(" ", t)
    t = _CJK_GAP.sub("", _WS.sub(" ", t))
    return t.strip(" \t#—–-|:：").strip()


def card_text(text: str) -> str:
    """The title and snippet of every embed card in ``text``, as plain text (the card's domain line dropped).

    >>> card_text("[](https://x.co/a) [## 用查表代替乘法\\n\\n### 一种近似矩阵乘法…\\n\\nx.co](https://x.co/a) 正文")
    '用查表代替乘法 一种近似矩阵乘法…'
    >>> card_text("没有卡片。")
    ''
    """
    parts = []
    for m in _CARD.finditer(strip_controls(text)):
        inner = m.group(0)[3 : m.group(0).rfind("](")]
        lines = [ln for ln in inner.split("\n") if ln.strip()]
        if lines and is_domain(lines[-1]):
            lines = lines[:-1]
        cleaned = clean_block("\n".join(lines))
        if cleaned:
            parts.append(cleaned)
    return " ".join(parts)


def clean_block(text: str) -> str:
    """Clean a body of markdown into one line of plain text for summaries and search.

    Removes images, embed cards, empty links, bare URLs, separators, asterisk runs, heading, list
    and quote markers, HTML, and the MT "T21" artefact; keeps link text; collapses whitespace.

    >>> clean_block("****![](img/b3.png)****\\n\\n*****【2101.00002】查表代替乘法* 一项虚构的研究。****")
    '【2101.00002】查表代替乘法 一项虚构的研究。'
    >>> clean_block("[](https://x.co/a) [## Card\\n\\n### snippet…\\n\\nx.co](https://x.co/a) \\n\\nBody text.")
    'Body text.'
    >>> clean_block("— — — — –\\n\\nSee [the paper](https://arxiv.org/abs/1) https://arxiv.org/abs/1T21 now")
    'See the paper now'
    """
    t = strip_controls(text)
    t = _HTML_COMMENT.sub(" ", t)
    t = _FENCE.sub(" ", t)
    t = _IMAGE.sub(" ", t)
    t = _CARD.sub(" ", t)
    if _T_DIGIT.search(t):
        t = _T_ARTEFACT.sub("", t)
    t = _HTML_TAG.sub(" ", t)
    if "#" in t:  # the marks' one character, looked for in C first: most blocks have neither
        t = _HEADING_MARK.sub("", t)
    if ">" in t:
        t = _QUOTE_MARK.sub("", t)
    t = _LIST_MARK.sub("", t)
    t = strip_asterisks(t)
    t = _LINK.sub(_link_text, t)
    t = _BRACKETED.sub(_drop_domain_tag, t)
    t = _LONE_BRACKET_URL.sub(" ", t)
    # Bare URLs go after links (their targets are URLs too); a glued "T21" goes with its URL.
    t = _BARE_URL.sub(" ", t)
    t = _DASH_RUN.sub(" ", t)
    t = t.replace("](", " ")
    t = _HASH_RUN.sub(" ", t)
    t = _EMPTY_BRACKETS.sub(" ", t)
    # Spaces between Chinese characters are kept here: they often separate a title from its text.
    return _WS.sub(" ", t).strip()

