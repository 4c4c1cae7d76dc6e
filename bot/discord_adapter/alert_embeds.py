"""The keyword alerts' Discord replies and direct messages, in the member's language; made of
:mod:`bot.discord_adapter.markup` like every other reply (the query a member typed is shown literally)."""

from __future__ import annotations

from typing import assert_never

import discord

from bot.discord_adapter.markup import (
    COLOR,
    CONTENT_MAX,
    DESCRIPTION_MAX,
    FEATURE_COLOR,
    FOOTER_MAX,
    TITLE_MAX,
    clip,
    escape,
    issue_ref,
    link,
    safe_url,
    user_text,
)
from bot.i18n import EN, Lang
from bot.results import (
    AlertNoticeResult,
    AlertReply,
    AlertResult,
    AlertSub,
    SubscribeResult,
    SubscriptionsResult,
    UnsubscribeResult,
    alert_notice_text,
    subscribe_text,
)


def sub_line(sub: AlertSub, lg: Lang = EN) -> str:
    """One alert as a member's list shows it: the words as typed, escaped (no markdown, no mention)."""
    words = user_text(sub.query, 200)
    if sub.section:
        line = lg.gettext("**{n}.** “{words}” in {section}", n=sub.number, words=words, section=user_text(sub.section))
    else:
        line = lg.gettext("**{n}.** “{words}”", n=sub.number, words=words)
    return lg.gettext("{alert} — *paused*", alert=line) if sub.paused else line


def alert_embed(result: AlertResult, lg: Lang = EN) -> discord.Embed:
    """One member's direct message: the new issue, and each matching item with its link and the words that found
    it."""
    untitled = lg.gettext("(untitled)")
    lines = [lg.gettext("**{n}.** {item}\n{section} · matched {queries}", n=n,
                        item=link(escape(clip(m.entry.title or untitled, 200)), m.entry.url),
                        section=escape(clip(m.entry.section_label_en or m.entry.section_name, 100)),
                        queries=", ".join(f"“{user_text(q, 60)}”" for q in m.queries[:3]))
             for n, m in enumerate(result.matches, 1)]
    title = lg.ngettext("New issue {issue}: {n} item matches your alerts",
                        "New issue {issue}: {n} items match your alerts", len(result.matches),
                        issue=result.issue.label)
    return discord.Embed(
        title=clip(title, TITLE_MAX), url=safe_url(result.issue.source_url), colour=FEATURE_COLOR,
        description=clip(f"{issue_ref(result.issue)}\n\n" + "\n".join(lines), DESCRIPTION_MAX),
    ).set_footer(text=clip(result.marker, FOOTER_MAX))  # English on purpose: a restarted sender searches for it


def alert_reply(result: AlertReply, lg: Lang = EN) -> tuple[list[discord.Embed], str | None]:
    """The embeds and the text of a reply to an alert command (or of an alert's direct message)."""
    match result:
        case SubscribeResult():
            return [], clip(subscribe_text(result, sub_line(result.sub, lg), lg), CONTENT_MAX)
        case SubscriptionsResult():
            lines = "\n".join(sub_line(s, lg) for s in result.subs) or lg.gettext(
                "You have no keyword alerts; /subscribe adds one.")
            title = lg.gettext("Your keyword alerts ({n} of {limit})", n=len(result.subs), limit=result.limit)
            return [discord.Embed(title=title, description=clip(lines, DESCRIPTION_MAX), colour=COLOR)], None
        case UnsubscribeResult():
            return [], lg.gettext("Removed {alert}. You have {left} left.", alert=sub_line(result.sub, lg),
                                  left=result.left)
        case AlertResult():
            return [alert_embed(result, lg)], None
        case AlertNoticeResult():
            return [], clip(alert_notice_text([sub_line(s, lg) for s in result.paused], lg), CONTENT_MAX)
        case _:
            assert_never(result)
