"""The state store against real databases: every test runs on SQLite and on a real PostgreSQL server.

Several "processes" are several stores opened on the same database (own connections), racing for the same
claim: exactly one must win, whatever the backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.digest.schedule import DigestSettings
from bot.store import SCHEMA_VERSION, SchemaMismatch, SqlStore, describe_url, migrate_store, open_store
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore

NOW = dt.datetime(2021, 3, 1, 9, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
GUILD = 81384788765712384  # needs 64 bits: PostgreSQL's INTEGER would overflow


async def _stores(url: str, n: int) -> list[SqlStore]:
    return [await open_store(url) for _ in range(n)]


async def test_settings_and_values_round_trip(store: SqlStore) -> None:
    s = DigestSettings(GUILD, GUILD + 1, weekday=4, time=dt.time(18, 30), timezone="Asia/Tokyo", enabled=True,
                       policy="latest", enabled_at=NOW)
    await store.put_settings(s)
    assert await store.get_settings(GUILD) == s
    assert await store.enabled_guilds() == [s]
    await store.disable(GUILD, "turned off by an admin")
    assert await store.enabled_guilds() == []
    assert await store.get_value("k") is None
    await store.set_value("k", "v1")
    await store.set_value("k", "v2")
    assert await store.get_value("k") == "v2"


async def test_only_one_of_many_claimers_wins(store_url: str, store: SqlStore) -> None:
    racers = await _stores(store_url, 6)
    try:
        won = await asyncio.gather(*(r.claim(GUILD, "2021-W09", f"issue-{i}", 5, NOW, NOW + LEASE)
                                     for i, r in enumerate(racers)))
        assert sum(won) == 1
        [row] = await store.posts(GUILD)
        assert row.status == "claimed"
        assert row.issue_id == f"issue-{won.index(True)}"
        # a live lease is not taken over; an expired one by exactly one taker
        assert not any(await asyncio.gather(*(r.take_lease(GUILD, "2021-W09", NOW + LEASE / 2, NOW + 2 * LEASE)
                                              for r in racers)))
        later = NOW + LEASE + dt.timedelta(seconds=1)
        taken = await asyncio.gather(*(r.take_lease(GUILD, "2021-W09", later, later + LEASE) for r in racers))
        assert sum(taken) == 1
    finally:
        for r in racers:
            await r.close()


async def test_posted_claim_is_final(store: SqlStore) -> None:
    assert await store.claim(GUILD, "2021-W09", "issue-1", 5, NOW, NOW + LEASE)
    await store.mark_posted(GUILD, "2021-W09", "issue-1", 777, NOW)
    assert not await store.claim(GUILD, "2021-W09", "issue-2", 5, NOW, NOW + LEASE)
    assert not await store.take_lease(GUILD, "2021-W09", NOW + 2 * LEASE, NOW + 3 * LEASE)
    [row] = await store.posts(GUILD)
    assert (row.status, row.message_id) == ("posted", 777)
    assert await store.received(GUILD) == {"issue-1"}
    assert not await store.skip(GUILD, "2021-W09", NOW)


async def test_baseline_is_taken_once(store: SqlStore) -> None:
    await store.put_settings(DigestSettings(GUILD, 5, enabled=True, enabled_at=NOW))
    assert await store.baseline(GUILD) is None
    assert await store.take_baseline(GUILD, ["a", "b"], NOW)
    assert not await store.take_baseline(GUILD, ["a", "b", "c"], NOW + LEASE)
    assert await store.baseline(GUILD) == {"a", "b"}


async def test_a_new_database_is_refused_until_migrated(store_url: str) -> None:
    with pytest.raises(SchemaMismatch, match=r"version 0 and this newsbot needs \d+: run `newsbot migrate`"):
        await open_store(store_url)
    assert await migrate_store(store_url) == (0, SCHEMA_VERSION, describe_url(store_url))
    assert await migrate_store(store_url) == (SCHEMA_VERSION, SCHEMA_VERSION, describe_url(store_url))
    s = await open_store(store_url)
    await s.close()


async def test_concurrent_migrations_apply_each_step_once(store_url: str) -> None:
    results = await asyncio.gather(*(migrate_store(store_url) for _ in range(4)))
    assert sorted(r[0] for r in results) == [0, *[SCHEMA_VERSION] * 3]
    s = await open_store(store_url)
    try:
        assert await s.schema_version() == SCHEMA_VERSION
    finally:
        await s.close()


async def test_a_newer_schema_is_refused(store: SqlStore, store_url: str) -> None:
    await store._write(("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                        (SCHEMA_VERSION + 1, "2099-01-01T00:00:00.000000+00:00")))
    with pytest.raises(SchemaMismatch, match=r"newer than this newsbot knows.*upgrade newsbot"):
        await open_store(store_url)
    with pytest.raises(SchemaMismatch):
        await migrate_store(store_url)


def test_a_database_from_before_versioning_is_adopted(tmp_path: Path) -> None:
    """A SQLite file written by an older newsbot (tables, no schema_version): refused, then migrated in place."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO kv VALUES ('command_sync_hash', 'abc')")
    with pytest.raises(SchemaMismatch, match="run `newsbot migrate`"):
        asyncio.run(open_store(str(path), create=True))  # not empty: never migrated behind the operator's back
    out = subprocess.run([sys.executable, "-m", "bot.cli", "migrate", "--db", str(path)], capture_output=True,
                         text=True, check=True)
    assert f"migrated from version 0 to {SCHEMA_VERSION}" in out.stdout

    async def read() -> str | None:
        s = await open_store(str(path))
        try:
            return await s.get_value("command_sync_hash")
        finally:
            await s.close()

    assert asyncio.run(read()) == "abc"


def test_describe_url_never_shows_the_password() -> None:
    assert "hunter2" not in describe_url("postgresql://bot:hunter2@db:5432/newsbot?sslmode=require")


async def test_feed_state_round_trips_on_every_backend(store: SqlStore) -> None:
    from bot.store import ItemRecord

    url = "https://example.org/feed"
    assert await store.feed_sync_config([(url, "ex", "h1")], NOW) == []
    state = await store.feed_get(url)
    assert state is not None
    assert (state.name, state.failures, state.polled_ok, state.items) == ("ex", 0, False, 0)
    later = NOW + dt.timedelta(hours=1)
    await store.feed_success(url, etag='"abc"', last_modified="Thu, 01 Jan 2026 00:00:00 GMT", now=NOW,
                             next_poll=later, notes="item 'x' has no link; skipped")
    await store.feed_success(url, etag='"abc"', last_modified=None, now=NOW, next_poll=later, notes=None)  # a 304
    await store.feed_put_item(url, ItemRecord("guid-1", "feeds/ex/a.md", "h", True, "a"), NOW)
    await store.feed_put_item(url, ItemRecord("guid-1", "feeds/ex/a.md", "h2", True, "a"), later)  # changed item
    state = await store.feed_get(url)
    assert state is not None
    assert (state.etag, state.last_success, state.next_poll, state.polled_ok) == ('"abc"', NOW, later, True)
    assert state.notes == "item 'x' has no link; skipped"  # kept through the 304
    assert state.items == 1
    assert (await store.feed_items(url))["guid-1"].content_hash == "h2"
    await store.feed_failure(url, error="HTTP 500", now=later, next_poll=later, disabled_reason=None)
    await store.feed_failure(url, error="HTTP 500", now=later, next_poll=later, disabled_reason="HTTP 500 (2 ...)")
    state = await store.feed_get(url)
    assert state is not None
    assert (state.failures, state.last_error, state.disabled_reason) == (2, "HTTP 500", "HTTP 500 (2 ...)")
    assert await store.feed_sync_config([(url, "ex", "h1")], later) == []  # unchanged config: still off
    assert (await store.feed_get(url)).disabled_reason is not None  # type: ignore[union-attr]
    assert await store.feed_sync_config([(url, "renamed", "h2")], later) == [url]  # changed config: on again
    state = await store.feed_get(url)
    assert state is not None
    assert (state.name, state.failures, state.disabled_reason) == ("renamed", 0, None)
    await store.feed_failure(url, error="x", now=later, next_poll=later, disabled_reason="x (1 failure in a row)")
    assert await store.feed_retry(None, later) == [url]
    assert (await store.feed_get(url)).disabled_reason is None  # type: ignore[union-attr]
    await store.feed_add_quiet(["a", "b", "a"], NOW)
    await store.feed_add_quiet(["b"], NOW)
    assert await store.quiet_issues() == frozenset({"a", "b"})
    assert [s.url for s in await store.feed_all()] == [url]


async def test_archive_documents_round_trip_on_every_backend(store: SqlStore) -> None:
    """Schema version 5: the feed files' text, listed by path and sha256, the text fetched one by one."""
    assert await store.doc_index() == {}
    assert await store.doc_get("feeds/ex/a.md") is None
    await store.doc_put("feeds/ex/b.md", "s-b", "# B\n", NOW)
    await store.doc_put("feeds/ex/a.md", "s-a1", "# A 第一版\n", NOW)
    await store.doc_put("feeds/ex/a.md", "s-a2", "# A 第二版\n", NOW + LEASE)  # an updated item replaces its text
    assert await store.doc_index() == {"feeds/ex/a.md": "s-a2", "feeds/ex/b.md": "s-b"}
    assert await store.doc_get("feeds/ex/a.md") == ("s-a2", "# A 第二版\n")


async def test_digest_role_and_thread_settings_round_trip(store: SqlStore) -> None:
    role = 1_180_000_000_000_000_104  # a 64-bit snowflake
    settings = DigestSettings(GUILD, channel_id=5, role_id=role, thread=True)
    await store.put_settings(settings)
    await store.set_thread_error(GUILD, "missing permissions to open a thread (403)")
    got = await store.get_settings(GUILD)
    assert got is not None
    assert (got.role_id, got.thread, got.thread_error) == (role, True, "missing permissions to open a thread (403)")
    await store.set_thread_error(GUILD, None)
    assert (await store.get_settings(GUILD)).thread_error is None  # type: ignore[union-attr]


async def test_digest_publish_error_round_trips_and_survives_a_settings_change(store: SqlStore) -> None:
    await store.put_settings(DigestSettings(GUILD, channel_id=5))
    reason = "the digest was posted, but the bot may not publish it (403)"
    await store.set_publish_error(GUILD, reason)
    got = await store.get_settings(GUILD)
    assert got is not None
    assert got.publish_error == reason
    await store.put_settings(dataclasses.replace(got, weekday=3))  # an admin changes the schedule
    assert (await store.get_settings(GUILD)).publish_error == reason  # type: ignore[union-attr]
    await store.set_publish_error(GUILD, None)
    assert (await store.get_settings(GUILD)).publish_error is None  # type: ignore[union-attr]


# -- several archives (schema version 6): a guild's digest per archive, feed files per archive, a guild default --

async def test_digest_state_is_per_guild_and_archive(store_url: str, store: SqlStore) -> None:
    """Two archives' digests of one guild never share settings, claims, receipts or backlog: each scoped store
    sees only its own, and a slot is claimed exactly once per archive however many racers."""
    akira, rust = store.scoped("default"), store.scoped("rust")
    s = DigestSettings(GUILD, GUILD + 1, weekday=0, time=dt.time(9), timezone="UTC", enabled=True, enabled_at=NOW)
    await rust.put_settings(s)
    assert await akira.get_settings(GUILD) is None
    assert await akira.enabled_guilds() == []
    assert await rust.get_settings(GUILD) == s
    assert await rust.enabled_guilds() == [s]
    assert await rust.take_baseline(GUILD, ["r1"], NOW)
    assert await akira.baseline(GUILD) is None
    assert await rust.baseline(GUILD) == {"r1"}

    racers = await _stores(store_url, 6)
    try:
        won = await asyncio.gather(*(r.scoped("default" if i % 2 else "rust").claim(
            GUILD, "2021-W09", f"issue-{i}", 5, NOW, NOW + LEASE) for i, r in enumerate(racers)))
        assert sum(won) == 2  # one per archive
        assert sum(w for i, w in enumerate(won) if i % 2) == 1
    finally:
        for r in racers:
            await r.close()
    (claimed,) = await rust.claimed_rows(GUILD)
    await rust.mark_posted(GUILD, "2021-W09", claimed.issue_id or "", 77, NOW)
    assert await rust.received(GUILD) == {claimed.issue_id}
    assert await akira.received(GUILD) == frozenset()
    assert [p.status for p in await akira.posts(GUILD)] == ["claimed"]  # untouched by the other archive's post


async def test_a_guilds_default_archive_round_trips(store: SqlStore) -> None:
    assert await store.guild_archive(GUILD) is None
    await store.set_guild_archive(GUILD, "rust", NOW)
    await store.set_guild_archive(GUILD + 1, "default", NOW)
    assert await store.guild_archive(GUILD) == "rust"
    await store.set_guild_archive(GUILD, "akira", NOW)
    assert (await store.guild_archive(GUILD), await store.guild_archive(GUILD + 1)) == ("akira", "default")
    await store.set_guild_archive(GUILD, None, NOW)
    assert await store.guild_archive(GUILD) is None


async def test_feed_files_are_per_archive(store: SqlStore) -> None:
    akira, rust = store.scoped("default"), store.scoped("rust")
    await akira.doc_put("feeds/x/a.md", "s1", "one", NOW)
    await rust.doc_put("feeds/x/a.md", "s2", "two", NOW)  # the same path in another archive's folder
    assert await akira.doc_index() == {"feeds/x/a.md": "s1"}
    assert await rust.doc_get("feeds/x/a.md") == ("s2", "two")


async def _execute(store: SqlStore, sql: str) -> None:
    """One statement as an older newsbot ran it, outside the store's own statements (DDL has no row count)."""
    if isinstance(store, SqliteStore):
        await store.db.execute(sql)
        await store.db.commit()
        return
    assert isinstance(store, PostgresStore)
    async with store.pool.acquire() as conn:
        await conn.execute(sql)


async def test_an_upgrade_gives_the_old_digest_rows_to_the_default_archive(store_url: str) -> None:
    """A single-archive deployment's state from schema version 5 goes on unchanged after `newsbot migrate`: its
    settings, claims, receipts, backlog and feed files are the default archive's, and nothing is claimed twice."""
    from bot.store.schema import MIGRATIONS, VERSION_TABLE

    old = await open_store(store_url, check=False)
    t0 = "'2021-03-01T09:00:00.000000+00:00'"
    try:
        for sql in (*(sql for statements in MIGRATIONS[:5] for sql in statements), VERSION_TABLE,
                    *(f"INSERT INTO schema_version (version, applied_at) VALUES ({v}, {t0})" for v in range(1, 6)),
                    "INSERT INTO digest_settings (guild_id, channel_id, weekday, time, timezone, policy, enabled, "
                    f"enabled_at, baseline_at) VALUES ({GUILD}, 5, 0, '09:00', 'UTC', 'next', 1, {t0}, {t0})",
                    f"INSERT INTO digest_baseline (guild_id, issue_id) VALUES ({GUILD}, 'w1')",
                    "INSERT INTO digest_posts (guild_id, slot, issue_id, status, channel_id, message_id, claimed_at) "
                    f"VALUES ({GUILD}, '2021-W09', 'w2', 'posted', 5, 99, {t0})",
                    "INSERT INTO digest_received (guild_id, issue_id, slot, received_at) "
                    f"VALUES ({GUILD}, 'w2', '2021-W09', {t0})",
                    f"INSERT INTO archive_documents (path, sha256, content, updated_at) VALUES ('feeds/a.md', 's', "
                    f"'t', {t0})"):
            await _execute(old, sql)
        assert await old.schema_version() == 5
    finally:
        await old.close()
    assert (await migrate_store(store_url))[:2] == (5, SCHEMA_VERSION)
    store = await open_store(store_url)
    try:
        default, other = store.scoped("default"), store.scoped("rust")
        settings = await default.get_settings(GUILD)
        assert settings is not None
        assert settings.enabled
        assert settings.channel_id == 5
        assert await default.baseline(GUILD) == {"w1"}
        assert await default.received(GUILD) == {"w2"}
        assert not await default.claim(GUILD, "2021-W09", "w3", 5, NOW, NOW + LEASE)  # that week went out already
        assert await default.doc_index() == {"feeds/a.md": "s"}
        assert await other.get_settings(GUILD) is None
        assert await other.doc_index() == {}
    finally:
        await store.close()
