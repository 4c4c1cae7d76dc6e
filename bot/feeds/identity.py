"""Which archive file is which issue, for the poller: an item never takes over, overwrites or shadows a file that
is another issue.

An issue is known by its 原文 URL (:func:`retrieval.links.link_key`); the loader also keys issues by the URL's
last segment (the issue id), so a file with another file's issue id would shadow it (the lower path wins). The
poller therefore asks, before it writes: does another file already hold this link, or this issue id?
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.feeds.convert import ItemLimits
from bot.store import ItemRecord
from retrieval.links import link_key
from retrieval.models import Archive

log = logging.getLogger(__name__)

_SOURCE = re.compile(r"^> 原文：<([^>\n]+)>", re.MULTILINE)
_HEAD_BYTES = 4096
"""The 原文 line is in a file's first lines; reading more of each file would only cost time."""


def source_url(text: str) -> str | None:
    """The 原文 URL of an archive file's text, as the poller writes it.

    >>> source_url("# T\\n\\n> 原文：<https://x.org/a?id=1>\\n\\nbody")
    'https://x.org/a?id=1'
    >>> source_url("# no link") is None
    True
    """
    m = _SOURCE.search(text)
    return m.group(1) if m else None


def own_files(root: Path, folder: Path) -> dict[str, str]:
    """``link_key(原文 URL) → path`` of the files in a feed's own folder (read from disk, not from the state
    database, so a lost or replaced database adopts them instead of writing twins)."""
    out: dict[str, str] = {}
    base = root / folder
    if not base.is_dir():
        return out
    for path in sorted(base.glob("*.md")):
        try:
            with path.open("rb") as fh:
                head = fh.read(_HEAD_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        url = source_url(head)
        if url:
            out.setdefault(link_key(url), (folder / path.name).as_posix())
    return out


@dataclass
class Holders:
    """Files that already are an issue: another source's (hand-saved, another feed's) by link and by issue id,
    and this feed's own by link."""

    links: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    own: dict[str, str] = field(default_factory=dict)

    def other(self, key: str, issue_id: str, *, own_path: str | None = None) -> str | None:
        """The file that is already this issue, other than ``own_path`` (the item's own file)."""
        for path in (self.links.get(key), self.ids.get(issue_id), self.own.get(key)):
            if path is not None and path != own_path:
                return path
        return None


def holders(archive: Archive, own_prefix: str, own_paths: set[str], own: dict[str, str],
            written: Holders) -> Holders:
    """What the loaded archive and this cycle's other feeds (``written``) hold, outside the feed's own files."""
    found = Holders(own=own)
    for issue in archive.issues:
        path = issue.path or ""
        if path.startswith(own_prefix) or path in own_paths:
            continue
        found.ids.setdefault(issue.id, path)
        if issue.source_url:
            found.links.setdefault(link_key(issue.source_url), path)
    for mine, theirs in ((found.links, written.links), (found.ids, written.ids)):
        for key, path in theirs.items():
            if not path.startswith(own_prefix):
                mine.setdefault(key, path)
    return found


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class IngestRun:
    """One feed document being turned into files: where, what is already held, and the running tally."""

    url: str
    label: str
    first: bool
    folder: Path
    known: dict[str, ItemRecord]
    held: Holders
    written: Holders
    """What this poll cycle wrote so far (every feed)."""
    limits: ItemLimits
    taken: dict[str, str]
    skipped: list[str]
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)
    unchanged: int = 0
    converted: int = 0
    written_bytes: int = 0

    def skip(self, reason: str) -> None:
        log.warning("feed %s: %s", self.label, reason)
        self.skipped.append(reason)
