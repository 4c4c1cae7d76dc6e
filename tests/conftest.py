"""Shared fixtures.

``corpus_dir`` points at ``../shared/corpus`` beside the repository root. Tests that need it skip
cleanly on a fresh clone, and fail loudly under CI (``CI`` set), where the corpus must be present.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bot.store import SqlStore

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSBOT_SHARED", REPO_ROOT.parent / "shared"))


def _corpus_root() -> Path:
    corpus = SHARED / "corpus"
    if not (corpus / "akira").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the shared corpus is missing at {corpus}")
        pytest.skip(f"shared corpus not found at {corpus}")
    return corpus


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """``../shared/corpus`` (with ``akira/``, ``seeds/`` and ``stress/``)."""
    return _corpus_root()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # No test may see a real token or a developer's overrides.
    for name in list(os.environ):
        if name == "DISCORD_TOKEN" or (name.startswith("NEWSBOT_") and name != "NEWSBOT_SHARED"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the session: jieba's dictionary cache and the CC-CEDICT index are built once."""
    return tmp_path_factory.mktemp("newsbot-cache")


@pytest.fixture
def sample_config(tmp_path: Path, shared_cache_dir: Path):  # type: ignore[no-untyped-def]
    """Config for the bundled sample archive, with state and cache in temporary folders."""
    from bot.config import load_config

    return load_config(env={}, storage__cache_dir=str(shared_cache_dir),
                       storage__db_path=str(tmp_path / "state.sqlite3"))


@pytest.fixture
async def fake():  # type: ignore[no-untyped-def]
    """A fake Discord on 127.0.0.1, with discord.py pointed at it for the test."""
    from fake_discord import FakeDiscord, point_discord_py_at

    async with FakeDiscord() as server:
        with point_discord_py_at(server):
            yield server


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """A throwaway PostgreSQL cluster for the session (tests/support/pgserver.py), removed afterwards. Skipped where no
    PostgreSQL binaries (or asyncpg) are installed; required when ``CI`` is set."""
    from pgserver import PgServer, find_bindir

    bindir = find_bindir()
    missing = "PostgreSQL binaries (initdb, pg_ctl)" if bindir is None else ""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        missing = missing or "asyncpg (pip install -e '.[postgres]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {missing} is missing")
        pytest.skip(f"{missing} not found")
    assert bindir is not None
    server = PgServer(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty state database on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "state.sqlite3")
    return str(request.getfixturevalue("pg_server").new_database())


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    """That database migrated and open, on each backend; closed after the test."""
    from bot.store import migrate_store, open_store

    await migrate_store(store_url)
    s = await open_store(store_url)
    try:
        yield s
    finally:
        await s.close()
