"""A Discord message's text as a question: what "Search the archive" on a message searches with.

Pure functions. A message is written for people, not for a search box: mentions, custom emoji, timestamps,
markdown marks and quote prefixes mean nothing to the index (and a mention must never reach an answer), so they
go; words and links stay (a link the archive holds is pinned first). Long messages are clipped at a word
boundary when there is one near the limit.
"""

from __future__ import annotations

import re

MESSAGE_QUERY_CHARS = 300
"""How much of a message is searched: enough for a paragraph, short of the engine's own cut (500)."""

# <@1>, <@!1>, <@&1>, <#1>, </cmd:1>, <:emoji:1>, <a:emoji:1>, <t:1700000000:R>, <id:customize>
_DISCORD_TOKEN = re.compile(r"<(?:@[!&]?\d+|#\d+|/[^>\s]{1,100}:\d+|a?:\w{1,32}:\d+|t:-?\d+(?::[tTdDfFR])?|id:\w+)>")
_EVERYONE = re.compile(r"@(?:everyone|here)\b", re.IGNORECASE)
_MASKED_LINK = re.compile(r"\[([^\]\n]{0,300})\]\(\s*<?(https?://[^\s)>]+)>?\s*\)")
_ANGLE_LINK = re.compile(r"<(https?://[^\s>]+)>")
_LINE_PREFIX = re.compile(r"^\s*(?:>>>\s?|>\s?|-#\s+|#{1,3}\s+|[-*+]\s+|\d{1,3}[.)]\s+)+", re.MULTILINE)
_MARKS = re.compile(r"(\*{1,3}|_{2,3}|~~|\|\||`{1,3})")
_CODE_LANG = re.compile(r"`{3}[A-Za-z0-9_+-]{0,20}\n")


def message_query(text: str, limit: int = MESSAGE_QUERY_CHARS) -> str:
    """The question a message's text makes: no mentions, no markdown, one line, at most ``limit`` characters.

    >>> message_query("<@123> look: **不用乘法的矩阵乘积** @everyone <:pog:42>")
    'look: 不用乘法的矩阵乘积'
    >>> message_query("> quoted [MADDNESS paper](<https://arxiv.org/abs/2106.10860>) ||spoiler|| `code`")
    'quoted MADDNESS paper https://arxiv.org/abs/2106.10860 spoiler code'
    >>> message_query("```python\\nprint('x')\\n```"), message_query("<@&5> <#6> <t:1700000000:R>")
    ("print('x')", '')
    >>> message_query("word " * 100, limit=22)
    'word word word word'
    >>> message_query("变压器" * 200, limit=10)
    '变压器变压器变压器变'
    """
    text = _CODE_LANG.sub("\n", text)
    text = _MASKED_LINK.sub(lambda m: f"{m.group(1)} {m.group(2)}", text)
    text = _ANGLE_LINK.sub(r"\1", text)
    text = _DISCORD_TOKEN.sub(" ", text)
    text = _EVERYONE.sub(" ", text)
    text = _LINE_PREFIX.sub("", text)
    text = _MARKS.sub("", text)
    text = " ".join(text.split())
    return _clip_words(text, limit)


def _clip_words(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at the last space in the final fifth when there is one (so no word is
    halved), else at the limit (Chinese has no spaces)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space].rstrip() if space >= limit * 4 // 5 else cut
