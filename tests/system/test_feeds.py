"""Feed ingestion against a real HTTP feed server on 127.0.0.1, into a real archive folder, state database and
search index: conditional GET, items to files, identity, first-poll silence, failures, back-off and retry."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib.metadata
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from xml.sax.saxutils import escape

import msgspec
import pytest
from clock import Clock
from feed_server import SAMPLE, FeedServer, Item, atom, item_from_markdown, rss, sample_items

from bot.app import build_app
from bot.commands import Newsbot
from bot.config import Config, FeedConfig
from bot.feeds import fetch
from bot.feeds.cli import PICKED_UP
from bot.feeds.service import FOLDER_CHECK_SECONDS, FeedService
from bot.library import Library, cache_path
from bot.store import SqlStore, open_store
from retrieval.archive import LoadOptions, load_archive
from retrieval.cache import QueryCache
from retrieval.errors import QueryError

pytestmark = pytest.mark.timeout(120)

HAND_SAVED = ("akiras-ml-news-week41-2020-5a3e0c000041", "akiras-ml-news-week45-2020-5a3e0c000045")
W13 = "akiras-machine-learning-news-week-13-2021-5a3e0c210013"


START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class Rig:
    server: FeedServer
    newsbot: Newsbot
    service: FeedService
    store: SqlStore
    clock: Clock
    archive: Path


def _config(sample_config: Config, archive: Path, feeds: list[FeedConfig], **archive_opts: object) -> Config:
    opts: dict[str, object] = {"feed_timeout_seconds": 2.0, "feed_max_mb": 0.25, "feed_poll_seconds": 600.0,
                               **archive_opts}
    return msgspec.structs.replace(sample_config, archive=msgspec.structs.replace(
        sample_config.archive, path=str(archive), feeds=tuple(feeds), **opts))


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as s:
        yield s


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    for stem in HAND_SAVED:
        shutil.copy(SAMPLE / f"{stem}.md", root / f"{stem}.md")
    return root


@contextlib.asynccontextmanager
async def rig(server: FeedServer, sample_config: Config, archive: Path, feeds: list[FeedConfig],
              **archive_opts: object) -> AsyncIterator[Rig]:
    """The real Newsbot on ``archive`` and a FeedService wired to its reindex, with a test clock."""
    config = _config(sample_config, archive, feeds, **archive_opts)
    library = await Library.load(config)
    store = await open_store(config.storage_url, create=True)
    cache = QueryCache(cache_path(config.db_path), ttl_seconds=config.cache.ttl_seconds,
                       max_entries=config.cache.max_entries)
    await cache.open()
    clock = Clock(START)
    service = FeedService(config.archive, store, archive, library=library, clock=clock)
    newsbot = Newsbot(config, library, cache, feeds=service)
    await service.setup()
    try:
        yield Rig(server, newsbot, service, store, clock, archive)
    finally:
        await service.close()
        await cache.close()
        await store.close()


def _entries(issue):  # type: ignore[no-untyped-def]
    return [(e.section, e.title, e.url, e.summary, e.feature) for e in issue.entries]


# -- conversion: a feed issue is the same issue as the file saved by hand --------------------------

@pytest.mark.parametrize("kind", ["rss", "atom"])
async def test_sample_archive_through_a_feed_parses_like_the_files(server: FeedServer, sample_config: Config,
                                                                   tmp_path: Path, kind: str) -> None:
    root = tmp_path / "fromfeed"
    root.mkdir()
    (root / "README.md").write_text("# notes\n\nThe feed writes below feeds/.\n", encoding="utf-8")
    build = rss if kind == "rss" else atom
    server.publish("/feed", build(sample_items()),
                   content_type="application/rss+xml" if kind == "rss" else "application/atom+xml")
    async with rig(server, sample_config, root, [FeedConfig(server.url("/feed"), "akira")]) as r:
        report = await r.service.poll()
        [outcome] = report.outcomes
        assert outcome.status == "ok"
        assert len(outcome.added) == 8
        assert report.reindexed
    by_hand = load_archive(SAMPLE, LoadOptions(progress=False))
    from_feed = load_archive(root, LoadOptions(progress=False))
    assert [i.id for i in from_feed.newsletter_issues] == [i.id for i in by_hand.newsletter_issues]
    for hand in by_hand.newsletter_issues:
        fed = from_feed.get(hand.id)
        assert fed is not None
        assert fed.path.startswith("feeds/")
        assert (fed.title, fed.date, fed.number, fed.sections) == (hand.title, hand.date, hand.number, hand.sections)
        assert _entries(fed) == _entries(hand), hand.id
        assert [e.title for e in fed.features] == [e.title for e in hand.features]


# -- conditional GET, new items searchable at once, changed items -----------------------------------

async def test_200_then_304_and_a_new_issue_answers_ask_right_after_the_poll(
        server: FeedServer, sample_config: Config, archive: Path) -> None:
    items = sample_items(HAND_SAVED)
    server.publish("/rss", rss(items))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"), "akira")]) as r:
        first = await r.service.poll()
        # Both items are the hand-saved files (same 原文 URL): matched, no second copy, nothing reindexed.
        assert first.outcomes[0].added == ()
        assert sorted(first.outcomes[0].matched) == [f"{s}.md" for s in HAND_SAVED]
        assert not first.reindexed
        assert not (archive / "feeds").exists()
        r.clock.advance(601)
        second = await r.service.poll()
        assert second.outcomes[0].status == "not-modified"
        log = server.requests("/rss")
        assert [x.status for x in log] == [200, 304]
        assert log[0].if_none_match is None
        assert log[0].if_modified_since is None
        assert log[1].if_none_match
        assert log[1].if_modified_since
        before = r.newsbot.engine.fingerprint
        with pytest.raises(QueryError):
            await r.newsbot.features("week 13 2021")
        # The publication adds an issue.
        server.publish("/rss", rss([*items, item_from_markdown((SAMPLE / f"{W13}.md").read_text("utf-8"))]))
        r.clock.advance(601)
        third = await r.service.poll()
        [outcome] = third.outcomes
        assert outcome.added == (f"feeds/{outcome.added[0].split('/')[1]}/{W13}.md",)
        assert third.reindexed
        assert r.newsbot.engine.fingerprint != before
        new_issue = r.newsbot.archive.get(W13)
        assert new_issue is not None
        assert third.tokenized is not None
        assert third.tokenized <= len(new_issue.entries)
        answer = await r.newsbot.ask("Swin Transformer 移位窗口")
        assert answer.hits[0].issue.id == W13
        assert (await r.newsbot.features("week 13 2021")).issue.id == W13
        assert W13 not in await r.store.quiet_issues()  # found by a later poll: it will be announced
        assert [x.status for x in server.requests("/rss")] == [200, 304, 200]


async def test_the_feed_server_sees_the_installed_version_as_user_agent(server: FeedServer, sample_config: Config,
                                                                        archive: Path) -> None:
    server.publish("/rss", rss(sample_items(HAND_SAVED)))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"), "akira")]) as r:
        await r.service.poll()
    [request] = server.requests("/rss")
    assert request.user_agent == f"newsbot/{importlib.metadata.version('newsbot')} (feed poller)"


def test_user_agent_without_an_installed_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert fetch._user_agent() == "newsbot/unknown (feed poller)"


async def test_changed_item_updates_file_and_index_and_is_not_new(server: FeedServer, sample_config: Config,
                                                                   archive: Path) -> None:
    w13 = item_from_markdown((SAMPLE / f"{W13}.md").read_text("utf-8"))
    server.publish("/rss", rss([w13]))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))]) as r:
        [first] = (await r.service.poll()).outcomes
        [path] = first.added
        old = r.newsbot.archive.get(W13)
        changed = dataclasses.replace(w13, html=w13.html.replace("Swin Transformer", "Swin Transformer V9 (修订)"))
        server.publish("/rss", rss([changed]))
        r.clock.advance(601)
        report = await r.service.poll()
        [outcome] = report.outcomes
        assert outcome.added == ()
        assert outcome.updated == (path,)
        assert "V9 (修订)" in (archive / path).read_text("utf-8")
        assert report.reindexed
        assert len(r.newsbot.archive.issues) == 3  # updated in place: no duplicate issue
        new = r.newsbot.archive.get(W13)
        assert old is not None
        assert new is not None
        pairs = zip(old.entries, new.entries, strict=True)
        differ = sum((a.title, a.summary) != (b.title, b.summary) for a, b in pairs)
        assert 0 < differ < len(new.entries)
        assert report.tokenized == differ
        hits = (await r.newsbot.ask("Swin Transformer V9 修订")).hits
        assert hits
        assert hits[0].issue.id == W13
        assert "V9" in hits[0].entry.summary
        assert {f.name for f in (archive / path).parent.iterdir()} == {Path(path).name}  # no temp file left


async def test_first_poll_is_quiet_and_later_items_are_not(server: FeedServer, sample_config: Config,
                                                          archive: Path) -> None:
    names = ["akiras-ml-news-october-2020-5a3e0c0a2010", "akiras-ml-news-week50-2020-5a3e0c000050"]
    server.publish("/rss", rss(sample_items(names)))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))]) as r:
        [first] = (await r.service.poll()).outcomes
        assert len(first.added) == 2
        assert set(first.quiet) == set(names)
        server.publish("/rss", rss(sample_items([*names, W13])))
        r.clock.advance(601)
        [second] = (await r.service.poll()).outcomes
        assert second.quiet == ()
        assert await r.store.quiet_issues() == frozenset(names)


async def test_duplicate_item_and_item_without_link(server: FeedServer, sample_config: Config, archive: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    w13 = item_from_markdown((SAMPLE / f"{W13}.md").read_text("utf-8"))
    nolink = Item(guid=None, title="A post without a link", link=None, html="<p>text</p>")
    server.publish("/rss", rss([w13, w13, nolink]))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"), "akira")]) as r:
        with caplog.at_level(logging.WARNING, logger="bot.feeds"):
            [outcome] = (await r.service.poll()).outcomes
        assert len(outcome.added) == 1
        assert outcome.skipped == (f"item {w13.title!r} appears twice in the feed; the first copy is used",
                                   "item 'A post without a link' has no link; skipped")
        assert "has no link; skipped" in caplog.text
        assert "appears twice" in caplog.text
        stats = await r.newsbot.stats(operator=True)
        [feed] = stats.feeds
        assert feed.state == "ok"
        assert feed.items == 1
        assert "has no link" in feed.notes


# -- failures: each has a reason, a log line and a stats entry, and loses nothing -------------------

BAD_CASES = [
    ("malformed", {}, "malformed XML: <unknown>:1:82: no element found"),
    ("status", {"status": 404}, "HTTP 404 Not Found"),
    ("status", {"status": 500}, "HTTP 500 Internal Server Error"),
    ("slow", {}, "no complete answer within 2 s (timeout)"),
    ("oversized", {}, "body too large (more than 262144 bytes)"),
    ("redirect-loop", {}, "more than 5 redirects (a redirect loop?)"),
    ("html", {}, "wrong content type text/html (expected an RSS or Atom feed)"),
]


@pytest.mark.parametrize(("kind", "opts", "reason"), BAD_CASES, ids=[str(c[1].get("status", c[0])) for c in BAD_CASES])
async def test_a_bad_feed_backs_off_is_disabled_and_loses_nothing(
        server: FeedServer, sample_config: Config, archive: Path, caplog: pytest.LogCaptureFixture,
        kind: str, opts: dict[str, int], reason: str) -> None:
    w13 = item_from_markdown((SAMPLE / f"{W13}.md").read_text("utf-8"))
    server.publish("/bad", rss([w13]))
    server.publish("/good", rss(sample_items(["akiras-ml-news-week50-2020-5a3e0c000050"])))
    feeds = [FeedConfig(server.url("/bad"), "bad"), FeedConfig(server.url("/good"), "good")]
    async with rig(server, sample_config, archive, feeds, feed_max_failures=3) as r:
        await r.service.poll()
        [path] = (await r.store.feed_items(server.url("/bad"))).values()
        text = (archive / path.path).read_text("utf-8")
        server.fail("/bad", kind, **opts)
        server.publish("/good", rss(sample_items(["akiras-ml-news-week50-2020-5a3e0c000050", W13])))
        with caplog.at_level(logging.WARNING, logger="bot.feeds"):
            r.clock.advance(601)
            report = await r.service.poll()
        by_url = {o.url: o for o in report.outcomes}
        assert by_url[server.url("/bad")].status == "failed"
        assert by_url[server.url("/bad")].error == reason
        assert by_url[server.url("/good")].status == "ok"  # the bad feed did not stop the good one
        assert f"feed bad: {reason} (failure 1 of 3; next try at" in caplog.text
        assert (archive / path.path).read_text("utf-8") == text
        assert r.newsbot.archive.get(W13) is not None
        # Backing off: not due after one interval, due after two (600 s doubled), then after four.
        r.clock.advance(601)
        assert server.url("/bad") not in {o.url for o in (await r.service.poll()).outcomes}
        r.clock.advance(600)
        assert {o.url: o.status for o in (await r.service.poll()).outcomes}[server.url("/bad")] == "failed"
        r.clock.advance(2401)
        third = {o.url: o for o in (await r.service.poll()).outcomes}[server.url("/bad")]
        assert third.status == "disabled"
        assert third.error == f"{reason} (3 failures in a row)"
        feed = {f.label: f for f in (await r.newsbot.stats(operator=True)).feeds}["bad"]
        assert (feed.state, feed.failures, feed.error) == ("off", 3, f"{reason} (3 failures in a row)")
        r.clock.advance(86400)
        assert server.url("/bad") not in {o.url for o in (await r.service.poll()).outcomes}  # off stays off
        # An admin fixes the feed and retries.
        server.heal("/bad")
        result = await r.newsbot.feed_retry("bad", operator=True)
        assert {f.label: f.state for f in result.feeds}["bad"] == "ok"
        again = {o.url: o for o in (await r.service.poll()).outcomes}[server.url("/bad")]
        assert again.status in ("ok", "not-modified")
        assert {f.label: f.state for f in (await r.newsbot.stats(operator=True)).feeds}["bad"] == "ok"


async def test_410_disables_at_once_and_503_retry_after_is_honoured(server: FeedServer, sample_config: Config,
                                                                    archive: Path) -> None:
    server.fail("/gone", "status", status=410)
    server.fail("/busy", "status", status=503, headers={"Retry-After": "7200"})
    feeds = [FeedConfig(server.url("/gone"), "gone"), FeedConfig(server.url("/busy"), "busy")]
    async with rig(server, sample_config, archive, feeds) as r:
        outcomes = {o.label: o for o in (await r.service.poll()).outcomes}
        assert outcomes["gone"].status == "disabled"
        assert outcomes["gone"].error == "HTTP 410 Gone (1 failure in a row)"
        busy = await r.store.feed_get(server.url("/busy"))
        assert busy is not None
        assert busy.next_poll == r.clock.now + dt.timedelta(seconds=7200)


async def test_cache_control_max_age_delays_the_next_poll(server: FeedServer, sample_config: Config,
                                                          archive: Path) -> None:
    server.publish("/rss", rss(sample_items(HAND_SAVED)), max_age=3000)
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))]) as r:
        await r.service.poll()
        r.clock.advance(601)
        assert (await r.service.poll()).outcomes == ()  # 600 s interval, but the server said 3000 s
        r.clock.advance(2400)
        assert [o.status for o in (await r.service.poll()).outcomes] == ["not-modified"]


async def test_a_config_change_enables_a_disabled_feed(server: FeedServer, sample_config: Config,
                                                       archive: Path) -> None:
    server.fail("/gone", "status", status=410)
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/gone"), "gone")]) as r:
        await r.service.poll()
        assert (await r.store.feed_get(server.url("/gone"))).disabled_reason  # type: ignore[union-attr]
    server.publish("/gone", rss(sample_items(HAND_SAVED)))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/gone"), "gone")]) as r:
        assert (await r.service.poll()).outcomes == ()  # a restart alone changes nothing
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/gone"), "back again")]) as r:
        assert [o.status for o in (await r.service.poll()).outcomes] == ["ok"]


async def test_a_file_an_admin_drops_in_is_picked_up_at_the_next_poll(server: FeedServer, sample_config: Config,
                                                                      archive: Path) -> None:
    async with rig(server, sample_config, archive, []) as r:
        assert not (await r.service.poll()).reindexed
        shutil.copy(SAMPLE / f"{W13}.md", archive / "dropped.md")
        report = await r.service.poll()
        assert report.reindexed
        assert r.newsbot.archive.get(W13) is not None
        assert (await r.newsbot.ask("Swin Transformer 移位窗口")).hits[0].issue.id == W13
        assert not (await r.service.poll()).reindexed


async def test_feed_retry_without_feeds_says_so(server: FeedServer, sample_config: Config, archive: Path) -> None:
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/x"), "x")]) as r:
        with pytest.raises(QueryError, match=r"No feed named “y”\. Configured: x\."):
            await r.newsbot.feed_retry("y", operator=True)
    async with build_app(_config(sample_config, archive, []), "console") as app:
        with pytest.raises(QueryError, match="No feeds are configured"):
            await app.service.feed_retry(operator=True)


# -- newsbot ingest ---------------------------------------------------------------------------------

async def _cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    import asyncio
    import sys

    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", *args, cwd=cwd,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_poller_checks_the_folder_within_a_minute_even_with_nothing_due(
        server: FeedServer, sample_config: Config, archive: Path) -> None:
    """A running bot answers from what `newsbot ingest` (or an admin) put in its folder within a minute, though
    its feeds poll hourly: the folder is checked on a shorter beat, and the check reindexes it."""
    server.publish("/rss", rss(sample_items(HAND_SAVED)))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))], feed_poll_seconds=3600.0) as r:
        await r.service.poll()
        assert r.service._seconds_to_next(await r.store.feed_all()) <= FOLDER_CHECK_SECONDS == 60.0
        shutil.copy(SAMPLE / f"{W13}.md", archive / f"{W13}.md")  # what `newsbot ingest FILE` does, by hand
        r.clock.advance(FOLDER_CHECK_SECONDS)
        assert (await r.service.poll()).reindexed
        assert r.newsbot.archive.get(W13) is not None
        assert len(server.requests("/rss")) == 1  # the feed itself is not due: only the folder was looked at


async def test_ingest_command_from_url_then_304_and_from_file(server: FeedServer, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    common = ("--archive", str(archive), "--db", str(tmp_path / "state.sqlite3"))
    nolink = Item(guid="x", title="no link here", link=None, html="<p>x</p>")
    server.publish("/rss", rss([*sample_items(HAND_SAVED), nolink]))
    code, out, err = await _cli("ingest", server.url("/rss"), *common, cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines()[0] == "added 2, updated 0, unchanged 0, already in the archive 0, skipped 1"
    assert "skipped   item 'no link here' has no link; skipped" in out
    assert out.splitlines()[-1] == PICKED_UP  # says how a running bot gets the new issues
    code, out, err = await _cli("ingest", server.url("/rss"), *common, cwd=tmp_path)
    assert (code, out.strip()) == (0, "not modified since the last import (304): nothing to do")
    assert [r.status for r in server.requests("/rss")] == [200, 304]
    feed_file = tmp_path / "feed.atom"
    feed_file.write_bytes(atom(sample_items([*HAND_SAVED, W13])))
    code, out, err = await _cli("ingest", str(feed_file), *common, "--json", cwd=tmp_path)
    assert code == 0, err
    import json

    result = json.loads(out)
    # The two issues the URL import wrote are the same issues (same 原文 URL): matched, not written again.
    assert [Path(p).name for p in result["added"]] == [f"{W13}.md"]
    assert len(result["matched"]) == 2
    loaded = load_archive(archive, LoadOptions(progress=False))
    assert len(loaded.newsletter_issues) == 3
    assert loaded.duplicates == ()
    server.fail("/rss", "status", status=500)
    code, out, err = await _cli("ingest", server.url("/rss"), *common, cwd=tmp_path)
    assert code == 1
    assert "newsbot: " + server.url("/rss") + ": HTTP 500 Internal Server Error" in err
    code, out, err = await _cli("ingest", server.url("/rss"), "--db", str(tmp_path / "s.db"), cwd=tmp_path)
    assert code == 2
    assert "give --archive DIR" in err


async def test_console_stats_show_the_feeds(server: FeedServer, sample_config: Config, archive: Path,
                                            tmp_path: Path) -> None:
    import io

    from bot.console import run_console_async

    server.fail("/gone", "status", status=410)
    feeds = [FeedConfig(server.url("/gone"), "gone"), FeedConfig(server.url("/new"), "new")]
    async with rig(server, sample_config, archive, feeds) as r:
        await r.service.poll()
    config = _config(sample_config, archive, feeds)
    out = io.StringIO()
    await run_console_async(config, json_mode=False, stdin=io.StringIO("/stats\n/feed-retry gone\n"), stdout=out)
    text = out.getvalue()
    assert "feeds:    gone: off, 0 items, never succeeded — HTTP 410 Gone (1 failure in a row)" in text
    assert "new: failing, 0 items, never succeeded, 1 failures in a row, next poll" in text
    assert "Feed “gone” enabled again" in text
    assert "  - gone: new, 0 items, never succeeded" in text


@pytest.mark.parametrize("max_failures", [1, 5], ids=["disabled", "failing"])
async def test_feed_retry_never_polls_before_the_servers_retry_after(server: FeedServer, sample_config: Config,
                                                                     archive: Path, max_failures: int) -> None:
    """503 with Retry-After 3600: feed-retry enables the feed again (even a disabled one) but its next poll is
    still the server's time, not now; once that time has passed it is polled."""
    server.fail("/busy", "status", status=503, headers={"Retry-After": "3600"})
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/busy"), "busy")],
                   feed_max_failures=max_failures) as r:
        await r.service.poll()
        assert len(server.requests("/busy")) == 1
        for _ in range(10):  # ten admins in a row
            [status] = (await r.newsbot.feed_retry("busy", operator=True)).feeds
            assert status.state in ("ok", "new")  # enabled again, failures cleared
            assert status.next_poll == START + dt.timedelta(seconds=3600)
            r.clock.advance(1)
            assert (await r.service.poll()).outcomes == ()
        assert len(server.requests("/busy")) == 1
        server.heal("/busy")
        server.publish("/busy", rss(sample_items(HAND_SAVED)))
        r.clock.advance(3600)
        assert [o.status for o in (await r.service.poll()).outcomes] == ["ok"]
        assert len(server.requests("/busy")) == 2


# -- identity: an item never takes over, overwrites or shadows another file (issue 19) ---------------

W41, W50 = HAND_SAVED[0], "akiras-ml-news-week50-2020-5a3e0c000050"


def _sample(stem: str, guid: str | None = None) -> Item:
    return item_from_markdown((SAMPLE / f"{stem}.md").read_text("utf-8"), guid=guid)


def _feed_files(archive: Path) -> list[str]:
    return sorted(p.relative_to(archive).as_posix() for p in (archive / "feeds").rglob("*.md"))


async def test_an_update_never_takes_over_a_hand_saved_or_another_feeds_issue(
        server: FeedServer, sample_config: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "archive"
    (root / "zz-hand").mkdir(parents=True)  # sorts after feeds/: the loader would keep a feed's copy first
    shutil.copy(SAMPLE / f"{W41}.md", root / "zz-hand" / f"{W41}.md")
    hand_text = (root / "zz-hand" / f"{W41}.md").read_text("utf-8")
    mine, theirs = _sample(W13, guid="mine-1"), _sample(W50, guid="theirs-1")
    server.publish("/a", rss([mine]))
    server.publish("/b", rss([theirs]))
    feeds = [FeedConfig(server.url("/a"), "a"), FeedConfig(server.url("/b"), "b")]
    async with rig(server, sample_config, root, feeds) as r:
        report = await r.service.poll()
        [a_path] = report.outcomes[0].added
        [b_path] = report.outcomes[1].added
        a_text, b_text = (root / a_path).read_text("utf-8"), (root / b_path).read_text("utf-8")
        evil = "<p>HIJACKED: visit evil https://evil.example/phish</p>"
        w41_link = _sample(W41).link
        assert w41_link is not None
        server.publish("/a", rss([dataclasses.replace(mine, link=w41_link, html=evil)]))
        server.publish("/b", rss([dataclasses.replace(theirs, link=mine.link, html=evil)]))
        r.clock.advance(601)
        with caplog.at_level(logging.WARNING, logger="bot.feeds"):
            report = await r.service.poll()
        by_label = {o.label: o for o in report.outcomes}
        for label, path, other in (("a", a_path, f"zz-hand/{W41}.md"), ("b", b_path, a_path)):
            assert by_label[label].updated == ()
            [reason] = by_label[label].skipped
            assert f"is now the issue in {other}; update refused, {path} kept" in reason
            assert reason in caplog.text
        assert ((root / a_path).read_text("utf-8"), (root / b_path).read_text("utf-8")) == (a_text, b_text)
        assert (root / "zz-hand" / f"{W41}.md").read_text("utf-8") == hand_text
        issue = r.newsbot.archive.get(W41)
        assert issue is not None
        assert issue.path == f"zz-hand/{W41}.md"
        assert "HIJACKED" not in str(await r.newsbot.features("2020-W41"))
        assert "update refused" in {f.label: f for f in (await r.newsbot.stats(operator=True)).feeds}["a"].notes


async def test_a_new_item_with_another_issues_id_is_not_written_to_shadow_it(
        server: FeedServer, sample_config: Config, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    (root / "zz-hand").mkdir(parents=True)
    shutil.copy(SAMPLE / f"{W41}.md", root / "zz-hand" / f"{W41}.md")
    fake = Item("evil-1", "Not the real week 41", f"https://evil.example/p/{W41}", "<p>HIJACKED</p>")
    server.publish("/rss", rss([fake]))
    async with rig(server, sample_config, root, [FeedConfig(server.url("/rss"), "evil")]) as r:
        [outcome] = (await r.service.poll()).outcomes
        assert (outcome.added, outcome.matched) == ((), ())
        assert outcome.skipped == (f"item 'Not the real week 41': https://evil.example/p/{W41} has the issue id "
                                   f"{W41} of zz-hand/{W41}.md; skipped, so neither file shadows the other",)
        assert not (root / "feeds").exists()


async def test_a_lost_state_database_adopts_the_feeds_files_instead_of_writing_twins(
        server: FeedServer, sample_config: Config, archive: Path, tmp_path: Path) -> None:
    items = [_sample(W13, guid="g-13"), _sample(W50)]
    server.publish("/rss", rss(items))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))]) as r:
        assert len((await r.service.poll()).outcomes[0].added) == 2
    files = _feed_files(archive)
    (tmp_path / "state.sqlite3").unlink()  # lost; a fresh database is created
    changed = dataclasses.replace(items[0], guid="g-13-new", html=items[0].html + "<p>修订 revised</p>")
    server.publish("/rss", rss([changed, items[1]]))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))]) as r:
        [outcome] = (await r.service.poll()).outcomes
        assert outcome.added == ()
        assert outcome.unchanged == 1
        assert len(outcome.updated) == 1
        assert _feed_files(archive) == files
        assert "修订 revised" in (archive / outcome.updated[0]).read_text("utf-8")
        assert load_archive(archive, LoadOptions(progress=False)).duplicates == ()


async def test_items_whose_links_share_the_last_segment_are_all_kept(server: FeedServer, sample_config: Config,
                                                                    archive: Path) -> None:
    links = [f"https://news.example/article?id={n}" for n in (1, 2, 3)]
    links += [f"https://news.example/2021/0{n}/index.html" for n in (1, 2, 3)]
    items = [Item(None, f"Post {n}", link, f"<p>body number {n} of six</p>") for n, link in enumerate(links)]
    server.publish("/rss", rss(items))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))]) as r:
        [outcome] = (await r.service.poll()).outcomes
        assert (len(outcome.added), outcome.matched, outcome.skipped) == (6, (), ())
        texts = sorted((archive / p).read_text("utf-8") for p in outcome.added)
        assert [sum(f"body number {n} of six" in t for t in texts) for n in range(6)] == [1] * 6
        assert all(p.endswith(".md") and "?" not in p for p in outcome.added)
        # And the reindexed archive answers with all six: their ids differ though their last segments agree.
        titles = {i.title for i in r.newsbot.archive.issues}
        assert {f"Post {n}" for n in range(6)} <= titles, titles
        assert not [d for d in r.newsbot.archive.duplicates if "news.example" in d.reason]
        # The same links with tracking added are the same items (link_key), not new ones.
        server.publish("/rss", rss([dataclasses.replace(i, link=f"{i.link}{'&' if '?' in str(i.link) else '?'}"
                                                        "utm_source=rss") for i in items]))
        r.clock.advance(601)
        [again] = (await r.service.poll()).outcomes
        assert (again.added, again.matched, again.skipped) == ((), (), ())
        assert sorted(again.updated) == sorted(outcome.added)  # their 原文 lines changed, their files did not
    # Pages of the same shape from another feed are new issues too, never taken for the ones already there: an
    # id is the URL's, not its last segment's (article?id=4 is not article?id=1's issue).
    later = [Item(None, f"Post {n}", link, f"<p>body number {n} of eight</p>") for n, link in
             ((6, "https://news.example/article?id=4"), (7, "https://news.example/2021/04/index.html"))]
    server.publish("/other", rss(later))
    feeds = [FeedConfig(server.url("/rss")), FeedConfig(server.url("/other"), "other")]
    async with rig(server, sample_config, archive, feeds) as r:
        other = {o.label: o for o in (await r.service.poll()).outcomes}["other"]
        assert (len(other.added), other.skipped) == (2, ())
        assert {f"Post {n}" for n in range(8)} <= {i.title for i in r.newsbot.archive.issues}


# -- limits and boundaries: one item never stops a feed, one feed never stops another ----------------

DEEP = "<div>" * 1000 + "<p>deep</p>" + "</div>" * 1000


async def test_an_item_that_cannot_be_converted_is_skipped_and_the_next_feed_still_runs(
        server: FeedServer, sample_config: Config, archive: Path) -> None:
    bad = Item("deep-1", "Deeply nested", "https://x.example/deep", DEEP)
    server.publish("/bad", rss([bad, _sample(W13)]))
    server.publish("/good", rss([_sample(W50)]))
    feeds = [FeedConfig(server.url("/bad"), "bad"), FeedConfig(server.url("/good"), "good")]
    async with rig(server, sample_config, archive, feeds) as r:
        by_label = {o.label: o for o in (await r.service.poll()).outcomes}
        assert (by_label["bad"].status, len(by_label["bad"].added)) == ("ok", 1)
        assert by_label["bad"].skipped == ("item 'Deeply nested': HTML nested deeper than 64 levels; skipped",)
        assert (by_label["good"].status, len(by_label["good"].added)) == ("ok", 1)
        feed = {f.label: f for f in (await r.newsbot.stats(operator=True)).feeds}["bad"]
        assert (feed.state, feed.items) == ("ok", 1)
        assert "nested deeper than 64" in feed.notes


async def test_a_feed_that_breaks_the_poller_fails_alone(server: FeedServer, sample_config: Config, archive: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.feeds import service as service_module

    real = service_module.parse_feed

    def parse(data: bytes, url: str = "") -> object:
        if url.endswith("/broken"):
            raise RuntimeError("a bug")
        return real(data, url)

    monkeypatch.setattr(service_module, "parse_feed", parse)
    server.publish("/broken", rss([_sample(W13)]))
    server.publish("/good", rss([_sample(W50)]))
    feeds = [FeedConfig(server.url("/broken"), "broken"), FeedConfig(server.url("/good"), "good")]
    async with rig(server, sample_config, archive, feeds) as r:
        by_label = {o.label: o for o in (await r.service.poll()).outcomes}
        assert (by_label["broken"].status, by_label["broken"].error) == ("failed", "internal error: RuntimeError: "
                                                                                    "a bug")
        assert (by_label["good"].status, len(by_label["good"].added)) == ("ok", 1)
        assert {f.label: f.failures for f in (await r.newsbot.stats(operator=True)).feeds}["broken"] == 1


async def test_a_large_item_converts_while_the_event_loop_keeps_ticking(server: FeedServer, sample_config: Config,
                                                                        archive: Path) -> None:
    import asyncio
    import time

    from bot.feeds.convert import html_to_markdown

    para = "<p>A paragraph about <a href='https://x.example/{n}'>model {n}</a> and its <b>results</b>.</p>"
    html = "".join(para.format(n=n) for n in range(8000))
    started = time.perf_counter()
    html_to_markdown(html)
    alone = time.perf_counter() - started  # the conversion's own time on this machine
    server.publish("/rss", rss([Item("big-1", "A big item", "https://x.example/big", html)]))
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))], feed_max_mb=8.0) as r:
        ticker = asyncio.create_task(tick())
        try:
            [outcome] = (await r.service.poll()).outcomes
        finally:
            ticker.cancel()
        assert len(outcome.added) == 1
    # On the loop, one gap would be the whole conversion; off it, the ticker keeps running throughout.
    assert alone > 0.2
    assert max(gaps) < alone / 2, (max(gaps), alone)


async def test_per_poll_item_and_byte_limits_skip_the_rest_with_a_reason(
        server: FeedServer, sample_config: Config, archive: Path) -> None:
    items = [Item(f"g{n}", f"Post {n}", f"https://x.example/p{n}", f"<p>{'text ' * 400}{n}</p>") for n in range(4)]
    server.publish("/rss", rss(items))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))], feed_max_items=3,
                   feed_poll_max_mb=0.004) as r:
        [outcome] = (await r.service.poll()).outcomes
        assert len(outcome.added) == 2
        assert outcome.skipped == ("item 'Post 2': over the 0.004 MB a feed may write per poll; skipped",
                                   "item 'Post 3': over the 3 items a feed may bring per poll; skipped")


async def test_a_feed_holds_at_most_its_file_cap_and_updates_go_on(server: FeedServer, sample_config: Config,
                                                                   archive: Path) -> None:
    """The retention bound: a feed that keeps bringing new items stops adding files at archive.feed_max_files,
    saying so; the items it holds are still updated, and nothing is deleted."""
    items = [Item(f"g{n}", f"Post {n}", f"https://x.example/p{n}", f"<p>post number {n}</p>") for n in range(3)]
    server.publish("/rss", rss(items[:2]))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))], feed_max_files=2) as r:
        [first] = (await r.service.poll()).outcomes
        assert (len(first.added), first.skipped) == (2, ())
        server.publish("/rss", rss([dataclasses.replace(items[0], html="<p>post number 0, revised</p>"), *items[1:]]))
        r.clock.advance(601)
        [second] = (await r.service.poll()).outcomes
        assert (second.added, len(second.updated)) == ((), 1)
        assert second.skipped == ("item 'Post 2': the feed holds 2 files (archive.feed_max_files); skipped",)
        assert sorted(p.name for p in (archive / "feeds").rglob("*.md")) == sorted(Path(p).name for p in first.added)


async def test_an_item_whose_markdown_would_be_too_large_is_skipped(server: FeedServer, sample_config: Config,
                                                                    archive: Path) -> None:
    quotes = "".join("<blockquote>" * 60 + "line<br>" * 300 + "</blockquote>" * 60 for _ in range(3))
    server.publish("/rss", rss([Item("q", "Quotes", "https://x.example/q", quotes), _sample(W13)]))
    async with rig(server, sample_config, archive, [FeedConfig(server.url("/rss"))]) as r:
        [outcome] = (await r.service.poll()).outcomes
        assert len(outcome.added) == 1
        [reason] = outcome.skipped
        assert reason.startswith("item 'Quotes': its markdown would be ")
        assert "(more than 4×); skipped" in reason


# -- newsbot ingest: bounded like a URL, a plain failure, no state change --------------------------

async def test_ingest_refuses_a_device_and_an_oversized_file(tmp_path: Path) -> None:
    common = ("--archive", str(tmp_path / "archive"), "--db", str(tmp_path / "state.sqlite3"))
    code, _, err = await _cli("ingest", "/dev/zero", *common, cwd=tmp_path)
    assert (code, err) == (1, "newsbot: /dev/zero: not a regular file\n")
    big = tmp_path / "big.xml"
    big.write_bytes(rss([_sample(W13)]).replace(b"</channel>", b"<!--" + b"x" * 6_000_000 + b"--></channel>"))
    code, _, err = await _cli("ingest", str(big), *common, cwd=tmp_path)
    assert (code, err) == (1, f"newsbot: {big}: file too large (more than 5242880 bytes)\n")
    assert not (tmp_path / "archive" / "feeds").exists()


async def test_a_failed_one_shot_ingest_is_one_line_and_records_no_failure(server: FeedServer,
                                                                           tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    common = ("--archive", str(tmp_path / "archive"), "--db", str(db))
    server.fail("/rss", "status", status=500)
    code, out, err = await _cli("ingest", server.url("/rss"), *common, cwd=tmp_path)
    assert (code, out, err) == (1, "", f"newsbot: {server.url('/rss')}: HTTP 500 Internal Server Error\n")
    store = await open_store(str(db))
    try:
        state = await store.feed_get(server.url("/rss"))
    finally:
        await store.close()
    assert state is None or (state.failures, state.last_error, state.next_poll) == (0, None, None)


async def test_ingest_skips_an_item_it_cannot_convert_without_a_traceback(server: FeedServer,
                                                                          tmp_path: Path) -> None:
    common = ("--archive", str(tmp_path / "archive"), "--db", str(tmp_path / "state.sqlite3"))
    title = "&lt;b&gt;Week 13&lt;/b&gt; &amp;amp; more"  # an Atom type="html" title: markup, escaped
    doc = atom([Item("deep-1", "Deeply nested", "https://x.example/deep", DEEP), _sample(W13)])
    doc = doc.replace(f"<title>{escape(_sample(W13).title)}</title>".encode(),
                      f"<title type='html'>{title}</title>".encode())
    feed = tmp_path / "feed.atom"
    feed.write_bytes(doc)
    code, out, err = await _cli("ingest", str(feed), *common, cwd=tmp_path)
    assert code == 0, err
    assert "Traceback" not in err
    assert out.splitlines()[0] == "added 1, updated 0, unchanged 0, already in the archive 0, skipped 1"
    assert "skipped   item 'Deeply nested': HTML nested deeper than 64 levels; skipped" in out
    [path] = (tmp_path / "archive" / "feeds").rglob("*.md")
    assert path.read_text("utf-8").splitlines()[0] == "# Week 13 & more"
