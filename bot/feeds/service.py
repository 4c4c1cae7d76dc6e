"""The poller: fetch each due feed, turn new and changed items into archive files, back off on failure,
and reindex when the folder changed (by the poller, or by an admin who dropped a file in).

One feed's failure is logged, counted and shown in stats; it never stops the other feeds or the bot, and it
never touches a file that was already ingested. A feed that fails ``feed_max_failures`` times in a row (or
answers 410 Gone) is disabled with its reason until ``/newsbot feed-retry`` or a change to its config entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import aiohttp

from bot.config import ArchiveConfig, FeedConfig
from bot.errors import FeedItemError, FeedParseError, FetchError, StoreError
from bot.feeds.convert import FeedItem, ItemLimits, convert_item, file_stem, parse_feed
from bot.feeds.fetch import fetch_feed, read_feed_file
from bot.feeds.identity import Holders, IngestRun, file_digest, holders, own_files
from bot.feeds.sync import FEEDS_DIR, FolderSync, write_atomic
from bot.redact import redact_url, redact_urls
from bot.results import FeedStatus
from bot.store import FeedState, FeedStore, ItemRecord
from retrieval.archive import iter_archive_files
from retrieval.links import link_key
from retrieval.models import Archive
from retrieval.parse import issue_id_of

log = logging.getLogger(__name__)

FOLDER_CHECK_SECONDS = 60.0
"""The longest a change to the archive folder waits for the poller to see it (a stat of every file: cheap)."""
MAX_BACKOFF = 24 * 3600.0
PollStatus = Literal["ok", "not-modified", "failed", "disabled", "off"]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of one feed did. ``added``/``updated`` are archive-relative paths."""

    url: str
    label: str
    status: PollStatus
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: int = 0
    matched: tuple[str, ...] = ()
    """Items that are an issue the archive already holds (same 原文 URL): no second file."""
    skipped: tuple[str, ...] = ()
    error: str | None = None
    quiet: tuple[str, ...] = ()
    """Issue ids stored without an announcement (the feed's first poll)."""


@dataclass(frozen=True, slots=True)
class CycleReport:
    outcomes: tuple[PollOutcome, ...] = ()
    folder_changed: bool = False
    reindexed: bool = False
    tokenized: int | None = None
    """Entries the reindex had to tokenize (the rest came from the token store)."""


def backoff_delay(failures: int, interval: float, retry_after: float | None = None) -> float:
    """Seconds before the next try after ``failures`` consecutive failures: twice the interval, doubled
    with each further failure, at most a day, and never sooner than the server's Retry-After.

    >>> [backoff_delay(n, 3600) / 3600 for n in (1, 2, 3, 4)]
    [2.0, 4.0, 8.0, 16.0]
    >>> backoff_delay(30, 3600), backoff_delay(1, 10, retry_after=120)
    (86400.0, 120.0)
    """
    delay = min(interval * 2 ** min(failures, 30), MAX_BACKOFF)
    return float(max(delay, retry_after or 0.0))


def feed_folder(url: str) -> str:
    """The folder of a feed's files: its host and a short hash of its URL (stable, safe, distinct).

    >>> feed_folder("https://medium.com/feed/@akira")
    'medium.com-ad850cad'
    """
    host = url.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0]
    host = "".join(c if c.isalnum() or c in ".-" else "-" for c in host).strip(".-") or "feed"
    return f"{host}-{hashlib.sha1(url.encode()).hexdigest()[:8]}"


def config_hash(feed: FeedConfig, archive: ArchiveConfig) -> str:
    """What counts as a "config change" that re-enables a disabled feed."""
    blob = "|".join(map(str, (feed.url, feed.name, archive.feed_timeout_seconds, archive.feed_max_mb,
                              archive.feed_max_redirects, archive.feed_max_failures)))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def folder_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every archive file's path, size and mtime: a change means "reindex"."""
    out = []
    for path in iter_archive_files(root):
        with contextlib.suppress(OSError):
            st = path.stat()
            out.append((path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(out)


@dataclass
class _Cycle:
    """Links and issue ids the running cycle wrote, so two feeds carrying one item do not both write it."""

    written: Holders = field(default_factory=Holders)


class Indexed(Protocol):
    """What the poller needs of the bot's :class:`~bot.library.Library`: the current archive, and its
    incremental reindex (the token store re-tokenizes only changed entries; returns how many it did)."""

    @property
    def archive(self) -> Archive: ...

    async def reindex_tokenized(self) -> int: ...


class FeedService:
    """Polls the configured feeds into ``archive_dir``, matching items against ``library``'s archive and
    reindexing it when the folder changed."""

    def __init__(self, config: ArchiveConfig, store: FeedStore, archive_dir: Path, *, library: Indexed,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 sleep: Callable[[float], Awaitable[None]] | None = None, fetch: bool = True,
                 sync: FolderSync | None = None) -> None:
        self.config = config
        self.feeds: tuple[FeedConfig, ...] = config.feeds
        self.store = store
        self.root = archive_dir
        self._library = library
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._sleep = sleep
        self.last_report: CycleReport | None = None
        self.fetch = fetch
        """False in a shard process other than shard 0's: one process fetches and writes, every process
        watches the folder and reindexes."""
        self.sync = sync
        """With PostgreSQL: the files written are put in the store, and each cycle first syncs the folder from it."""

    async def setup(self) -> None:
        """Register the configured feeds (a changed entry re-enables its feed), and note the
        folder as it is now, so the first cycle reindexes only if something changed since loading."""
        reenabled = await self.store.feed_sync_config(
            ((f.url, f.name, config_hash(f, self.config)) for f in self.feeds), self._clock())
        for url in reenabled:
            log.info("feed %s: config changed; enabled again", redact_url(url))
        self._signature = await asyncio.to_thread(folder_signature, self.root)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # -- one cycle --

    async def poll(self, *, force: bool = False) -> CycleReport:
        """Poll every due feed (``force``: every enabled feed), then reindex if the folder changed."""
        async with self._lock:
            now = self._clock()
            states = {s.url: s for s in await self.store.feed_all()}
            cycle = _Cycle()
            outcomes = []
            await self._pull()
            for feed in self.feeds if self.fetch else ():
                state = states.get(feed.url) or FeedState(feed.url, feed.name)
                if state.disabled_reason is not None:
                    continue
                if not force and state.next_poll is not None and state.next_poll > now:
                    continue
                try:
                    outcomes.append(await self._poll_one(feed, state, cycle))
                except Exception as err:  # the per-feed boundary: one feed's fault never stops the others
                    log.debug("feed %s failed", feed.label, exc_info=True)
                    reason = f"internal error: {type(err).__name__}: {str(err)[:200]}"
                    outcomes.append(await self._failed(feed, state, reason))
            report = await self._reindex_if_changed(tuple(outcomes))
            self.last_report = report
            return report

    async def poll_one(self, feed: FeedConfig) -> PollOutcome:
        """Poll one feed now, configured or not (``newsbot ingest URL``), with its stored validators. A failure
        is only reported: a one-shot import neither backs the feed off nor counts against it."""
        async with self._lock:
            state = await self.store.feed_get(feed.url)
            if state is None:
                await self.store.feed_sync_config([(feed.url, feed.name, "")], self._clock())
                state = FeedState(feed.url, feed.name)
            return await self._poll_one(feed, state, _Cycle(), one_shot=True)

    async def _pull(self) -> None:
        if self.sync is None:
            return
        try:
            await self.sync.pull()  # what another host fetched: the signature check below reindexes it
        except StoreError as err:  # the feeds are still fetched; the next cycle syncs
            log.warning("archive folder not synced from the store: %s", err)

    async def _reindex_if_changed(self, outcomes: tuple[PollOutcome, ...]) -> CycleReport:
        signature = await asyncio.to_thread(folder_signature, self.root)
        if signature == self._signature:
            return CycleReport(outcomes)
        tokenized = await self._library.reindex_tokenized()
        self._signature = signature
        log.info("archive folder changed; reindexed (%s entries tokenized)", tokenized)
        return CycleReport(outcomes, folder_changed=True, reindexed=True, tokenized=tokenized)

    async def _poll_one(self, feed: FeedConfig, state: FeedState, cycle: _Cycle, *,
                        one_shot: bool = False) -> PollOutcome:
        max_bytes = int(self.config.feed_max_mb * 1_048_576)
        try:
            result = await fetch_feed(self._http(), feed.url, etag=state.etag, last_modified=state.last_modified,
                                      timeout_s=self.config.feed_timeout_seconds, max_bytes=max_bytes,
                                      max_redirects=self.config.feed_max_redirects, now=self._clock())
        except FetchError as err:
            if one_shot:
                return PollOutcome(feed.url, feed.label, "failed", error=err.reason)
            return await self._failed(feed, state, err.reason, permanent=err.permanent, retry_after=err.retry_after)
        delay = max(self.config.feed_poll_seconds, result.max_age or 0.0)
        if result.status == 304:
            now = self._clock()
            await self.store.feed_success(feed.url, etag=result.etag, last_modified=result.last_modified,
                                            now=now, next_poll=now + dt.timedelta(seconds=delay), notes=None)
            log.info("feed %s: not modified (304)", feed.label)
            return PollOutcome(feed.url, feed.label, "not-modified")
        try:
            outcome = await self.ingest_bytes(feed.url, feed.label, result.body, first=not state.polled_ok,
                                              cycle=cycle)
        except FeedParseError as err:
            if one_shot:
                return PollOutcome(feed.url, feed.label, "failed", error=str(err))
            return await self._failed(feed, state, str(err))
        now = self._clock()
        await self.store.feed_success(feed.url, etag=result.etag, last_modified=result.last_modified, now=now,
                                        next_poll=now + dt.timedelta(seconds=delay), notes="; ".join(outcome.skipped))
        return outcome

    async def _failed(self, feed: FeedConfig, state: FeedState, reason: str, *, permanent: bool = False,
                      retry_after: float | None = None) -> PollOutcome:
        reason = redact_urls(reason)  # logged and shown in stats: never a credential from a URL in a message
        now = self._clock()
        failures = state.failures + 1
        limit = self.config.feed_max_failures
        disabled = None
        if permanent or failures >= limit:
            disabled = f"{reason} ({failures} failure{'s' * (failures != 1)} in a row)"
        delay = backoff_delay(failures, self.config.feed_poll_seconds, retry_after)
        next_poll = now + dt.timedelta(seconds=delay)
        # The server's own "not before" is kept apart from the back-off: feed-retry may skip the back-off, not it.
        retry_until = now + dt.timedelta(seconds=retry_after) if retry_after else None
        await self.store.feed_failure(feed.url, error=reason, now=now, next_poll=next_poll,
                                        disabled_reason=disabled, retry_until=retry_until)
        if disabled:
            log.warning("feed %s: %s; disabled after %d failure(s) — /newsbot feed-retry or a config change "
                        "enables it again", feed.label, reason, failures)
            return PollOutcome(feed.url, feed.label, "disabled", error=disabled)
        log.warning("feed %s: %s (failure %d of %d; next try at %s)", feed.label, reason, failures, limit,
                    f"{next_poll:%Y-%m-%d %H:%M:%S} UTC")
        return PollOutcome(feed.url, feed.label, "failed", error=reason)

    # -- items into files --

    async def ingest_bytes(self, url: str, label: str, data: bytes, *, first: bool | None = None,
                           cycle: _Cycle | None = None) -> PollOutcome:
        """Parse feed bytes (in a thread) and write new and changed items; raise :class:`FeedParseError`.

        ``first`` (default: from the stored state) marks the feed's first good poll: everything is stored,
        nothing is announced."""
        parsed = await asyncio.to_thread(parse_feed, data, url)
        if first is None:
            state = await self.store.feed_get(url)
            first = state is None or not state.polled_ok
        if await self.store.feed_get(url) is None:
            named = label not in (url, redact_url(url))  # a nameless feed's label is its (redacted) URL
            await self.store.feed_sync_config([(url, label if named else "", "")], self._clock())
        cycle = cycle or _Cycle()
        known = await self.store.feed_items(url)
        folder = Path(FEEDS_DIR) / feed_folder(url)
        own = await asyncio.to_thread(own_files, self.root, folder)
        held = holders(self._library.archive, folder.as_posix() + "/", {r.path for r in known.values() if r.owned},
                       own, cycle.written)
        limits = ItemLimits(max_bytes=self.config.feed_item_max_kb * 1024)
        run = IngestRun(url, label, first, folder, known, held, cycle.written, limits,
                        taken={r.path: r.key for r in known.values()}, skipped=[])
        for item in parsed.items:
            await self._ingest_item(run, item)
        added, updated, matched, quiet, unchanged = run.added, run.updated, run.matched, run.quiet, run.unchanged
        if quiet:
            await self.store.feed_add_quiet(quiet, self._clock())
        for reason in parsed.skipped:
            log.warning("feed %s: %s", label, reason)
        return PollOutcome(url, label, "ok", tuple(added), tuple(updated), unchanged, tuple(matched),
                           (*parsed.skipped, *run.skipped), quiet=tuple(quiet))

    async def _convert(self, run: IngestRun, item: FeedItem, name: str) -> str | None:
        """The item's file text, or None (skipped with its reason): the per-item boundary."""
        if run.converted >= self.config.feed_max_items:
            run.skip(f"item {name!r}: over the {self.config.feed_max_items} items a feed may bring per poll; "
                     "skipped")
            return None
        run.converted += 1
        try:
            # In a worker thread: a large item must not stall the event loop (and /ask) while it converts.
            return await asyncio.to_thread(convert_item, item, run.limits)
        except FeedItemError as err:
            run.skip(f"item {name!r}: {err}; skipped")
        except Exception as err:  # noqa: BLE001 - RecursionError and the like from the converter: this item only
            run.skip(f"item {name!r}: cannot be converted ({type(err).__name__}); skipped")
        return None

    async def _ingest_item(self, run: IngestRun, item: FeedItem) -> None:
        record = run.known.get(item.key)
        if record is not None and not record.owned:
            run.unchanged += 1  # an admin's own copy of the issue: theirs wins, never overwritten
            return
        name = item.title[:60] or item.link[:60]
        text = await self._convert(run, item, name)
        if text is None:
            return
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if record is not None and record.content_hash == digest:
            run.unchanged += 1
            return
        size = len(text.encode("utf-8"))
        if run.written_bytes + size > self.config.feed_poll_max_mb * 1_048_576:
            run.skip(f"item {name!r}: over the {self.config.feed_poll_max_mb:g} MB a feed may write per poll; "
                     "skipped")
            return
        key, issue_id = link_key(item.link), issue_id_of(item.link) or file_stem(item)
        now = self._clock()
        if record is not None:
            other = run.held.other(key, issue_id, own_path=record.path)
            if other is not None:
                # An update never changes which issue a file is: that would take over another file's issue.
                run.skip(f"item {name!r}: its link {item.link} is now the issue in {other}; update refused, "
                         f"{record.path} kept")
                return
            await self._write(run, record.path, text, size, updated=True)
            if issue_id != record.issue_id:
                run.quiet.append(issue_id)  # a changed item is not announced again, even under a new link
            await self.store.feed_put_item(run.url, ItemRecord(item.key, record.path, digest, True, issue_id), now)
            log.info("feed %s: updated %s", run.label, record.path)
            return
        await self._place_new(run, item, text, digest, key, issue_id)

    async def _place_new(self, run: IngestRun, item: FeedItem, text: str, digest: str, key: str,
                         issue_id: str) -> None:
        now = self._clock()
        if key in run.held.links:
            # The same 原文 URL is already an archive issue (saved by hand, or from another feed).
            run.matched.append(run.held.links[key])
            await self.store.feed_put_item(run.url, ItemRecord(item.key, run.held.links[key], digest, False,
                                                               issue_id), now)
            if run.first:
                run.quiet.append(issue_id)
            return
        if issue_id in run.held.ids:
            # Another 原文 URL with the same last segment: the loader would keep only one of the two files.
            run.skip(f"item {(item.title[:60] or item.link[:60])!r}: {item.link} has the issue id {issue_id} of "
                     f"{run.held.ids[issue_id]}; skipped, so neither file shadows the other")
            return
        size = len(text.encode("utf-8"))
        adopted = run.held.own.get(key)
        if adopted is not None:
            # The feed's own file for this link, not (or no longer) in the state database: adopt it, no twin.
            same = await asyncio.to_thread(file_digest, self.root / adopted) == digest
            if same:
                run.unchanged += 1
                if self.sync is not None:  # a file written before the store had it (or its put failed)
                    await self.sync.put(adopted, text, self._clock())
            else:
                await self._write(run, adopted, text, size, updated=True)
            rel = adopted
        else:
            if len(run.taken) >= self.config.feed_max_files:  # the retention bound: what is held stays
                run.skip(f"item {(item.title[:60] or item.link[:60])!r}: the feed holds {len(run.taken)} files "
                         f"(archive.feed_max_files); skipped")
                return
            rel = self._free_path(run.folder, item, run.taken)
            await self._write(run, rel, text, size, updated=False)
            log.info("feed %s: added %s", run.label, rel)
        run.taken[rel] = item.key
        run.held.own[key] = rel
        run.written.links[key] = rel
        run.written.ids[issue_id] = rel
        if run.first:
            run.quiet.append(issue_id)
        await self.store.feed_put_item(run.url, ItemRecord(item.key, rel, digest, True, issue_id), now)

    async def _write(self, run: IngestRun, rel: str, text: str, size: int, *, updated: bool) -> None:
        if self.sync is not None:
            # The store first: it is the source of truth, so a failed file write is repaired by the next sync.
            await self.sync.put(rel, text, self._clock())
        await asyncio.to_thread(write_atomic, self.root / rel, text)
        run.written_bytes += size
        (run.updated if updated else run.added).append(rel)

    async def ingest_file(self, path: Path) -> PollOutcome:
        """``newsbot ingest FILE``: a feed document on disk, remembered like a feed (by its file URI)."""
        data = await asyncio.to_thread(read_feed_file, path, int(self.config.feed_max_mb * 1_048_576))
        uri = path.resolve().as_uri()
        async with self._lock:
            outcome = await self.ingest_bytes(uri, str(path), data)
            now = self._clock()
            await self.store.feed_success(uri, etag=None, last_modified=None, now=now, next_poll=now,
                                            notes="; ".join(outcome.skipped))
        return outcome

    def _free_path(self, folder: Path, item: FeedItem, taken: dict[str, str]) -> str:
        stem = file_stem(item)
        rel = (folder / f"{stem}.md").as_posix()
        if (rel in taken and taken[rel] != item.key) or (rel not in taken and (self.root / rel).exists()):
            # Two items with one slug (or a stray file there): keep both, apart.
            rel = (folder / f"{stem}-{hashlib.sha1(item.key.encode()).hexdigest()[:8]}.md").as_posix()
        return rel

    # -- admin --

    async def retry(self, url: str | None = None) -> list[str]:
        """``/newsbot feed-retry``: clear failures and poll at once (one feed, or all)."""
        urls = await self.store.feed_retry(url, self._clock())
        self._wake.set()
        return urls

    async def status(self) -> tuple[FeedStatus, ...]:
        configured = {f.url: f for f in self.feeds}
        states = {s.url: s for s in await self.store.feed_all()}
        out = []
        for url, feed in configured.items():
            s = states.get(url) or FeedState(url, feed.name)
            out.append(feed_status(s, feed.label))
        return tuple(out)

    # -- the loop --

    def _seconds_to_next(self, states: Sequence[FeedState]) -> float:
        now = self._clock()
        # The folder is checked at least every FOLDER_CHECK_SECONDS even when no feed is due, so a file that
        # `newsbot ingest` or an admin drops in is answered within a minute, not a poll interval later.
        delay = min(self.config.feed_poll_seconds, FOLDER_CHECK_SECONDS)
        configured = {f.url for f in self.feeds}
        for s in states:
            if s.url in configured and s.disabled_reason is None and s.next_poll is not None:
                delay = min(delay, (s.next_poll - now).total_seconds())
        return max(delay, 0.05)

    async def run_forever(self) -> None:
        """Poll until cancelled; an unexpected error in a cycle is logged and the next cycle runs."""
        while True:
            try:
                await self.poll()
                delay = self._seconds_to_next(await self.store.feed_all())
            except Exception:  # the loop's boundary: one bad cycle must not end feed ingestion
                log.exception("feed poll failed; next try in %s s", self.config.feed_poll_seconds)
                delay = self.config.feed_poll_seconds
            self._wake.clear()
            if self._sleep is not None:
                await self._sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)


def feed_status(s: FeedState, label: str) -> FeedStatus:
    state = "off" if s.disabled_reason else ("failing" if s.failures else ("ok" if s.polled_ok else "new"))
    return FeedStatus(label=label, url=redact_url(s.url), state=state, items=s.items, failures=s.failures,
                      last_success=s.last_success, next_poll=None if s.disabled_reason else s.next_poll,
                      error=s.disabled_reason or s.last_error, notes=s.notes)
