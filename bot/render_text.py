"""The console's text surface: results as plain text, with ANSI colour on a terminal."""

from __future__ import annotations

from typing import assert_never

from bot.digest.schedule import describe, when
from bot.i18n import COMMAND_NAME, EN, OPTION_NAME, Lang
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
from retrieval.errors import UnknownIssueError
from retrieval.models import Hit, Issue

SUMMARY_CHARS = 220


class _Style:
    def __init__(self, color: bool, lg: Lang = EN) -> None:
        self.color = color
        self.lg = lg
        """The language: the style goes everywhere the text is made."""

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def link(self, text: str) -> str:
        return self._wrap("4;34", text)

    def mark(self, text: str) -> str:
        return self._wrap("1;33", text) if self.color else f"«{text}»"

    def red(self, text: str) -> str:
        return self._wrap("31", text)


def _issue_line(issue: Issue, st: _Style) -> str:
    date = issue_date(issue)
    parts = [st.bold(issue.label), issue.title]
    if date:
        parts.append(st.dim(date))
    return "  ".join(parts)


def highlight(snippet: str, spans: tuple[tuple[int, int], ...], st: _Style) -> str:
    """Mark matched spans.

    >>> highlight("ViT 很稳健", ((0, 3),), _Style(False))
    '«ViT» 很稳健'
    """
    out, last = [], 0
    for a, b in spans:
        out.append(snippet[last:a])
        out.append(st.mark(snippet[a:b]))
        last = b
    out.append(snippet[last:])
    return "".join(out)


def render(result: Result, *, color: bool = False, lg: Lang = EN) -> str:
    """A result as console text, in ``lg``'s language."""
    st = _Style(color, lg)
    _ = lg.gettext
    lines: list[str]
    match result:
        case AskResult():
            lines = _ask(result, st)
        case SimilarResult():
            like, from_ = _("like:"), _("from")  # not inside the call below: the extractor would miss them there
            lines = [_("{like} {title}  {from_} {issue}", like=st.dim(like), title=st.bold(result.item.title),
                       from_=st.dim(from_), issue=_issue_line(result.issue, st))]
            lines += [line for n, h in enumerate(result.hits, 1) for line in _hit(n, h, st)] or [_("No similar items.")]
        case FeaturesResult():
            lines = _features(result, st)
        case DigestPreview():
            settings = result.settings if lg.code != EN.code else None  # English keeps describe()'s words
            schedule = result.schedule if settings is None else when(settings, lg)
            lines = [st.dim(_("Weekly digest preview ({schedule}):", schedule=schedule)),
                     *_features(result.features, st)]
        case IssueResult():
            lines = _issue(result.issue, st)
        case IssueListResult():
            lines = [st.dim(lg.ngettext("page {page}/{pages} · {n} issue, newest first",
                                        "page {page}/{pages} · {n} issues, newest first", result.total,
                                        page=result.page, pages=result.pages))]
            lines += [f"  {_issue_line(i, st)}  {st.dim(lg.ngettext('({n} item)', '({n} items)', len(i.entries)))}"
                      for i in result.issues]
        case HelpResult():
            lines = _help(result, st)
        case StatsResult():
            lines = _stats(result)
        case FeedRetryResult():
            lines = [_("{title}; polled at the next chance. Every feed now:", title=feed_retry_title(result))]
            lines += [f"  - {feed_line(f)}" for f in result.feeds]
        case ReindexResult():
            lines = _reindex(result)
        case DigestSettingsResult():
            title = _("{title} ({archive})", title=_(result.title), archive=result.archive) if result.archive else (
                _(result.title))
            lines = [st.bold(title), describe(result.settings)]
        case DigestNowResult():
            lines = [_("Posted the digest ({issue}).", issue=result.label) if result.label else result.text]
        case SubscribeResult() | SubscriptionsResult() | UnsubscribeResult() | AlertResult() | AlertNoticeResult():
            lines = _alert_lines(result, st)
        case ArchiveDefaultResult():
            lines = [archive_default_text(result, st.lg)]
        case _:
            assert_never(result)
    return "\n".join(lines)


def _sub(sub: AlertSub, lg: Lang = EN) -> str:
    """A keyword alert, its words quoted as typed (the console echoes input literally).

    >>> _sub(AlertSub(1, 7, "**GPU**", "papers", paused="closed"))
    '1. “**GPU**” in papers (paused)'
    """
    line = (lg.gettext("{n}. “{words}” in {section}", n=sub.number, words=sub.query, section=sub.section)
            if sub.section else lg.gettext("{n}. “{words}”", n=sub.number, words=sub.query))
    return lg.gettext("{alert} (paused)", alert=line) if sub.paused else line


def _ask(result: AskResult, st: _Style) -> list[str]:
    lines = [st.dim(st.lg.notice(result.notice))] if result.notice else []
    if result.filters is not None and result.filters.active and result.hits:
        lines.append(st.dim(st.lg.gettext("filtered: {filters}", filters=st.lg.phrases(result.filters.describe()))))
    for n, h in enumerate(result.hits, 1):
        lines += _hit(n, h, st)
    if result.cached:
        lines.append(st.dim(st.lg.gettext("(cached)")))
    return lines


def _hit(n: int, h: Hit, st: _Style) -> list[str]:
    _ = st.lg.gettext
    flags = ([_("★ feature")] if h.entry.feature else []) + ([_("repaired text")] if h.issue.repaired else [])
    lines = [f"{n}. {st.bold(h.entry.title)}" + (f"  [{', '.join(flags)}]" if flags else "")]
    if h.entry.url:
        lines.append(f"   {st.link(h.entry.url)}")
    more = [u for u in h.entry.links if u != h.entry.url][:3]
    also, from_ = _("also links:"), _("from")
    if more:
        lines.append("   " + _("{label} {links}", label=st.dim(also), links=" ".join(st.link(u) for u in more)))
    lines.append(f"   {highlight(h.snippet, h.highlights, st)}")
    lines.append("   " + _("{from_} {issue} · {section}", from_=st.dim(from_), issue=_issue_line(h.issue, st),
                           section=h.entry.section_name))
    if h.bridges:
        lines.append("   " + st.dim(_("matched via {pairs}", pairs=", ".join(f"{a} ↔ {b}" for a, b in h.bridges))))
    if h.also_in:
        lines.append("   " + st.dim(_("also in: {issues}", issues=", ".join(i.label for i in h.also_in))))
    return lines


def _issue(issue: Issue, st: _Style) -> list[str]:
    lines = [_issue_line(issue, st)]
    if issue.source_url:
        lines.append(st.link(issue.source_url))
    if issue.repaired:
        lines.append(st.dim(st.lg.gettext("(repaired from mojibake; {n} uncertain characters)",
                                          n=issue.uncertain_chars)))
    for section in issue.sections:
        items = [e for e in issue.entries if e.section == section]
        lines += ["", st.bold(items[0].section_name_both)]
        for e in items:
            star = "★ " if e.feature else ""
            lines.append(f"  - {star}{e.title}" + (f"  {st.link(e.url)}" if e.url else ""))
    return lines


def _help(result: HelpResult, st: _Style) -> list[str]:
    """The console's commands; in another language their descriptions are translated, and each command is
    also given by its translated name and options, which are what a Discord client in that language shows."""
    _ = st.lg.gettext
    lines = [st.bold(_("newsbot: ask the newsletter archive"))]
    shown = [c for c in result.commands if c.console]
    width = max(len(c.usage) for c in shown)
    for c in shown:
        admin = st.dim(" " + _("(admin)")) if c.admin else ""
        lines.append(f"  {c.usage.ljust(width)}  {_(c.description)}{admin}")
    lines.append(_("Issues can be named as {forms}.", forms=result.issue_forms))
    lines.append(_("Options use name:value, e.g. {example}", example="/ask 变压器 issue:34 count:3"))
    if st.lg.code != EN.code:
        names = ", ".join(f"/{c.name} = {st.lg.pgettext(COMMAND_NAME, c.name)}" for c in shown)
        options = sorted({f"{p.name} = {st.lg.pgettext(OPTION_NAME, p.name)}" for c in shown for p in c.params})
        lines.append(_("On Discord: {names}; options {options}", names=names, options=", ".join(options)))
    return lines


def _stats(result: StatsResult) -> list[str]:
    cache = result.cache
    lines = [f"name:     {result.name}"] if result.name else []  # empty: the deployment has one archive
    lines += [f"archive:  {result.archive}"] if result.archive else []  # empty: a guild admin's view
    lines += [
        f"index:    {result.issues} issues, {result.documents} documents, {result.entries} entries "
        f"({result.features} features), fingerprint {result.index_fingerprint}",
        f"files:    {result.repaired} repaired, {result.skipped} skipped",
        f"cache:    {cache.hits} hits, {cache.misses} misses ({100 * cache.hit_rate:.1f} % hit rate), "
        f"{cache.entries} stored, status: {cache.status}",
        f"uptime:   {format_duration(result.uptime_seconds)}",
    ]
    lines += [f"digest:   {text}" for text in (result.digest, result.digest_waiting) if text]
    lines += [f"{'feeds:' if n == 0 else '':<10}{feed_line(feed)}" for n, feed in enumerate(result.feeds)]
    return lines


def _reindex(result: ReindexResult) -> list[str]:
    lines = [f"Reindexed: {result.issues} issues, {result.entries} entries in {result.seconds:.1f} s"
             + ("" if result.changed else " (nothing changed)")]
    if result.skipped:
        lines.append(f"{len(result.skipped)} files skipped:")
        lines += [f"  - {s}" for s in result.skipped]
    return lines


def _features(result: FeaturesResult, st: _Style) -> list[str]:
    lines = [_issue_line(result.issue, st)]
    if result.issue.source_url:
        lines.append(st.link(result.issue.source_url))
    for n, e in enumerate(result.items, 1):
        lines.append(f"{n}. {st.bold(e.title)}")
        if e.url:
            lines.append(f"   {st.link(e.url)}")
        if e.summary:
            lines.append(f"   {shorten(e.summary, SUMMARY_CHARS)}")
    if result.more:
        lines.append(st.dim(st.lg.ngettext("…and {n} more item in this issue ({command})",
                                           "…and {n} more items in this issue ({command})", result.more,
                                           command=f"/issue {result.issue.label}")))
    return lines


def error(err: Exception, *, color: bool = False, lg: Lang = EN) -> str:
    st = _Style(color, lg)
    text = st.red(lg.gettext("error: {message}", message=lg.error(err)))
    if isinstance(err, UnknownIssueError) and err.suggestions:
        text += "\n" + lg.gettext("Did you mean: {suggestions}", suggestions="; ".join(err.suggestions))
    return text


def _alert_lines(result: AlertReply, st: _Style) -> list[str]:
    lines: list[str]
    lg = st.lg
    match result:
        case SubscribeResult():
            lines = [subscribe_text(result, _sub(result.sub, lg), lg)]
        case SubscriptionsResult():
            lines = [st.dim(lg.gettext("your keyword alerts ({n} of {limit})", n=len(result.subs), limit=result.limit))]
            lines += [f"  {_sub(s, lg)}" for s in result.subs] or ["  " + lg.gettext("none: /subscribe adds one")]
        case UnsubscribeResult():
            lines = [lg.gettext("Removed {alert}. You have {left} left.", alert=_sub(result.sub, lg), left=result.left)]
        case AlertResult():
            lines = [st.bold(lg.ngettext("New issue {issue}: {n} item matches your alerts",
                                         "New issue {issue}: {n} items match your alerts", len(result.matches),
                                         issue=result.issue.label))]
            lines += [f"{n}. {m.entry.title}  {m.entry.url or ''}".rstrip() for n, m in enumerate(result.matches, 1)]
        case AlertNoticeResult():
            lines = [alert_notice_text([_sub(s, lg) for s in result.paused], lg)]
        case _:
            assert_never(result)
    return lines
