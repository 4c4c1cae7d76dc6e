"""The query cache against real SQLite files: TTL, size bound, counters, and every way the file can go bad."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest
from clock import Clock

from retrieval.cache import QueryCache, cache_key


@pytest.fixture
def clock() -> Clock[float]:
    return Clock(1_000_000.0)


def make(path: Path, clock: Clock, *, ttl: float = 100, max_entries: int = 50) -> QueryCache:
    return QueryCache(path, ttl_seconds=ttl, max_entries=max_entries, clock=clock)


async def test_round_trip_and_counters_survive_restart(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        assert await cache.get("k") is None
        await cache.put("k", {"hits": ["issue#1"], "q": "变压器"})
        assert await cache.get("k") == {"hits": ["issue#1"], "q": "变压器"}
        assert (cache.stats.hits, cache.stats.misses, cache.stats.status) == (1, 1, "ok")
    async with make(db, clock) as cache:
        assert await cache.get("k") == {"hits": ["issue#1"], "q": "变压器"}
        assert (cache.stats.hits, cache.stats.misses) == (2, 1)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_hit_is_read_without_a_hand_off_to_aiosqlite(tmp_path: Path, clock: Clock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Each trip to aiosqlite's thread and back costs 0.1-0.3 ms on an idle machine, several times the rest of a hit.
    async with make(tmp_path / "c.sqlite3", clock) as cache:
        await cache.put("k", {"q": "变压器"})
        assert cache._db is not None

        async def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("a hit went through aiosqlite's thread")

        monkeypatch.setattr(cache._db, "_execute", refuse)
        try:
            hit, miss = await cache.get("k"), await cache.get("absent")
        finally:
            monkeypatch.undo()  # closing goes through aiosqlite's thread
        assert (hit, miss) == ({"q": "变压器"}, None)
        await cache.put("k2", 2)  # written by aiosqlite, seen by the next read
        assert await cache.get("k2") == 2


async def test_ttl_expires_entries(tmp_path: Path, clock: Clock) -> None:
    async with make(tmp_path / "c.sqlite3", clock, ttl=10) as cache:
        await cache.put("k", 1)
        clock.now += 11
        assert await cache.get("k") is None


async def test_size_bound_evicts_least_recently_used(tmp_path: Path, clock: Clock) -> None:
    async with make(tmp_path / "c.sqlite3", clock, max_entries=5) as cache:
        for i in range(12):
            clock.now += 1
            await cache.put(f"k{i}", i)
            if i == 3:
                clock.now += 1
                assert await cache.get("k0") == 0  # touched: survives eviction
        assert cache.stats.entries <= 5
        assert await cache.get("k11") == 11
        assert await cache.get("k1") is None


async def test_key_depends_on_fingerprint_and_filters() -> None:
    assert cache_key("q", {"issue": "34"}, "a") != cache_key("q", {"issue": "18"}, "a")
    assert cache_key("q", {}, "a") != cache_key("q", {}, "b")


async def test_corrupt_file_is_moved_aside_and_rebuilt(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    async with make(db, clock) as cache:
        assert cache.stats.status.startswith("rebuilt")
        await cache.put("k", 1)
        assert await cache.get("k") == 1
    assert any(p.name.startswith("c.sqlite3.corrupt-") for p in tmp_path.iterdir())


async def test_corruption_while_running_gives_miss_then_rebuild(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        await cache.put("k", 1)
        # Overwrite the file under the open connection, as a disk fault or careless admin would.
        with db.open("r+b") as fh:
            fh.write(b"garbage!" * 512)
        value = await cache.get("k")
        assert value in (None, 1)  # never anything else
        await cache.put("k2", 2)
        assert await cache.get("k2") in (None, 2)


async def test_damaged_row_is_never_returned(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        await cache.put("k", {"answer": 42})
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE query_cache SET payload = ? WHERE key = 'k'", ('{"key": "other", "value": 1}',))
        conn.execute("INSERT INTO query_cache VALUES ('j', '{not json', 1e6, 1e6)")
    async with make(db, clock) as cache:
        assert await cache.get("k") is None
        assert await cache.get("j") is None


async def test_deleted_file_is_recreated(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        await cache.put("k", 1)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        assert await cache.get("k") is None
        assert "deleted" in cache.stats.status
        await cache.put("k", 2)
        assert await cache.get("k") == 2
    assert db.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
async def test_read_only_file_answers_uncached(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        await cache.put("k", 1)
    db.chmod(0o444)
    async with make(db, clock) as cache:
        await cache.put("k2", 2)
        assert await cache.get("k2") is None


async def test_read_only_database_via_query_only(tmp_path: Path, clock: Clock) -> None:
    # Works as root too: SQLite's query_only pragma makes every write fail like a read-only file.
    async with make(tmp_path / "c.sqlite3", clock) as cache:
        await cache.put("k", 1)
        assert cache._db is not None
        await cache._db.execute("PRAGMA query_only = ON")
        await cache.put("k2", 2)
        assert "read-only" in cache.stats.status or "readonly" in cache.stats.status
        assert await cache.get("k2") is None


async def test_locked_by_another_process_answers_uncached(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        await cache.put("k", 1)
        other = sqlite3.connect(db, timeout=0.1)
        try:
            other.execute("BEGIN EXCLUSIVE")
            await cache.put("k2", 2)  # must not raise or hang
            assert "locked" in cache.stats.status
        finally:
            other.rollback()
            other.close()
        await cache.put("k3", 3)
        assert await cache.get("k3") == 3


async def test_unopenable_path_disables_cache(tmp_path: Path, clock: Clock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    async with make(blocker / "sub" / "c.sqlite3", clock) as cache:
        assert cache.stats.status.startswith("cache unavailable")
        await cache.put("k", 1)
        assert await cache.get("k") is None


async def test_concurrent_queries_are_safe(tmp_path: Path, clock: Clock) -> None:
    async with make(tmp_path / "c.sqlite3", clock, max_entries=1000) as cache:
        async def worker(i: int) -> None:
            await cache.put(f"k{i % 20}", i % 20)
            assert await cache.get(f"k{i % 20}") == i % 20

        await asyncio.gather(*(worker(i) for i in range(200)))
        assert cache.stats.errors == 0


async def test_status_says_when_a_lock_has_passed(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        other = sqlite3.connect(db, timeout=0.1)
        other.execute("BEGIN EXCLUSIVE")
        await cache.put("k", 1)
        assert cache.stats.status.startswith("degraded")
        other.rollback()
        other.close()
        await cache.put("k", 2)
        assert cache.stats.status.startswith("ok (recovered from: database locked")


async def test_a_failed_write_does_not_leave_the_cache_stuck(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        other = sqlite3.connect(db, timeout=0.1)
        other.execute("BEGIN IMMEDIATE")
        await cache.put("k", 1)  # fails: locked
        other.commit()
        assert await cache.get("k") is None
        other.execute("INSERT INTO query_cache VALUES ('x', ?, 1e6, 1e6)", ('{"key": "x", "value": 9}',))
        other.commit()
        other.close()
        for n in range(3):
            await cache.put(f"n{n}", n)
            assert await cache.get(f"n{n}") == n
        assert await cache.get("x") == 9  # another process's write is visible: no stale snapshot


async def test_put_later_is_kept_when_the_cache_closes_at_once(tmp_path: Path, clock: Clock) -> None:
    # The answer path hands its write to a task and answers first; a shutdown right after must not lose it.
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        for i in range(20):
            cache.put_later(f"k{i}", {"n": i})
        assert cache._pending  # started, not finished: the caller did not wait
    async with make(db, clock) as cache:
        assert [await cache.get(f"k{i}") for i in range(20)] == [{"n": i} for i in range(20)]


async def test_drain_waits_for_put_later(tmp_path: Path, clock: Clock) -> None:
    async with make(tmp_path / "c.sqlite3", clock) as cache:
        cache.put_later("k", [1, 2])
        await cache.drain()
        assert not cache._pending
        assert await cache.get("k") == [1, 2]


async def test_get_answers_an_unwritten_put_later_without_waiting_for_its_write(tmp_path: Path,
                                                                                clock: Clock) -> None:
    # The next question must not wait for the last answer's write: until it is committed, it is served from memory.
    db = tmp_path / "c.sqlite3"
    async with make(db, clock) as cache:
        cache.put_later("k", {"n": 1})
        assert await cache.get("k") == {"n": 1}
        assert cache._pending  # the write has not been waited for
        assert cache.stats.hits == 1
        await cache.drain()
        assert not cache._unwritten
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM query_cache WHERE key = 'k'").fetchone()[0] == 1
        assert await cache.get("k") == {"n": 1}  # now from the file


async def test_put_later_during_a_write_goes_into_the_next_one(tmp_path: Path, clock: Clock) -> None:
    async with make(tmp_path / "c.sqlite3", clock) as cache:
        cache.put_later("a", 1)
        await asyncio.sleep(0)  # the writer task starts and hands its batch to aiosqlite
        cache.put_later("b", 2)
        cache.put_later("c", 3)
        assert len(cache._pending) == 1  # one writer, not one task per answer
        await cache.drain()
        assert not cache._unwritten
        assert not cache._pending
        assert [await cache.get(k) for k in "abc"] == [1, 2, 3]


async def test_a_put_later_that_cannot_be_written_is_dropped_not_retried(tmp_path: Path, clock: Clock) -> None:
    async with make(tmp_path / "c.sqlite3", clock) as cache:
        cache.put_later("bad", {1, 2})  # not JSON: the write fails
        await cache.drain()
        assert not cache._unwritten
        cache.put_later("good", 1)
        await cache.drain()
        assert await cache.get("good") == 1
        assert await cache.get("bad") is None


async def test_put_later_writes_the_answers_of_its_delay_in_one_transaction(tmp_path: Path, clock: Clock,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[str]] = []
    async with make(tmp_path / "c.sqlite3", clock) as cache:
        cache.write_delay = 0.05
        real = cache._put_many

        async def counted(db: object, values: dict[str, object]) -> None:
            batches.append(list(values))
            await real(db, values)  # type: ignore[arg-type]

        monkeypatch.setattr(cache, "_put_many", counted)
        for i in range(5):
            cache.put_later(f"k{i}", i)
            await asyncio.sleep(0)  # the writer is waiting, not writing
        assert batches == []
        await asyncio.gather(*cache._pending)  # not drain(): the writer ends its wait on its own
        assert batches == [[f"k{i}" for i in range(5)]]
        assert not cache._unwritten
        assert [await cache.get(f"k{i}") for i in range(5)] == list(range(5))
