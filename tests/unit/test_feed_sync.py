"""The folder sync of a PostgreSQL deployment (bot.feeds.sync): a stored row is untrusted, so a path that is
not a plain ``feeds/…/name.md`` below the host's own ``<archive>/feeds`` is never written."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest

from bot.feeds.sync import FolderSync, text_digest

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class MemoryDocs:
    """archive_documents in memory: path -> (sha256, text)."""

    def __init__(self, docs: dict[str, tuple[str, str]] | None = None) -> None:
        self.docs = dict(docs or {})
        self.gets: list[str] = []

    async def doc_put(self, path: str, sha256: str, content: str, now: dt.datetime) -> None:
        self.docs[path] = (sha256, content)

    async def doc_index(self) -> dict[str, str]:
        return {p: sha for p, (sha, _) in sorted(self.docs.items())}

    async def doc_get(self, path: str) -> tuple[str, str] | None:
        self.gets.append(path)
        return self.docs.get(path)


def _doc(text: str) -> tuple[str, str]:
    return text_digest(text), text


HOSTILE = ("../x.md", "/etc/passwd", "feeds/../../x.md", "feeds/f/../../../x.md", "/tmp/feeds/f/x.md",
           "feeds/f/.x.md", "feeds/f/x.sh", "feeds\\f\\x.md", "feeds/x.md", "feeds//x.md")


def test_hostile_stored_paths_are_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "host" / "archive"
    outside = tmp_path / "outside"
    (root / "feeds").mkdir(parents=True)
    outside.mkdir()
    (root / "feeds" / "evil").symlink_to(outside)  # a symlinked feed folder leading out of <archive>/feeds
    (root / "feeds" / "f").mkdir()
    (root / "feeds" / "f" / "link.md").symlink_to(outside / "target.md")  # the file itself a symlink
    docs = {p: _doc("# pwned\n") for p in (*HOSTILE, "feeds/evil/x.md", "feeds/f/link.md")}
    docs["feeds/f/ok.md"] = _doc("# 第 34 期\n\n正文\n")
    docs["feeds/f/lying.md"] = ("0" * 64, "# the text does not match its sha256\n")
    sync = FolderSync(MemoryDocs(docs), root)
    with caplog.at_level(logging.WARNING, logger="bot.feeds.sync"):
        assert asyncio.run(sync.pull()) == ["feeds/f/ok.md"]
    assert (root / "feeds" / "f" / "ok.md").read_text(encoding="utf-8") == "# 第 34 期\n\n正文\n"
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "x.md").exists()
    assert not (tmp_path / "host" / "x.md").exists()
    assert not Path("/tmp/feeds/f/x.md").exists()
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    assert written == ["feeds/f/ok.md"]
    refused = [r.getMessage() for r in caplog.records]
    assert len(refused) == len(HOSTILE) + 3
    assert sum("does not match its sha256" in m for m in refused) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.feeds.sync"):
        assert asyncio.run(sync.pull()) == []
    assert caplog.records == []  # each refused row is logged once, not at every cycle


def test_pull_writes_what_is_missing_or_different_and_fetches_only_that(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    store = MemoryDocs({"feeds/f/a.md": _doc("# A\n"), "feeds/f/b.md": _doc("# B\n")})
    sync = FolderSync(store, root)
    assert asyncio.run(sync.pull()) == ["feeds/f/a.md", "feeds/f/b.md"]
    store.gets.clear()
    assert asyncio.run(sync.pull()) == []
    assert store.gets == []  # same sha256: no text fetched
    (root / "feeds" / "f" / "a.md").write_text("# A, edited by hand\n", encoding="utf-8")
    store.docs["feeds/f/b.md"] = _doc("# B, updated\n")
    assert asyncio.run(sync.pull()) == ["feeds/f/a.md", "feeds/f/b.md"]
    assert (root / "feeds" / "f" / "a.md").read_text(encoding="utf-8") == "# A\n"
    assert (root / "feeds" / "f" / "b.md").read_text(encoding="utf-8") == "# B, updated\n"


def test_the_fetching_host_publishes_files_the_store_lacks(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    (root / "feeds" / "f").mkdir(parents=True)
    (root / "feeds" / "f" / "old.md").write_text("# fetched before version 5\n", encoding="utf-8")
    (root / "hand-saved.md").write_text("# an admin's own file: not a feed file\n", encoding="utf-8")
    store = MemoryDocs()
    asyncio.run(FolderSync(store, root).first(publish=True, now=NOW))
    assert store.docs == {"feeds/f/old.md": _doc("# fetched before version 5\n")}
