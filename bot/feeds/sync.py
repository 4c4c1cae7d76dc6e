"""One source of truth across hosts: with PostgreSQL as the store, the feed files live in the store too
(table ``archive_documents``), and every host syncs its own archive folder from it.

The host that fetches (shard 0's, or ``newsbot ingest`` anywhere) puts each file it writes in the store in
the same step; every host's poll cycle first writes whatever stored document its folder lacks or holds in
another version, then the poller's folder-signature check reindexes. No host shares a filesystem with another.

A stored row is untrusted input: its path must be relative, under ``feeds/``, a ``.md`` file, free of ``..``,
empty, dot and hidden parts, and may not lead out of ``<archive>/feeds`` through a symlink; its text must match
its sha256. Anything else is refused (and logged once), never written.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.errors import StoreError
from retrieval.archive import iter_archive_files

log = logging.getLogger(__name__)

FEEDS_DIR = "feeds"
"""Feed items are written below ``<archive>/feeds/<feed>/``; the loader reads the whole tree."""


class DocStore(Protocol):
    """The part of the store the sync needs (:class:`bot.store.feeds.FeedTables`)."""

    async def doc_put(self, path: str, sha256: str, content: str, now: dt.datetime) -> None: ...
    async def doc_index(self) -> dict[str, str]: ...
    async def doc_get(self, path: str) -> tuple[str, str] | None: ...


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A hidden temp name in the same folder: the loader skips dot files, and rename is atomic there.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def text_digest(text: str) -> str:
    """The sha256 of a document's text as it is written (UTF-8): the same as the file's bytes' digest.

    >>> text_digest("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def safe_parts(rel: str) -> tuple[str, ...] | None:
    """The parts of a stored document's path, or None when it is not a plain ``feeds/…/name.md`` path.

    >>> safe_parts("feeds/medium.com-ad850cad/week-13.md")
    ('feeds', 'medium.com-ad850cad', 'week-13.md')
    >>> [safe_parts(p) for p in ("../x", "/etc/passwd", "feeds/../../x.md", "feeds/./a.md", "feeds//a.md")]
    [None, None, None, None, None]
    >>> [safe_parts(p) for p in ("feeds/a.md", "notes/f/a.md", "feeds/f/.a.md", "feeds/f/a.sh", "feeds\\\\f\\\\a.md")]
    [None, None, None, None, None]
    """
    if not rel or "\\" in rel or "\x00" in rel or rel.startswith("/"):
        return None
    parts = tuple(rel.split("/"))
    if len(parts) < 3 or parts[0] != FEEDS_DIR or not parts[-1].endswith(".md"):
        return None
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    return parts


def target_in(root: Path, rel: str) -> Path | None:
    """Where ``rel`` is written below ``root``, or None when it is unsafe: a bad path (:func:`safe_parts`), or a
    symlink on the way (or the file itself) that leads out of ``<root>/feeds``."""
    parts = safe_parts(rel)
    if parts is None:
        return None
    target = root.joinpath(*parts)
    try:
        base = (root / FEEDS_DIR).resolve()
        parent = target.parent.resolve()  # follows any symlinked folder on the way
    except (OSError, RuntimeError):  # a symlink loop
        return None
    if not parent.is_relative_to(base) or target.is_symlink():
        return None
    return parent / target.name


@dataclass
class FolderSync:
    """Keeps ``root``'s feed files equal to the store's documents (see the module's text)."""

    store: DocStore
    root: Path
    _seen: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    """Path -> (size, mtime_ns, sha256) of the files last compared, so a cycle rereads only what changed."""
    _refused: set[tuple[str, str]] = field(default_factory=set)

    async def put(self, rel: str, text: str, now: dt.datetime) -> None:
        """Put one file the poller is about to write in the store (the fetching host's half of the sync)."""
        await self.store.doc_put(rel, text_digest(text), text, now)

    async def pull(self) -> list[str]:
        """Write every stored document this folder lacks or holds in another version; the paths written."""
        written = []
        for rel, sha in (await self.store.doc_index()).items():
            target = await asyncio.to_thread(target_in, self.root, rel)
            if target is None:
                self._refuse(rel, sha, "an unsafe path")
                continue
            if await asyncio.to_thread(self._digest, rel, target) == sha:
                continue
            doc = await self.store.doc_get(rel)
            if doc is None:
                continue
            sha, text = doc
            if text_digest(text) != sha:
                self._refuse(rel, sha, "text that does not match its sha256")
                continue
            await asyncio.to_thread(write_atomic, target, text)
            written.append(rel)
        if written:
            log.info("archive folder synced from the store: %d file(s) written (%s)", len(written),
                     ", ".join(written[:3]) + (", …" if len(written) > 3 else ""))
        return written

    async def publish_missing(self, now: dt.datetime) -> list[str]:
        """Put this folder's feed files that the store lacks (a deployment upgraded from before version 5): run by
        the fetching host at start, so the others get the issues fetched before the upgrade too."""
        index = await self.store.doc_index()
        feeds = self.root / FEEDS_DIR
        paths = await asyncio.to_thread(lambda: list(iter_archive_files(feeds)) if feeds.is_dir() else [])
        put = []
        for path in paths:
            rel = path.relative_to(self.root).as_posix()
            if rel in index or safe_parts(rel) is None:
                continue
            with contextlib.suppress(OSError, UnicodeDecodeError):
                await self.put(rel, await asyncio.to_thread(path.read_text, encoding="utf-8"), now)
                put.append(rel)
        if put:
            log.info("put %d feed file(s) of this folder in the store for the other hosts", len(put))
        return put

    async def first(self, *, publish: bool, now: dt.datetime) -> None:
        """At start, before the index is built: a store that fails here is retried at every poll cycle."""
        try:
            if publish:
                await self.publish_missing(now)
            await self.pull()
        except StoreError as err:
            log.warning("archive folder not synced from the store at start (%s); next try at the first poll", err)

    def _digest(self, rel: str, target: Path) -> str | None:
        try:
            st = target.stat()
        except OSError:
            return None
        cached = self._seen.get(rel)
        if cached is not None and cached[:2] == (st.st_size, st.st_mtime_ns):
            return cached[2]
        try:
            sha = hashlib.sha256(target.read_bytes()).hexdigest()
        except OSError:
            return None
        self._seen[rel] = (st.st_size, st.st_mtime_ns, sha)
        return sha

    def _refuse(self, rel: str, sha: str, why: str) -> None:
        if (rel, sha) not in self._refused:  # once per row, not at every cycle
            self._refused.add((rel, sha))
            log.warning("archive document %r in the store has %s; not written", rel[:200], why)
