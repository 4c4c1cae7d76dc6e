"""The console's ``--json`` surface: one JSON object per command. The keys are a public contract
(docs/console-json.md, checked against docs/console-json.schema.json)."""

from __future__ import annotations

from typing import Any, assert_never

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
    FeedStatus,
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
)
from bot.textutil import issue_date
from retrieval.errors import UnknownIssueError
from retrieval.models import Entry, Hit, Issue


def issue_obj(issue: Issue) -> dict[str, Any]:
    return {
        "issue_id": issue.id, "issue_title": issue.title, "issue_url": issue.source_url,
        "issue_label": issue.label, "issue_number": issue.number, "issue_week": issue.week,
        "issue_year": issue.year, "issue_date": issue_date(issue), "repaired": issue.repaired,
    }


def entry_obj(entry: Entry) -> dict[str, Any]:
    return {"title": entry.title, "url": entry.url, "summary": entry.summary, "section": entry.section,
            "feature": entry.feature}


def render(command: str, result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {"command": command}
    match result:
        case AskResult():
            out |= ask_obj(result)
        case SimilarResult():
            out |= {"item": entry_obj(result.item) | {"links": list(result.item.all_links)} | issue_obj(result.issue),
                    "results": [hit_obj(h) for h in result.hits]}
        case FeaturesResult():
            out |= features_obj(result)
        case DigestPreview():
            out |= features_obj(result.features) | {"schedule": result.schedule}
        case IssueResult():
            out |= issue_obj(result.issue) | {
                "sections": list(result.issue.sections),
                "items": [entry_obj(e) for e in result.issue.entries],
            }
        case IssueListResult():
            out |= {"page": result.page, "pages": result.pages, "total": result.total,
                    "issues": [issue_obj(i) | {"entries": len(i.entries)} for i in result.issues]}
        case HelpResult():
            out |= {"commands": [{"name": c.name, "usage": c.usage, "description": c.description,
                                  "admin": c.admin} for c in result.commands if c.console],
                    "issue_forms": result.issue_forms}
        case StatsResult():
            out |= {
                "issues": result.issues, "documents": result.documents, "entries": result.entries,
                "features": result.features, "repaired": result.repaired, "skipped": result.skipped,
                "archive": result.archive, "index": result.index_fingerprint,
                "uptime_seconds": round(result.uptime_seconds, 3), "digest": result.digest,
                "cache": {"hits": result.cache.hits, "misses": result.cache.misses,
                          "hit_rate": round(result.cache.hit_rate, 4), "entries": result.cache.entries,
                          "errors": result.cache.errors, "status": result.cache.status},
                "feeds": [feed_obj(f) for f in result.feeds],
            } | ({"archive_name": result.name} if result.name else {})
        case FeedRetryResult():
            out |= {"retried": list(result.retried_labels), "feeds": [feed_obj(f) for f in result.feeds]}
        case ReindexResult():
            out |= {"issues": result.issues, "entries": result.entries, "skipped": list(result.skipped),
                    "seconds": round(result.seconds, 3), "changed": result.changed}
        case DigestSettingsResult():
            out |= {"title": result.title, "schedule": describe(result.settings)}
        case DigestNowResult():
            out |= {"status": result.status, "text": result.text}
        case SubscribeResult() | SubscriptionsResult() | UnsubscribeResult() | AlertResult() | AlertNoticeResult():
            out |= _alert_obj(result)
        case ArchiveDefaultResult():
            out |= {"archive": result.archive, "archives": list(result.archives), "chosen": result.chosen}
        case _:
            assert_never(result)
    return out


def ask_obj(result: AskResult) -> dict[str, Any]:
    out = {"query": result.query, "cached": result.cached, "notice": result.notice,
           "issues": [i.id for i in result.issues], "results": [hit_obj(h) for h in result.hits]}
    if result.filters is not None and result.filters.active:
        # Only when one was given, so an unfiltered answer's output stays as it was.
        out["filters"] = {"since": None, "until": None, "section": None} | result.filters.cache_part()
    return out


def sub_obj(s: AlertSub) -> dict[str, Any]:
    return {"number": s.number, "id": s.id, "query": s.query, "section": s.section or None,
            "archive": s.archive, "paused": s.paused}


def hit_obj(h: Hit) -> dict[str, Any]:
    return entry_obj(h.entry) | {
        "score": round(h.score, 6), "snippet": h.snippet,
        "repaired": h.issue.repaired, "issue_id": h.issue.id, "issue_url": h.issue.source_url,
        "issue_title": h.issue.title, "issue_label": h.issue.label,
        "issue_date": issue_date(h.issue),
        "also_in": [{"issue_id": i.id, "issue_title": i.title, "issue_url": i.source_url,
                     "issue_label": i.label} for i in h.also_in],
        "bridges": [{"typed": typed, "matched": matched} for typed, matched in h.bridges],
        "links": list(h.entry.links),
    }


def feed_obj(f: FeedStatus) -> dict[str, Any]:
    return {"name": f.label, "url": f.url, "state": f.state, "items": f.items, "failures": f.failures,
            "last_success": f.last_success.isoformat() if f.last_success else None,
            "next_poll": f.next_poll.isoformat() if f.next_poll else None, "error": f.error, "notes": f.notes}


def features_obj(result: FeaturesResult) -> dict[str, Any]:
    return issue_obj(result.issue) | {
        "items": [{"title": e.title, "url": e.url, "summary": e.summary, "section": e.section}
                  for e in result.items],
        "more": result.more,
    }


def error(command: str, err: Exception) -> dict[str, Any]:
    out: dict[str, Any] = {"command": command, "error": str(err)}
    if isinstance(err, UnknownIssueError) and err.suggestions:
        out["suggestions"] = list(err.suggestions)
    return out


def _alert_obj(result: AlertReply) -> dict[str, Any]:
    out: dict[str, Any] = {}
    match result:
        case SubscribeResult():
            out |= {"status": result.status, "alert": sub_obj(result.sub), "held": result.held,
                    "limit": result.limit, "delivered_here": result.direct}
        case SubscriptionsResult():
            out |= {"alerts": [sub_obj(s) for s in result.subs], "limit": result.limit}
        case UnsubscribeResult():
            out |= {"removed": sub_obj(result.sub), "left": result.left}
        case AlertResult():
            out |= issue_obj(result.issue) | {"marker": result.marker, "items": [
                entry_obj(m.entry) | {"score": round(m.score, 6), "queries": list(m.queries)} for m in result.matches]}
        case AlertNoticeResult():
            out |= {"paused": [sub_obj(s) for s in result.paused]}
        case _:
            assert_never(result)
    return out
