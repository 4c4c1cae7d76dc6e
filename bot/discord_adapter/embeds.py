"""The Discord surface's renderer: the only module that builds ``discord.Embed``.

Discord rejects a message whose embeds break its limits (HTTP 400, code 50035), so every limit is
enforced here, on the way out: title 256, description 4096, field name 256 and value 1024, footer
2048, author 256, 25 fields, 10 embeds and 6000 characters across all embeds of one message.
User text (questions) and archive text are escaped so they cannot break the markdown or ping anyone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import assert_never

import discord

from bot.digest.schedule import DigestSettings, when
from bot.discord_adapter.translator import usage
from bot.i18n import COMMAND_NAME, EN, N_, Lang
from bot.results import (
    AskResult,
    DigestNowResult,
    DigestPreview,
    DigestSettingsResult,
    FeaturesResult,
    FeedRetryResult,
    HelpResult,
    IssueListResult,
    IssueResult,
    ReindexResult,
    Result,
    SimilarResult,
    StatsResult,
    feed_line,
    feed_retry_title,
)
from bot.textutil import format_duration, issue_date, shorten
from retrieval.models import Entry, Hit, Issue

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


def _issue_ref(issue: Issue) -> str:
    date = issue_date(issue)
    label = link(escape(issue.label), issue.source_url)
    return f"{label} ({date})" if date else label


def _hit_block(n: int, hit: Hit, snippet_chars: int, lg: Lang) -> str:
    entry = hit.entry
    marks = " ★" if entry.feature else ""
    title = link(escape(clip(entry.title, 200)), entry.url)
    snippet = _highlight(hit, snippet_chars)
    where = f"{_issue_ref(hit.issue)} · {entry.section.label_zh}"
    lines = [f"**{n}.** {title}{marks}"]
    if snippet:
        lines.append(f"> {snippet}")
    lines.append(where)
    if hit.issue.repaired:
        note = lg.gettext("(from repaired text: a few characters may be wrong)")
        lines.append(f"*{note}*")
    more = [u for u in entry.links if u != entry.url][:3]
    if more:
        lines.append(lg.gettext("links: {links}", links=" ".join(link(str(n), u) for n, u in enumerate(more, 2))))
    if hit.bridges:
        lines.append(lg.gettext("matched via {pairs}",
                                pairs=", ".join(f"{escape(a)} ↔ {escape(b)}" for a, b in hit.bridges[:4])))
    if hit.also_in:
        lines.append(lg.gettext("also in: {issues}",
                                issues=", ".join(link(escape(i.label), i.source_url) for i in hit.also_in[:6])))
    return "\n".join(lines)


def _highlight(hit: Hit, limit: int) -> str:
    text = hit.snippet
    out, last = [], 0
    for a, b in hit.highlights:
        if b > limit:
            break
        out.append(escape(text[last:a]))
        out.append(f"**{escape(text[a:b])}**")
        last = b
    out.append(escape(clip(text[last:], max(1, limit - last))))
    return " ".join("".join(out).split())


@dataclass(frozen=True, slots=True)
class Reply:
    """A rendered result: one message's embeds and text, or (``paged``) one embed per page of an answer."""

    embeds: list[discord.Embed] = field(default_factory=list)
    content: str | None = None
    paged: bool = False


def render(result: Result, lg: Lang = EN) -> Reply:
    """Every result the service returns, as Discord shows it, in ``lg``'s language."""
    match result:
        case AskResult():
            return Reply(ask_pages(result, lg), paged=True)
        case SimilarResult():
            like = lg.gettext("Like “{title}”", title=escape(clip(result.item.title, 200)))
            empty = None if result.hits else lg.gettext("No similar items.")
            return Reply(hit_pages(like, result.hits, empty, lg=lg), paged=True)
        case FeaturesResult():
            return Reply(features_embeds(result, lg=lg))
        case DigestPreview():
            return Reply(digest_embeds(result, lg))
        case IssueResult():
            return Reply([issue_embed(result, lg)])
        case IssueListResult():
            return Reply([issues_embed(result, lg)])
        case HelpResult():
            return Reply([help_embed(result, lg)])
        case StatsResult():
            return Reply([stats_embed(result, lg)])
        case FeedRetryResult():
            return Reply([feed_retry_embed(result, lg)])
        case ReindexResult():
            return Reply([reindex_embed(result, lg)])
        case DigestSettingsResult():
            return Reply([digest_settings_embed(lg.gettext(result.title), result.settings, lg)])
        case DigestNowResult():
            return Reply(content=clip(discord.utils.escape_mentions(digest_now_text(result, lg)), CONTENT_MAX))
        case _:
            assert_never(result)


def digest_now_text(result: DigestNowResult, lg: Lang) -> str:
    """What /newsbot digest-now did: the outcome's own words when it has a message of the catalog."""
    if result.status == "posted" and result.label is not None:
        return lg.gettext("Posted the digest ({issue}).", issue=result.label)
    return lg.gettext(result.text) if lg.has(result.text) else result.text


def with_cannot_post(reply: Reply, missing: Sequence[str], channel_id: int | None, lg: Lang = EN) -> Reply:
    """A settings reply with a warning that the bot cannot post in the digest channel (the permissions it lacks
    there, by Discord's names, which only the Discord surface knows)."""
    if not missing:
        return reply
    return _with_warning(reply, lg.gettext("⚠ I cannot post there"), lg.gettext(
        "Missing {permissions} in {channel}. Give newsbot these permissions there, or pick another channel; until "
        "then the digest cannot be posted.", permissions=", ".join(missing), channel=f"<#{int(channel_id or 0)}>"))


def with_no_threads(reply: Reply, channel_id: int | None, lg: Lang = EN) -> Reply:
    """A settings reply with a warning that the digest's thread cannot be opened (no Create Public Threads)."""
    return _with_warning(reply, lg.gettext("⚠ I cannot open threads there"), lg.gettext(
        "Missing Create Public Threads in {channel}. Give newsbot this permission there; until then each digest is "
        "posted without its thread.", channel=f"<#{int(channel_id or 0)}>"))


def _with_warning(reply: Reply, name: str, text: str) -> Reply:
    """The reply with a warning field on its first embed (copied: a rendered reply is never changed in place)."""
    if not reply.embeds:
        return reply
    head = reply.embeds[0].copy()
    head.add_field(name=name, value=clip(text, FIELD_VALUE_MAX), inline=False)
    return dataclasses.replace(reply, embeds=[head, *reply.embeds[1:]])


def ask_pages(result: AskResult, lg: Lang = EN) -> list[discord.Embed]:
    """One embed per page of results; the view pages through them."""
    question = user_text(result.query, 200)
    title = lg.gettext("“{question}”", question=question) if question else lg.gettext("Search")
    return hit_pages(title, result.hits, lg.notice(result.notice or "") or None, cached=result.cached, lg=lg)


def hit_pages(title: str, hits: Sequence[Hit], notice: str | None, *, cached: bool = False,
              lg: Lang = EN) -> list[discord.Embed]:
    """Search results as pages of :data:`HITS_PER_PAGE`; ``title`` is already escaped, ``notice`` is not."""
    title = clip(title, TITLE_MAX)
    if not hits:
        text = notice or lg.gettext("No matches.")
        return [discord.Embed(title=title, description=clip(escape(text), DESCRIPTION_MAX), colour=COLOR)]
    pages: list[discord.Embed] = []
    chunks = [hits[i:i + HITS_PER_PAGE] for i in range(0, len(hits), HITS_PER_PAGE)]
    for p, chunk in enumerate(chunks, 1):
        blocks = [_hit_block((p - 1) * HITS_PER_PAGE + i, h, 300, lg) for i, h in enumerate(chunk, 1)]
        description = "\n\n".join(blocks)
        if notice:
            description = f"*{escape(notice)}*\n\n" + description
        embed = discord.Embed(title=title, description=clip(description, DESCRIPTION_MAX), colour=COLOR)
        footer = (lg.ngettext("page {page}/{pages} · {n} result · cached", "page {page}/{pages} · {n} results · cached",
                              len(hits), page=p, pages=len(chunks)) if cached else
                  lg.ngettext("page {page}/{pages} · {n} result", "page {page}/{pages} · {n} results", len(hits),
                              page=p, pages=len(chunks)))
        embed.set_footer(text=clip(footer, FOOTER_MAX))
        pages.append(fit_message([embed])[0])
    return pages


def features_embeds(result: FeaturesResult, *, heading: str = N_("This week's features"),
                    footer: str | None = None, lg: Lang = EN) -> list[discord.Embed]:
    """The issue embed plus one embed per feature: the shape of both /features and the weekly digest."""
    issue = result.issue
    head = discord.Embed(
        title=clip(issue.title, TITLE_MAX), url=safe_url(issue.source_url), colour=FEATURE_COLOR,
        description=clip(_issue_description(issue, result, lg.gettext(heading), lg), DESCRIPTION_MAX),
    )
    if footer:
        head.set_footer(text=clip(footer, FOOTER_MAX))
    embeds = [head]
    for entry in result.items[: EMBEDS_MAX - 1]:
        embeds.append(_entry_embed(entry, lg))
    return fit_message(embeds)


def _issue_description(issue: Issue, result: FeaturesResult, heading: str, lg: Lang) -> str:
    parts = [f"**{escape(heading)}** · {escape(issue.label)}"]
    date = issue_date(issue)
    if date:
        parts[0] += f" · {date}"
    if issue.repaired:
        note = lg.gettext("(repaired from mojibake: a few characters may be wrong)")
        parts.append(f"*{note}*")
    if result.more:
        label = issue.label.replace("`", "'")  # a backtick would close the code span and free what follows
        parts.append(lg.ngettext("…and {n} more item in this issue: {command}",
                                 "…and {n} more items in this issue: {command}", result.more,
                                 command=f"`/{lg.pgettext(COMMAND_NAME, 'issue')} {label}`"))
    return "\n".join(parts)


def _entry_embed(entry: Entry, lg: Lang) -> discord.Embed:
    return discord.Embed(
        title=clip(entry.title or lg.gettext("(untitled)"), TITLE_MAX), url=safe_url(entry.url), colour=FEATURE_COLOR,
        description=clip(escape(shorten(entry.summary, 700)), DESCRIPTION_MAX) if entry.summary else None,
    )


def fit_message(embeds: list[discord.Embed]) -> list[discord.Embed]:
    """Trim descriptions, longest first, until the message fits Discord's 6000-character budget."""
    embeds = embeds[:EMBEDS_MAX]
    for e in embeds:
        if e.title and len(e.title) > TITLE_MAX:
            e.title = clip(e.title, TITLE_MAX)
        if e.description and len(e.description) > DESCRIPTION_MAX:
            e.description = clip(e.description, DESCRIPTION_MAX)
        if len(e.fields) > FIELDS_MAX:
            for _ in range(len(e.fields) - FIELDS_MAX):
                e.remove_field(FIELDS_MAX)
    while embed_size(embeds) > TOTAL_MAX:
        longest = max(embeds, key=lambda e: len(e.description or ""))
        current = longest.description or ""
        excess = embed_size(embeds) - TOTAL_MAX
        if len(current) <= 1:
            embeds.pop()  # nothing left to trim: drop the last embed
            continue
        longest.description = clip(current, max(1, len(current) - excess - 1))
    return embeds


def issue_embed(result: IssueResult, lg: Lang = EN) -> discord.Embed:
    issue = result.issue
    embed = discord.Embed(title=clip(issue.title, TITLE_MAX), url=safe_url(issue.source_url), colour=COLOR)
    date = issue_date(issue)
    embed.description = clip(" · ".join(p for p in (escape(issue.label), date) if p), DESCRIPTION_MAX)
    for section in issue.sections[:FIELDS_MAX]:
        items = [e for e in issue.entries if e.section is section]
        lines: list[str] = []
        used = 0
        for e in items:
            line = f"{'★ ' if e.feature else ''}{link(escape(clip(e.title, 120)), e.url)}"
            if used + len(line) + 1 > FIELD_VALUE_MAX - 40:
                lines.append(lg.gettext("…and {n} more", n=len(items) - len(lines)))
                break
            lines.append(line)
            used += len(line) + 1
        embed.add_field(name=clip(f"{section.label_zh} / {section.label_en}", FIELD_NAME_MAX),
                        value=clip("\n".join(lines) or "—", FIELD_VALUE_MAX), inline=False)
    return fit_message([embed])[0]


def issues_embed(result: IssueListResult, lg: Lang = EN) -> discord.Embed:
    lines = [lg.ngettext("{issue} — {title} ({n} item)", "{issue} — {title} ({n} items)", len(i.entries),
                         issue=_issue_ref(i), title=escape(clip(i.title, 90))) for i in result.issues]
    embed = discord.Embed(title=lg.gettext("Archive"), colour=COLOR,
                          description=clip("\n".join(lines) or lg.gettext("No issues."), DESCRIPTION_MAX))
    embed.set_footer(text=lg.ngettext("page {page}/{pages} · {n} issue, newest first",
                                      "page {page}/{pages} · {n} issues, newest first", result.total,
                                      page=result.page, pages=result.pages))
    return embed


def help_embed(result: HelpResult, lg: Lang = EN) -> discord.Embed:
    """Every command as Discord lists it (``/newsbot stats``, not the console's ``/stats``), by the names and
    descriptions the member's client shows."""
    lines = [f"`{usage(c, lg)}` — {escape(lg.gettext(c.description))}" for c in result.commands if not c.admin]
    admin = [f"`{usage(c, lg)}` — {escape(lg.gettext(c.description))}" for c in result.commands if c.admin]
    embed = discord.Embed(title="newsbot", description=clip("\n".join(lines), DESCRIPTION_MAX), colour=COLOR)
    if admin:
        embed.add_field(name=lg.gettext("Admins (Manage Server)"), value=clip("\n".join(admin), FIELD_VALUE_MAX),
                        inline=False)
    embed.set_footer(text=clip(lg.gettext("Name an issue as {forms}.", forms=result.issue_forms), FOOTER_MAX))
    return embed


def stats_embed(result: StatsResult, lg: Lang = EN) -> discord.Embed:
    c = result.cache
    embed = discord.Embed(title=lg.gettext("newsbot stats"), colour=COLOR)
    embed.add_field(name=lg.gettext("Index"), value=lg.gettext(
        "{issues} issues · {documents} documents · {entries} entries ({features} features)", issues=result.issues,
        documents=result.documents, entries=result.entries, features=result.features), inline=False)
    embed.add_field(name=lg.gettext("Files"), value=lg.gettext("{repaired} repaired · {skipped} skipped",
                    repaired=result.repaired, skipped=result.skipped), inline=False)
    embed.add_field(name=lg.gettext("Cache"), value=clip(lg.gettext(
        "{hits} hits · {misses} misses · {rate} % · {stored} stored\nstatus: {status}", hits=c.hits,
        misses=c.misses, rate=f"{100 * c.hit_rate:.1f}", stored=c.entries, status=escape(c.status)),
        FIELD_VALUE_MAX), inline=False)
    embed.add_field(name=lg.gettext("Uptime"), value=format_duration(result.uptime_seconds), inline=False)
    if result.digest_settings is not None:
        embed.add_field(name=lg.gettext("Weekly digest"), value=clip(digest_settings_text(result.digest_settings, lg),
                                                                     FIELD_VALUE_MAX), inline=False)
    elif result.digest:
        embed.add_field(name=lg.gettext("Weekly digest"), value=clip(escape(result.digest), FIELD_VALUE_MAX),
                        inline=False)
    if result.digest_waiting:
        embed.add_field(name=lg.gettext("Weekly digest waits"), value=clip(escape(result.digest_waiting),
                                                                           FIELD_VALUE_MAX), inline=False)
    if result.feeds:
        embed.add_field(name=lg.gettext("Feeds ({n})", n=len(result.feeds)), value=clip(
            "\n".join(escape(feed_line(f)) for f in result.feeds), FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=lg.gettext("index {fingerprint}", fingerprint=result.index_fingerprint))
    return embed


def feed_retry_embed(result: FeedRetryResult, lg: Lang = EN) -> discord.Embed:
    return discord.Embed(title=clip(escape(feed_retry_title(result)), TITLE_MAX), colour=COLOR, description=clip(
        lg.gettext("Polled at the next chance. Every feed now:\n{feeds}",
                   feeds="\n".join(escape(feed_line(f)) for f in result.feeds)), DESCRIPTION_MAX))


def reindex_embed(result: ReindexResult, lg: Lang = EN) -> discord.Embed:
    text = (lg.gettext("{issues} issues, {entries} entries in {seconds} s", issues=result.issues,
                       entries=result.entries, seconds=f"{result.seconds:.1f}") if result.changed else
            lg.gettext("{issues} issues, {entries} entries in {seconds} s (nothing changed)", issues=result.issues,
                       entries=result.entries, seconds=f"{result.seconds:.1f}"))
    embed = discord.Embed(title=lg.gettext("Reindexed"), description=text, colour=COLOR)
    if result.skipped:
        embed.add_field(name=lg.gettext("{n} files skipped", n=len(result.skipped)),
                        value=clip("\n".join(escape(s) for s in result.skipped), FIELD_VALUE_MAX), inline=False)
    return embed


def digest_embeds(preview: DigestPreview, lg: Lang = EN) -> list[discord.Embed]:
    embeds = features_embeds(preview.features, heading=N_("Weekly digest preview"), lg=lg)
    schedule = (digest_settings_text(preview.settings, lg) if preview.settings is not None and lg.code != EN.code
                else escape(preview.schedule))  # English keeps describe()'s words
    embeds[0].description = clip(f"{embeds[0].description or ''}\n{schedule}", DESCRIPTION_MAX)
    return fit_message(embeds)


def digest_settings_text(settings: DigestSettings, lg: Lang = EN) -> str:
    """The digest settings for Discord: the channel as a clickable mention (our own id, never user text).

    >>> digest_settings_text(DigestSettings(1, 5, weekday=2, timezone="America/Los_Angeles", enabled=True))
    '<#5> · Wednesday at 09:00 America/Los\\\\_Angeles · policy “next” · **on**'
    >>> print(digest_settings_text(DigestSettings(1, 5, enabled=True, role_id=7, thread=True,
    ...                                           thread_error="no thread (403)")))
    <#5> · Monday at 09:00 UTC · policy “next” · **on** · pings <@&7> · opens a thread
    last digest: no thread (403)
    """
    channel = (f"<#{int(settings.channel_id)}>" if settings.channel_id is not None
               else lg.gettext("no channel yet"))
    on, off = lg.gettext("on"), lg.gettext("off")
    on, off = f"**{on}**", f"**{off}**"
    state = on if settings.enabled else (
        f"{off} ({escape(settings.disabled_reason)})" if settings.disabled_reason else off)
    parts = [channel, escape(when(settings, lg)), lg.gettext("policy “{policy}”", policy=escape(settings.policy)),
             state]
    if settings.role_id is not None:
        parts.append(lg.gettext("pings {role}", role=f"<@&{int(settings.role_id)}>"))  # our id; embeds never ping
    if settings.thread:
        parts.append(lg.gettext("opens a thread"))
    if settings.locale:
        parts.append(lg.gettext("language {language}", language=settings.locale))
    text = " · ".join(parts)
    if settings.thread_error:
        text += "\n" + lg.gettext("last digest: {error}", error=escape(settings.thread_error))
    return text


def digest_settings_embed(title: str, settings: DigestSettings, lg: Lang = EN) -> discord.Embed:
    """A settings reply: everything that is set."""
    return discord.Embed(title=clip(title, TITLE_MAX), description=digest_settings_text(settings, lg), colour=COLOR)
