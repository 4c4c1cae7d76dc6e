"""What every Discord reply is made of: Discord's size limits, and text from members, feeds and the archive made
safe to show (escaped, clipped, links that cannot break out). The renderers (:mod:`bot.discord_adapter.embeds`,
:mod:`bot.discord_adapter.alert_embeds`) build on it."""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from bot.i18n import EN, Lang
from bot.textutil import issue_date
from retrieval.models import Issue

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
FIELDS_MAX = 25
EMBEDS_MAX = 10
TOTAL_MAX = 6000
CONTENT_MAX = 2000
ECHO_MAX = 100
"""How much of what a member typed a reply repeats."""

HITS_PER_PAGE = 4
BUTTON_LABEL_MAX = 80
COLOR = discord.Colour(0x5865F2)
FEATURE_COLOR = discord.Colour(0xF1C40F)

_URL_OK = re.compile(r"^https?://[^\s<>\"]+$")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in … when cut.

    >>> clip("变压器" * 100, 10)
    '变压器变压器变压器…'
    >>> clip("ok", 10)
    'ok'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Escape markdown and neutralise mentions in text from users or the archive.

    >>> escape("**bold** @everyone <@&123>")
    '\\\\*\\\\*bold\\\\*\\\\* @\\u200beveryone <@\\u200b&123>'
    """
    text = discord.utils.escape_markdown(text)
    # allowed_mentions already stops pings; this also keeps them from rendering as mentions:
    # users, roles, @everyone/@here (<@…>, @…), channels (<#…>) and slash commands (</name:id>).
    return text.replace("@", "@\u200b").replace("<#", "<\u200b#").replace("</", "<\u200b/")


def user_text(text: str, limit: int = ECHO_MAX) -> str:
    """What a member typed, repeated in a reply: one line, clipped, shown literally (no markdown, no mention).

    >>> user_text("[Free Nitro, click here](https://evil.example)")
    '\\\\[Free Nitro, click here](https://evil.example)'
    >>> len(user_text("第 34 期" * 500))
    100
    """
    return _escape_brackets(escape(clip(" ".join(text.split()), limit)))


def _escape_brackets(escaped: str) -> str:
    """Escape every ``[`` that is not escaped yet. ``escape_markdown`` escapes one masked link per line (its
    pattern is greedy), so a second ``[text](url)`` on the line stayed live.

    >>> _escape_brackets(discord.utils.escape_markdown("[a](https://x.example) [b](https://y.example)"))
    '\\\\[a](https://x.example) \\\\[b](https://y.example)'
    """
    return re.sub(r"(\\.)|\[", lambda m: m.group(1) or "\\[", escaped)


def error_text(message: str, suggestions: Sequence[str] = (), lg: Lang = EN) -> str:
    """An error for the asker. Its message may repeat what they typed, so all of it is shown literally, and
    it fits one message (2000 characters) however long the input was.

    >>> error_text("No issue called “**x**”.", ["#31 — 第 31 期"])
    'No issue called “\\\\*\\\\*x\\\\*\\\\*”.\\nDid you mean: \\\\#31 — 第 31 期'
    """
    text = _escape_brackets(escape(message))
    if suggestions:
        text += "\n" + lg.gettext("Did you mean: {suggestions}",
                                  suggestions="; ".join(escape(clip(s, 150)) for s in suggestions[:8]))
    return clip(text, CONTENT_MAX)


def safe_url(url: str | None) -> str | None:
    """A URL Discord accepts in an embed, or None.

    >>> safe_url("https://arxiv.org/abs/2106.10860")
    'https://arxiv.org/abs/2106.10860'
    >>> safe_url("https://cdn . open ai . com/x") is None
    True
    """
    if not url or len(url) > 2048 or not _URL_OK.match(url):
        return None
    return url


def link(text: str, url: str | None) -> str:
    """A markdown link whose text and target cannot break out of the brackets.

    >>> link("论文 [v2]", "https://e.com/a_(b)")
    '[论文 ［v2］](https://e.com/a_%28b%29)'
    """
    label = text.replace("[", "［").replace("]", "］")
    target = safe_url(url)
    if target is None:
        return label
    return f"[{label}]({target.replace('(', '%28').replace(')', '%29')})"


def embed_size(embeds: Sequence[discord.Embed]) -> int:
    return sum(len(e) for e in embeds)


def issue_ref(issue: Issue) -> str:
    """An issue as a reply names it: its label, linked to its page, and its date."""
    date = issue_date(issue)
    label = link(escape(issue.label), issue.source_url)
    return f"{label} ({date})" if date else label
