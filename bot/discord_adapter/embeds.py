"""The Discord surface's renderer: the only module that builds ``discord.Embed``.

Discord rejects a message whose embeds break its limits (HTTP 400, code 50035), so every limit is
enforced here, on the way out: title 256, description 4096, field name 256 and value 1024, footer
2048, author 256, 25 fields, 10 embeds and 6000 characters across all embeds of one message.
User text (questions) and archive text are escaped so they cannot break the markdown or ping anyone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import assert_never

import discord

from bot.digest.publish import publish_error_text
from bot.digest.schedule import DigestSettings, when
from bot.discord_adapter.alert_embeds import alert_reply
from bot.discord_adapter.markup import (
    BUTTON_LABEL_MAX,
    COLOR,
    CONTENT_MAX,
    DESCRIPTION_MAX,
    EMBEDS_MAX,
    FEATURE_COLOR,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    HITS_PER_PAGE,
    TITLE_MAX,
    TOTAL_MAX,
    clip,
    embed_size,
    escape,
    issue_ref,
    link,
    safe_url,
    user_text,
)
from bot.discord_adapter.translator import usage
from bot.i18n import COMMAND_NAME, EN, N_, Lang
from bot.results import (
    AlertNoticeResult,
    AlertResult,
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
    archive_default_text,
    feed_line,
    feed_retry_title,
)
from bot.textutil import format_duration, issue_date, shorten
from retrieval.models import Entry, Hit, Issue


def _hit_block(n: int, hit: Hit, snippet_chars: int, lg: Lang) -> str:
    entry = hit.entry
    marks = " ★" if entry.feature else ""
    title = link(escape(clip(entry.title, 200)), entry.url)
    snippet = _highlight(hit, snippet_chars)
    where = f"{issue_ref(hit.issue)} · {escape(clip(entry.section_name, 100))}"  # a heading: data
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
        case ArchiveDefaultResult():
            return Reply([discord.Embed(title=lg.gettext("Default archive"), colour=COLOR,
                                        description=escape(archive_default_text(result, lg)))])
        case FeedRetryResult():
            return Reply([feed_retry_embed(result, lg)])
        case ReindexResult():
            return Reply([reindex_embed(result, lg)])
        case DigestSettingsResult():
            return Reply([digest_settings_embed(settings_title(result, lg), result.settings, lg)])
        case DigestNowResult():
            return Reply(content=clip(discord.utils.escape_mentions(digest_now_text(result, lg)), CONTENT_MAX))
        case SubscribeResult() | SubscriptionsResult() | UnsubscribeResult() | AlertResult() | AlertNoticeResult():
            alert_embeds, content = alert_reply(result, lg)
            return Reply(alert_embeds, content)
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
    notice = lg.notice(result.notice or "") or None
    if result.filters is not None and result.filters.active and result.hits:
        filtered = lg.gettext("Filtered: {filters}.", filters=escape(lg.phrases(result.filters.describe())))
        notice = f"{notice} {filtered}" if notice else filtered
    return hit_pages(title, result.hits, notice, cached=result.cached, lg=lg)


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
        items = [e for e in issue.entries if e.section == section]
        lines: list[str] = []
        used = 0
        for e in items:
            line = f"{'★ ' if e.feature else ''}{link(escape(clip(e.title, 120)), e.url)}"
            if used + len(line) + 1 > FIELD_VALUE_MAX - 40:
                lines.append(lg.gettext("…and {n} more", n=len(items) - len(lines)))
                break
            lines.append(line)
            used += len(line) + 1
        embed.add_field(name=clip(escape(items[0].section_name_both), FIELD_NAME_MAX),
                        value=clip("\n".join(lines) or "—", FIELD_VALUE_MAX), inline=False)
    return fit_message([embed])[0]


def issues_embed(result: IssueListResult, lg: Lang = EN) -> discord.Embed:
    lines = [lg.ngettext("{issue} — {title} ({n} item)", "{issue} — {title} ({n} items)", len(i.entries),
                         issue=issue_ref(i), title=escape(clip(i.title, 90))) for i in result.issues]
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
    if result.menus:
        menus = [f"**{escape(lg.pgettext(COMMAND_NAME, m.name))}** — {escape(lg.gettext(m.description))}"
                 for m in result.menus]
        embed.add_field(name=lg.gettext("On a message (Apps menu)"), value=clip("\n".join(menus), FIELD_VALUE_MAX),
                        inline=False)
    embed.set_footer(text=clip(lg.gettext("Name an issue as {forms}.", forms=result.issue_forms), FOOTER_MAX))
    return embed


def stats_embed(result: StatsResult, lg: Lang = EN) -> discord.Embed:
    c = result.cache
    title = lg.gettext("newsbot stats · {archive}", archive=result.name) if result.name else lg.gettext("newsbot stats")
    embed = discord.Embed(title=title, colour=COLOR)
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
    if settings.publish_error:
        text += "\n" + lg.gettext("last digest: {error}", error=escape(publish_error_text(settings.publish_error, lg)))
    return text


def settings_title(result: DigestSettingsResult, lg: Lang) -> str:
    """What an admin's change did, naming the archive in a deployment of several."""
    title = lg.gettext(result.title)
    return lg.gettext("{title} ({archive})", title=title, archive=result.archive) if result.archive else title


def digest_settings_embed(title: str, settings: DigestSettings, lg: Lang = EN) -> discord.Embed:
    """A settings reply: everything that is set."""
    return discord.Embed(title=clip(title, TITLE_MAX), description=digest_settings_text(settings, lg), colour=COLOR)
