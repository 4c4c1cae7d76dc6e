"""The parsed archive, kept between starts: a restart of a large archive reads it back instead of parsing every file
again (This Week in Rust: 606 files, about 10 s of parsing on 2 cores).

A saved archive is used only when everything it was made from is unchanged: every file's path, size and
modification time, the folder's profile file, the profile given, the load options that change what is read, and
the source of the code that reads it (the parser, the profiles, the models). Anything else, a truncated or damaged
file, or one from another version, is ignored and the archive is parsed again, then saved in place of it.

The file is a pickle in newsbot's own cache folder, written atomically; only newsbot writes there (like the token
store and the saved index beside it).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path

import msgspec

from retrieval.models import Archive
from retrieval.profile import Profile

log = logging.getLogger(__name__)

FORMAT = 1
_SOURCES = ("archive.py", "models.py", "profile.py", "repair.py", "links.py", "markdown.py", "charlm.py", "parse",
            "profiles")
"""What decides the parsed result besides the files: a change to any of these makes every saved archive stale."""


@functools.cache  # the source does not change under a running process; every reindex (each feed poll) asks
def code_fingerprint() -> str:
    """A hash of the source that reads an archive (the parser, the profiles, the models).

    >>> len(code_fingerprint()), code_fingerprint() == code_fingerprint()
    (16, True)
    """
    here = Path(__file__).parent
    digest = hashlib.sha256(f"archive-cache {FORMAT}".encode())
    for name in _SOURCES:
        path = here / name
        for part in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if part.suffix in (".py", ".toml") and part.is_file():
                digest.update(part.relative_to(here).as_posix().encode())
                digest.update(part.read_bytes())
    return digest.hexdigest()[:16]


def archive_key(root: Path, files: list[Path], profile: Profile | None, options: tuple[object, ...]) -> str:
    """What a saved archive must have been made from to be used: the files as the file system sees them now
    (path, size, modification time), the folder's profile file, the profile given and the load options."""
    digest = hashlib.sha256(code_fingerprint().encode())
    digest.update(repr(options).encode())
    digest.update(msgspec.json.encode(profile) if profile is not None else b"-")
    for path in sorted(files):
        st = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class ArchiveCache:
    """One archive folder's saved parse, under ``cache_dir/archives``."""

    def __init__(self, cache_dir: Path, root: Path) -> None:
        folder = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        self.path = cache_dir / "archives" / f"{folder}.pickle"

    def load(self, key: str) -> Archive | None:
        """The saved archive if it was made from ``key``; None for a missing, stale or unreadable one."""
        try:
            with self.path.open("rb") as fh:
                saved_key, archive = pickle.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, IndexError, TypeError,
                ValueError) as err:
            log.info("saved archive %s unreadable (%s): parsing again", self.path, err)
            return None
        if saved_key != key or not isinstance(archive, Archive):
            return None
        return archive

    def save(self, key: str, archive: Archive) -> None:
        """Keep ``archive`` for the next start; a cache folder that cannot be written only costs that."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".archive-")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((key, archive), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError as err:
            log.info("could not save the parsed archive to %s: %s", self.path, err)
