"""The console's text surface: results as plain text, with ANSI colour on a terminal."""

from __future__ import annotations

from typing import assert_never

from bot.digest.schedule import describe
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
    def __init__(self, color: bool) -> None:
        self.color = color

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


def render(result: Result, *, color: bool = False) -> str:
    st = _Style(color)
    lines: list[str]
    match result:
        case AskResult():
            lines = _ask(result, st)
        case SimilarResult():
            like = f"{st.dim('like:')} {st.bold(result.item.title)}"
            lines = [f"{like}  {st.dim('from')} {_issue_line(result.issue, st)}"]
            lines += [line for n, h in enumerate(result.hits, 1) for line in _hit(n, h, st)] or ["No similar items."]
        case FeaturesResult():
            lines = _features(result, st)
        case DigestPreview():
            lines = [st.dim(f"Weekly digest preview ({result.schedule}):"), *_features(result.features, st)]
        case IssueResult():
            lines = _issue(result.issue, st)
        case IssueListResult():
            lines = [st.dim(f"page {result.page}/{result.pages} · {result.total} issues, newest first")]
            lines += [f"  {_issue_line(i, st)}  {st.dim(f'({len(i.entries)} items)')}" for i in result.issues]
        case HelpResult():
            lines = _help(result, st)
        case StatsResult():
            lines = _stats(result)
        case FeedRetryResult():
            lines = [f"{feed_retry_title(result)}; polled at the next chance. Every feed now:"]
            lines += [f"  - {feed_line(f)}" for f in result.feeds]
        case ReindexResult():
            lines = _reindex(result)
        case DigestSettingsResult():
            lines = [st.bold(result.title), describe(result.settings)]
        case DigestNowResult():
            lines = [result.text]
        case SubscribeResult() | SubscriptionsResult() | UnsubscribeResult() | AlertResult() | AlertNoticeResult():
            lines = _alert_lines(result, st)
        case ArchiveDefaultResult():
            lines = [archive_default_text(result)]
        case _:
            assert_never(result)
    return "\n".join(lines)


def _sub(sub: AlertSub) -> str:
    """A keyword alert, its words quoted as typed (the console echoes input literally).

    >>> _sub(AlertSub(1, 7, "**GPU**", "papers", paused="closed"))
    '1. “**GPU**” in papers (paused)'
    """
    return f"{sub.number}. “{sub.query}”" + (f" in {sub.section}" if sub.section else "") + (
        " (paused)" if sub.paused else "")


def _ask(result: AskResult, st: _Style) -> list[str]:
    lines = [st.dim(result.notice)] if result.notice else []
    if result.filters is not None and result.filters.active and result.hits:
        lines.append(st.dim(f"filtered: {result.filters.describe()}"))
    for n, h in enumerate(result.hits, 1):
        lines += _hit(n, h, st)
    if result.cached:
        lines.append(st.dim("(cached)"))
    return lines


def _hit(n: int, h: Hit, st: _Style) -> list[str]:
    flags = (["★ feature"] if h.entry.feature else []) + (["repaired text"] if h.issue.repaired else [])
    lines = [f"{n}. {st.bold(h.entry.title)}" + (f"  [{', '.join(flags)}]" if flags else "")]
    if h.entry.url:
        lines.append(f"   {st.link(h.entry.url)}")
    more = [u for u in h.entry.links if u != h.entry.url][:3]
    if more:
        lines.append("   " + st.dim("also links: ") + " ".join(st.link(u) for u in more))
    lines.append(f"   {highlight(h.snippet, h.highlights, st)}")
    lines.append(f"   {st.dim('from')} {_issue_line(h.issue, st)} · {h.entry.section_name}")
    if h.bridges:
        lines.append("   " + st.dim("matched via " + ", ".join(f"{a} ↔ {b}" for a, b in h.bridges)))
    if h.also_in:
        lines.append("   " + st.dim("also in: " + ", ".join(i.label for i in h.also_in)))
    return lines


def _issue(issue: Issue, st: _Style) -> list[str]:
    lines = [_issue_line(issue, st)]
    if issue.source_url:
        lines.append(st.link(issue.source_url))
    if issue.repaired:
        lines.append(st.dim(f"(repaired from mojibake; {issue.uncertain_chars} uncertain characters)"))
    for section in issue.sections:
        items = [e for e in issue.entries if e.section == section]
        lines += ["", st.bold(items[0].section_name_both)]
        for e in items:
            star = "★ " if e.feature else ""
            lines.append(f"  - {star}{e.title}" + (f"  {st.link(e.url)}" if e.url else ""))
    return lines


def _help(result: HelpResult, st: _Style) -> list[str]:
    lines = [st.bold("newsbot: ask the newsletter archive")]
    shown = [c for c in result.commands if c.console]
    width = max(len(c.usage) for c in shown)
    for c in shown:
        admin = st.dim(" (admin)") if c.admin else ""
        lines.append(f"  {c.usage.ljust(width)}  {c.description}{admin}")
    lines.append(f"Issues can be named as {result.issue_forms}.")
    lines.append("Options use name:value, e.g. /ask 变压器 issue:34 count:3")
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
        lines.append(st.dim(f"…and {result.more} more items in this issue (/issue {result.issue.label})"))
    return lines


def error(err: Exception, *, color: bool = False) -> str:
    st = _Style(color)
    text = st.red(f"error: {err}")
    if isinstance(err, UnknownIssueError) and err.suggestions:
        text += "\n" + "Did you mean: " + "; ".join(err.suggestions)
    return text


def _alert_lines(result: AlertReply, st: _Style) -> list[str]:
    lines: list[str]
    match result:
        case SubscribeResult():
            lines = [subscribe_text(result, _sub(result.sub))]
        case SubscriptionsResult():
            lines = [st.dim(f"your keyword alerts ({len(result.subs)} of {result.limit})")]
            lines += [f"  {_sub(s)}" for s in result.subs] or ["  none: /subscribe adds one"]
        case UnsubscribeResult():
            lines = [f"Removed {_sub(result.sub)}. You have {result.left} left."]
        case AlertResult():
            lines = [st.bold(f"New issue {result.issue.label}: {len(result.matches)} item(s) match your alerts")]
            lines += [f"{n}. {m.entry.title}  {m.entry.url or ''}".rstrip() for n, m in enumerate(result.matches, 1)]
        case AlertNoticeResult():
            lines = [alert_notice_text([_sub(s) for s in result.paused])]
        case _:
            assert_never(result)
    return lines
