"""The feed poller's tables: per-feed state (validators, failures, why it is off), seen items, quiet issues.

Tables ``feeds``, ``feed_items`` and ``feed_quiet`` (schema version 3; ``feeds.retry_until`` since 4), beside
the digest's, so ``newsbot ingest`` and ``newsbot run`` share what they have seen, on SQLite or PostgreSQL; and
``archive_documents`` (version 5): the feed files' text, from which every host of a PostgreSQL deployment syncs
its own archive folder (:mod:`bot.feeds.sync`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from bot.store.base import Driver, Row, as_int, opt_str, parse_ts, ts
from bot.store.records import FeedState, ItemRecord

_FEED_COLUMNS = ("url, name, etag, last_modified, last_success, last_attempt, next_poll, failures, last_error, "
                 "disabled_reason, polled_ok, config_hash, notes")

_NOT_BEFORE_RETRY_AFTER = "CASE WHEN retry_until IS NOT NULL AND retry_until > ? THEN retry_until ELSE ? END"
"""``next_poll`` when a feed is made due now (parameters: now, now): the later of now and its server's
Retry-After. Timestamps are fixed-width ISO text in UTC, so text order is time order."""


def _feed(row: Row, items: int) -> FeedState:
    return FeedState(
        url=str(row["url"]), name=str(row["name"]), etag=opt_str(row["etag"]),
        last_modified=opt_str(row["last_modified"]), last_success=parse_ts(row["last_success"]),
        last_attempt=parse_ts(row["last_attempt"]), next_poll=parse_ts(row["next_poll"]),
        failures=as_int(row["failures"]), last_error=opt_str(row["last_error"]),
        disabled_reason=opt_str(row["disabled_reason"]), polled_ok=bool(row["polled_ok"]),
        config_hash=str(row["config_hash"]), notes=str(row["notes"]), items=items,
    )


def _item(row: Row) -> ItemRecord:
    return ItemRecord(key=str(row["key"]), path=str(row["path"]), content_hash=str(row["content_hash"]),
                      owned=bool(row["owned"]), issue_id=str(row["issue_id"]))


class FeedTables(Driver):
    """:class:`bot.store.protocol.FeedStore`, on whichever driver this is mixed into."""

    async def _feed_counts(self) -> dict[str, int]:
        rows = await self._rows("SELECT feed_url, COUNT(*) AS items FROM feed_items GROUP BY feed_url")
        return {str(r["feed_url"]): as_int(r["items"]) for r in rows}

    async def feed_sync_config(self, feeds: Iterable[tuple[str, str, str]], now: dt.datetime) -> list[str]:
        """Register ``(url, name, config_hash)``; a changed hash (the feed's config entry changed) enables a
        disabled or failing feed again. Returns the urls that change re-enabled."""
        changed: list[str] = []
        for url, name, config_hash in feeds:
            rows = await self._rows("SELECT config_hash, disabled_reason, failures FROM feeds WHERE url = ?", (url,))
            if not rows:
                await self._write(("INSERT INTO feeds (url, name, config_hash) VALUES (?, ?, ?) "
                                   "ON CONFLICT (url) DO NOTHING", (url, name, config_hash)))
            elif str(rows[0]["config_hash"]) != config_hash:
                if rows[0]["disabled_reason"] is not None or as_int(rows[0]["failures"]):
                    changed.append(url)
                await self._write(("UPDATE feeds SET name = ?, config_hash = ?, failures = 0, disabled_reason = NULL,"
                                   f" next_poll = {_NOT_BEFORE_RETRY_AFTER} WHERE url = ?",
                                   (name, config_hash, ts(now), ts(now), url)))
        return changed

    async def feed_get(self, url: str) -> FeedState | None:
        rows = await self._rows(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return _feed(rows[0], (await self._feed_counts()).get(url, 0)) if rows else None

    async def feed_all(self) -> list[FeedState]:
        counts = await self._feed_counts()
        rows = await self._rows(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY url")
        return [_feed(r, counts.get(str(r["url"]), 0)) for r in rows]

    async def feed_success(self, url: str, *, etag: str | None, last_modified: str | None, now: dt.datetime,
                           next_poll: dt.datetime, notes: str | None) -> None:
        # A 304 keeps the notes of the poll that last read the body (notes=None).
        await self._write((
            "UPDATE feeds SET etag = ?, last_modified = ?, last_success = ?, last_attempt = ?, next_poll = ?, "
            "failures = 0, last_error = NULL, disabled_reason = NULL, polled_ok = 1, retry_until = NULL, "
            "notes = COALESCE(CAST(? AS TEXT), notes) WHERE url = ?",
            (etag, last_modified, ts(now), ts(now), ts(next_poll), notes, url)))

    async def feed_failure(self, url: str, *, error: str, now: dt.datetime, next_poll: dt.datetime,
                           disabled_reason: str | None, retry_until: dt.datetime | None = None) -> None:
        await self._write((
            "UPDATE feeds SET failures = failures + 1, last_error = ?, last_attempt = ?, next_poll = ?, "
            "disabled_reason = ?, retry_until = ? WHERE url = ?",
            (error, ts(now), ts(next_poll), disabled_reason, ts(retry_until) if retry_until else None, url)))

    async def feed_retry(self, url: str | None, now: dt.datetime) -> list[str]:
        """Enable a feed again (``None``: every feed) and make it due now, or when its Retry-After ends."""
        update = f"UPDATE feeds SET failures = 0, disabled_reason = NULL, next_poll = {_NOT_BEFORE_RETRY_AFTER}"
        if url is None:
            rows = await self._rows("SELECT url FROM feeds ORDER BY url")
            await self._write((update, (ts(now), ts(now))))
        else:
            rows = await self._rows("SELECT url FROM feeds WHERE url = ?", (url,))
            await self._write((f"{update} WHERE url = ?", (ts(now), ts(now), url)))
        return [str(r["url"]) for r in rows]

    async def feed_items(self, url: str) -> dict[str, ItemRecord]:
        rows = await self._rows("SELECT key, path, content_hash, owned, issue_id FROM feed_items WHERE feed_url = ?",
                                (url,))
        return {str(r["key"]): _item(r) for r in rows}

    async def feed_put_item(self, url: str, record: ItemRecord, now: dt.datetime) -> None:
        await self._write((
            "INSERT INTO feed_items (feed_url, key, path, content_hash, owned, issue_id, first_seen, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed_url, key) DO UPDATE SET path = excluded.path, "
            "content_hash = excluded.content_hash, owned = excluded.owned, issue_id = excluded.issue_id, "
            "updated_at = excluded.updated_at",
            (url, record.key, record.path, record.content_hash, int(record.owned), record.issue_id, ts(now),
             ts(now))))

    async def feed_add_quiet(self, issue_ids: Collection[str], now: dt.datetime) -> None:
        if issue_ids:
            await self._write(*(("INSERT INTO feed_quiet (issue_id, at) VALUES (?, ?) ON CONFLICT (issue_id) "
                                 "DO NOTHING", (i, ts(now))) for i in sorted(set(issue_ids))))

    async def quiet_issues(self) -> frozenset[str]:
        return frozenset(str(r["issue_id"]) for r in await self._rows("SELECT issue_id FROM feed_quiet"))

    # -- the feed files themselves (archive_documents) --

    async def doc_put(self, path: str, sha256: str, content: str, now: dt.datetime) -> None:
        """Store (or replace) one archive document: ``path`` is archive-relative (``feeds/…``)."""
        await self._write((
            "INSERT INTO archive_documents (archive, path, sha256, content, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (archive, path) DO UPDATE SET sha256 = excluded.sha256, content = excluded.content, "
            "updated_at = excluded.updated_at",
            (self.archive, path, sha256, content, ts(now))))

    async def doc_index(self) -> dict[str, str]:
        """Every stored document's path and sha256, without the text: what a host compares its folder with."""
        rows = await self._rows("SELECT path, sha256 FROM archive_documents WHERE archive = ? ORDER BY path",
                                (self.archive,))
        return {str(r["path"]): str(r["sha256"]) for r in rows}

    async def doc_get(self, path: str) -> tuple[str, str] | None:
        """One document's (sha256, text), fetched only for a file a host lacks or holds in another version."""
        rows = await self._rows("SELECT sha256, content FROM archive_documents WHERE archive = ? AND path = ?",
                                (self.archive, path))
        return (str(rows[0]["sha256"]), str(rows[0]["content"])) if rows else None
