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
from bot.results import (
    AlertNoticeResult,
    AlertReply,
    AlertResult,
    AlertSub,
    ArchiveDefaultResult,
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
    SubscribeResult,
    SubscriptionsResult,
    UnsubscribeResult,
    alert_notice_text,
    archive_default_text,
    feed_line,
    feed_retry_title,
    subscribe_text,
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


def error_text(message: str, suggestions: Sequence[str] = ()) -> str:
    """An error for the asker. Its message may repeat what they typed, so all of it is shown literally, and
    it fits one message (2000 characters) however long the input was.

    >>> error_text("No issue called “**x**”.", ["#31 — 第 31 期"])
    'No issue called “\\\\*\\\\*x\\\\*\\\\*”.\\nDid you mean: \\\\#31 — 第 31 期'
    """
    text = _escape_brackets(escape(message))
    if suggestions:
        text += "\nDid you mean: " + "; ".join(escape(clip(s, 150)) for s in suggestions[:8])
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


def _hit_block(n: int, hit: Hit, snippet_chars: int) -> str:
    entry = hit.entry
    marks = " ★" if entry.feature else ""
    title = link(escape(clip(entry.title, 200)), entry.url)
    snippet = _highlight(hit, snippet_chars)
    where = f"{_issue_ref(hit.issue)} · {escape(clip(entry.section_name, 100))}"  # a heading: data
    lines = [f"**{n}.** {title}{marks}"]
    if snippet:
        lines.append(f"> {snippet}")
    lines.append(where)
    if hit.issue.repaired:
        lines.append("*(from repaired text: a few characters may be wrong)*")
    more = [u for u in entry.links if u != entry.url][:3]
    if more:
        lines.append("links: " + " ".join(link(str(n), u) for n, u in enumerate(more, 2)))
    if hit.bridges:
        lines.append("matched via " + ", ".join(f"{escape(a)} ↔ {escape(b)}" for a, b in hit.bridges[:4]))
    if hit.also_in:
        lines.append("also in: " + ", ".join(link(escape(i.label), i.source_url) for i in hit.also_in[:6]))
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


def render(result: Result) -> Reply:
    """Every result the service returns, as Discord shows it."""
    match result:
        case AskResult():
            return Reply(ask_pages(result), paged=True)
        case SimilarResult():
            like = f"Like “{escape(clip(result.item.title, 200))}”"
            return Reply(hit_pages(like, result.hits, None if result.hits else "No similar items."), paged=True)
        case FeaturesResult():
            return Reply(features_embeds(result))
        case DigestPreview():
            return Reply(digest_embeds(result))
        case IssueResult():
            return Reply([issue_embed(result)])
        case IssueListResult():
            return Reply([issues_embed(result)])
        case HelpResult():
            return Reply([help_embed(result)])
        case StatsResult():
            return Reply([stats_embed(result)])
        case ArchiveDefaultResult():
            return Reply([discord.Embed(title="Default archive", colour=COLOR,
                                        description=escape(archive_default_text(result)))])
        case FeedRetryResult():
            return Reply([feed_retry_embed(result)])
        case ReindexResult():
            return Reply([reindex_embed(result)])
        case DigestSettingsResult():
            return Reply([digest_settings_embed(result.title, result.settings)])
        case DigestNowResult():
            return Reply(content=clip(discord.utils.escape_mentions(result.text), CONTENT_MAX))
        case SubscribeResult() | SubscriptionsResult() | UnsubscribeResult() | AlertResult() | AlertNoticeResult():
            return _alert_reply(result)
        case _:
            assert_never(result)


def with_cannot_post(reply: Reply, missing: Sequence[str], channel_id: int | None) -> Reply:
    """A settings reply with a warning that the bot cannot post in the digest channel (the permissions it lacks
    there, by Discord's names, which only the Discord surface knows)."""
    if not missing:
        return reply
    return _with_warning(reply, "⚠ I cannot post there", f"Missing {', '.join(missing)} in <#{int(channel_id or 0)}>. "
                         "Give newsbot these permissions there, or pick another channel; until then the digest "
                         "cannot be posted.")


def with_no_threads(reply: Reply, channel_id: int | None) -> Reply:
    """A settings reply with a warning that the digest's thread cannot be opened (no Create Public Threads)."""
    return _with_warning(reply, "⚠ I cannot open threads there", f"Missing Create Public Threads in "
                         f"<#{int(channel_id or 0)}>. Give newsbot this permission there; until then each digest is "
                         "posted without its thread.")


def _with_warning(reply: Reply, name: str, text: str) -> Reply:
    """The reply with a warning field on its first embed (copied: a rendered reply is never changed in place)."""
    if not reply.embeds:
        return reply
    head = reply.embeds[0].copy()
    head.add_field(name=name, value=clip(text, FIELD_VALUE_MAX), inline=False)
    return dataclasses.replace(reply, embeds=[head, *reply.embeds[1:]])


def ask_pages(result: AskResult) -> list[discord.Embed]:
    """One embed per page of results; the view pages through them."""
    question = user_text(result.query, 200)
    notice = result.notice
    if result.filters is not None and result.filters.active and result.hits:
        filtered = f"Filtered: {result.filters.describe()}."
        notice = f"{notice} {filtered}" if notice else filtered
    return hit_pages(f"“{question}”" if question else "Search", result.hits, notice, cached=result.cached)


def hit_links(result: AskResult) -> list[list[tuple[str, str | None]]]:
    """The link buttons of an answer, one row per hit: ``(label, url)`` for the item, then for its issue (a url
    that is None or not one a button may carry is dropped by the view). Labels are plain text (a button renders
    no markdown and pings no one), clipped to Discord's 80 characters.

    >>> from retrieval.models import Entry, Hit, Issue
    >>> issue = Issue("w31", "第 31 期", "https://medium.com/x", "issue", (), number=31)
    >>> hit = Hit(Entry("w31", 0, "papers", "MADDNESS", "https://arxiv.org/abs/2106.10860", ""), issue, 1.0, "")
    >>> hit_links(AskResult("q", (hit,), None, False))
    [[('1. MADDNESS', 'https://arxiv.org/abs/2106.10860'), ('1. Issue #31', 'https://medium.com/x')]]
    """
    return [[(clip(f"{n}. {h.entry.title or 'item'}", BUTTON_LABEL_MAX), h.entry.url),
             (clip(f"{n}. Issue {h.issue.label}", BUTTON_LABEL_MAX), h.issue.source_url)]
            for n, h in enumerate(result.hits[:HITS_PER_PAGE], 1)]


def hit_pages(title: str, hits: Sequence[Hit], notice: str | None, *, cached: bool = False) -> list[discord.Embed]:
    """Search results as pages of :data:`HITS_PER_PAGE`; ``title`` is already escaped, ``notice`` is not."""
    title = clip(title, TITLE_MAX)
    if not hits:
        text = notice or "No matches."
        return [discord.Embed(title=title, description=clip(escape(text), DESCRIPTION_MAX), colour=COLOR)]
    pages: list[discord.Embed] = []
    chunks = [hits[i:i + HITS_PER_PAGE] for i in range(0, len(hits), HITS_PER_PAGE)]
    for p, chunk in enumerate(chunks, 1):
        blocks = [_hit_block((p - 1) * HITS_PER_PAGE + i, h, 300) for i, h in enumerate(chunk, 1)]
        description = "\n\n".join(blocks)
        if notice:
            description = f"*{escape(notice)}*\n\n" + description
        embed = discord.Embed(title=title, description=clip(description, DESCRIPTION_MAX), colour=COLOR)
        footer = f"page {p}/{len(chunks)} · {len(hits)} results"
        if cached:
            footer += " · cached"
        embed.set_footer(text=clip(footer, FOOTER_MAX))
        pages.append(fit_message([embed])[0])
    return pages


def features_embeds(result: FeaturesResult, *, heading: str = "This week's features",
                    footer: str | None = None) -> list[discord.Embed]:
    """The issue embed plus one embed per feature: the shape of both /features and the weekly digest."""
    issue = result.issue
    head = discord.Embed(
        title=clip(issue.title, TITLE_MAX), url=safe_url(issue.source_url), colour=FEATURE_COLOR,
        description=clip(_issue_description(issue, result, heading), DESCRIPTION_MAX),
    )
    if footer:
        head.set_footer(text=clip(footer, FOOTER_MAX))
    embeds = [head]
    for entry in result.items[: EMBEDS_MAX - 1]:
        embeds.append(_entry_embed(entry))
    return fit_message(embeds)


def _issue_description(issue: Issue, result: FeaturesResult, heading: str) -> str:
    parts = [f"**{escape(heading)}** · {escape(issue.label)}"]
    date = issue_date(issue)
    if date:
        parts[0] += f" · {date}"
    if issue.repaired:
        parts.append("*(repaired from mojibake: a few characters may be wrong)*")
    if result.more:
        label = issue.label.replace("`", "'")  # a backtick would close the code span and free what follows
        parts.append(f"…and {result.more} more items in this issue: `/issue {label}`")
    return "\n".join(parts)


def _entry_embed(entry: Entry) -> discord.Embed:
    return discord.Embed(
        title=clip(entry.title or "(untitled)", TITLE_MAX), url=safe_url(entry.url), colour=FEATURE_COLOR,
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


def issue_embed(result: IssueResult) -> discord.Embed:
    issue = result.issue
    embed = discord.Embed(title=clip(issue.title, TITLE_MAX), url=safe_url(issue.source_url), colour=COLOR)
    date = issue_date(issue)
    embed.description = clip(" · ".join(p for p in (escape(issue.label), date) if p), DESCRIPTION_MAX)
    for section in issue.sections[:FIELDS_MAX]:
        items = [e for e in issue.entries if e.section == section]
        lines: list[str] = []
        used = 0
        for e in items:
            line = f"{'★ ' if e.feature else ''}{link(escape(clip(e.title, 120)), e.url)}"
            if used + len(line) + 1 > FIELD_VALUE_MAX - 40:
                lines.append(f"…and {len(items) - len(lines)} more")
                break
            lines.append(line)
            used += len(line) + 1
        embed.add_field(name=clip(escape(items[0].section_name_both), FIELD_NAME_MAX),
                        value=clip("\n".join(lines) or "—", FIELD_VALUE_MAX), inline=False)
    return fit_message([embed])[0]


def issues_embed(result: IssueListResult) -> discord.Embed:
    lines = [
        f"{_issue_ref(i)} — {escape(clip(i.title, 90))} ({len(i.entries)} items)" for i in result.issues
    ]
    embed = discord.Embed(title="Archive", description=clip("\n".join(lines) or "No issues.", DESCRIPTION_MAX),
                          colour=COLOR)
    embed.set_footer(text=f"page {result.page}/{result.pages} · {result.total} issues, newest first")
    return embed


def help_embed(result: HelpResult) -> discord.Embed:
    """Every command as Discord lists it (``/newsbot stats``, not the console's ``/stats``)."""
    lines = [f"`{c.discord_usage}` — {escape(c.description)}" for c in result.commands if not c.admin]
    admin = [f"`{c.discord_usage}` — {escape(c.description)}" for c in result.commands if c.admin]
    embed = discord.Embed(title="newsbot", description=clip("\n".join(lines), DESCRIPTION_MAX), colour=COLOR)
    if admin:
        embed.add_field(name="Admins (Manage Server)", value=clip("\n".join(admin), FIELD_VALUE_MAX), inline=False)
    if result.menus:
        menus = [f"**{escape(m.name)}** — {escape(m.description)}" for m in result.menus]
        embed.add_field(name="On a message (Apps menu)", value=clip("\n".join(menus), FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=clip(f"Name an issue as {result.issue_forms}.", FOOTER_MAX))
    return embed


def stats_embed(result: StatsResult) -> discord.Embed:
    c = result.cache
    embed = discord.Embed(title=f"newsbot stats · {result.name}" if result.name else "newsbot stats", colour=COLOR)
    embed.add_field(name="Index", value=f"{result.issues} issues · {result.documents} documents · "
                    f"{result.entries} entries ({result.features} features)", inline=False)
    embed.add_field(name="Files", value=f"{result.repaired} repaired · {result.skipped} skipped", inline=False)
    embed.add_field(name="Cache", value=clip(f"{c.hits} hits · {c.misses} misses · {100 * c.hit_rate:.1f} % · "
                    f"{c.entries} stored\nstatus: {escape(c.status)}", FIELD_VALUE_MAX), inline=False)
    embed.add_field(name="Uptime", value=format_duration(result.uptime_seconds), inline=False)
    if result.digest_settings is not None:
        embed.add_field(name="Weekly digest", value=clip(digest_settings_text(result.digest_settings),
                                                         FIELD_VALUE_MAX), inline=False)
    elif result.digest:
        embed.add_field(name="Weekly digest", value=clip(escape(result.digest), FIELD_VALUE_MAX), inline=False)
    if result.digest_waiting:
        embed.add_field(name="Weekly digest waits", value=clip(escape(result.digest_waiting), FIELD_VALUE_MAX),
                        inline=False)
    if result.feeds:
        embed.add_field(name=f"Feeds ({len(result.feeds)})", value=clip(
            "\n".join(escape(feed_line(f)) for f in result.feeds), FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=f"index {result.index_fingerprint}")
    return embed


def feed_retry_embed(result: FeedRetryResult) -> discord.Embed:
    return discord.Embed(title=clip(escape(feed_retry_title(result)), TITLE_MAX), colour=COLOR, description=clip(
        "Polled at the next chance. Every feed now:\n" + "\n".join(escape(feed_line(f)) for f in result.feeds),
        DESCRIPTION_MAX))


def reindex_embed(result: ReindexResult) -> discord.Embed:
    text = f"{result.issues} issues, {result.entries} entries in {result.seconds:.1f} s"
    if not result.changed:
        text += " (nothing changed)"
    embed = discord.Embed(title="Reindexed", description=text, colour=COLOR)
    if result.skipped:
        embed.add_field(name=f"{len(result.skipped)} files skipped",
                        value=clip("\n".join(escape(s) for s in result.skipped), FIELD_VALUE_MAX), inline=False)
    return embed


def digest_embeds(preview: DigestPreview) -> list[discord.Embed]:
    embeds = features_embeds(preview.features, heading="Weekly digest preview")
    embeds[0].description = clip(f"{embeds[0].description or ''}\n{escape(preview.schedule)}", DESCRIPTION_MAX)
    return fit_message(embeds)


def digest_settings_text(settings: DigestSettings) -> str:
    """The digest settings for Discord: the channel as a clickable mention (our own id, never user text).

    >>> digest_settings_text(DigestSettings(1, 5, weekday=2, timezone="America/Los_Angeles", enabled=True))
    '<#5> · Wednesday at 09:00 America/Los\\\\_Angeles · policy “next” · **on**'
    >>> print(digest_settings_text(DigestSettings(1, 5, enabled=True, role_id=7, thread=True,
    ...                                           thread_error="no thread (403)")))
    <#5> · Monday at 09:00 UTC · policy “next” · **on** · pings <@&7> · opens a thread
    last digest: no thread (403)
    """
    channel = f"<#{int(settings.channel_id)}>" if settings.channel_id is not None else "no channel yet"
    state = "**on**" if settings.enabled else (
        f"**off** ({escape(settings.disabled_reason)})" if settings.disabled_reason else "**off**")
    text = f"{channel} · {escape(when(settings))} · policy “{escape(settings.policy)}” · {state}"
    if settings.role_id is not None:
        text += f" · pings <@&{int(settings.role_id)}>"  # our own id; an embed never pings
    if settings.thread:
        text += " · opens a thread"
    if settings.thread_error:
        text += f"\nlast digest: {escape(settings.thread_error)}"
    if settings.publish_error:
        text += f"\nlast digest: {escape(settings.publish_error)}"
    return text


def digest_settings_embed(title: str, settings: DigestSettings) -> discord.Embed:
    """A settings reply: everything that is set."""
    return discord.Embed(title=clip(title, TITLE_MAX), description=digest_settings_text(settings), colour=COLOR)



def sub_line(sub: AlertSub) -> str:  # the words as typed, escaped: no markdown, no mention
    text = f"**{sub.number}.** “{user_text(sub.query, 200)}”" + (f" in {user_text(sub.section)}" if sub.section else "")
    return text + (" — *paused*" if sub.paused else "")


def alert_embed(result: AlertResult) -> discord.Embed:  # one member's DM: the issue, each match with its link
    lines = [f"**{n}.** {link(escape(clip(m.entry.title or '(untitled)', 200)), m.entry.url)}\n"
             f"{escape(clip(m.entry.section_label_en or m.entry.section_name, 100))} · matched "
             + ", ".join(f"“{user_text(q, 60)}”" for q in m.queries[:3])
             for n, m in enumerate(result.matches, 1)]
    return discord.Embed(
        title=clip(f"New issue {result.issue.label}: {len(result.matches)} item(s) match your alerts", TITLE_MAX),
        url=safe_url(result.issue.source_url), colour=FEATURE_COLOR,
        description=clip(f"{_issue_ref(result.issue)}\n\n" + "\n".join(lines), DESCRIPTION_MAX),
    ).set_footer(text=clip(result.marker, FOOTER_MAX))


def _alert_reply(result: AlertReply) -> Reply:
    match result:
        case SubscribeResult():
            return Reply(content=clip(subscribe_text(result, sub_line(result.sub)), CONTENT_MAX))
        case SubscriptionsResult():
            lines = "\n".join(sub_line(s) for s in result.subs) or "You have no keyword alerts; /subscribe adds one."
            return Reply([discord.Embed(title=f"Your keyword alerts ({len(result.subs)} of {result.limit})",
                                        description=clip(lines, DESCRIPTION_MAX), colour=COLOR)])
        case UnsubscribeResult():
            return Reply(content=f"Removed {sub_line(result.sub)}. You have {result.left} left.")
        case AlertResult():
            return Reply([alert_embed(result)])
        case AlertNoticeResult():
            return Reply(content=clip(alert_notice_text([sub_line(s) for s in result.paused]), CONTENT_MAX))
        case _:
            assert_never(result)
