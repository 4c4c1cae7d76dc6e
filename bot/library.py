"""The current archive and its search engine, held as one object and swapped whole on reindex.

Built first by the composition root (:mod:`bot.app`) and handed to everything that reads the archive: the
service, the digest scheduler and the feed service. They read ``library.archive`` (and ``library.engine``) at
the moment they need it, so a reindex is seen by all of them at once, and no one holds a stale copy.

A deployment serves one library per configured archive (``[[archives]]``, or ``[archive]`` alone):
:class:`Libraries` holds them by name, the default first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from bot.config import ArchiveSpec, Config
from bot.errors import StoreUnavailable
from bot.results import ReindexResult
from retrieval.archive import LoadOptions, load_archive
from retrieval.errors import ArchiveError, QueryError
from retrieval.models import Archive
from retrieval.profile import load_profile
from retrieval.search import SearchEngine, SearchSettings
from retrieval.settings import SearchOptions
from retrieval.text import Analyzer, AnalyzerConfig


def search_settings(config: Config) -> SearchSettings:
    s = config.search
    # Every engine option by name, so one added to the schema reaches the engine without an edit here.
    options = {name: getattr(s, name) for name in SearchOptions.__struct_fields__}
    return SearchSettings(
        analyzer=AnalyzerConfig(userdict=s.file("userdict"), stopwords=s.file("stopwords"),
                                cache_dir=config.cache_dir),
        glossary_path=s.file("glossary"),
        **options,
    )


def load_options(config: Config, *, progress: bool = False) -> LoadOptions:
    return LoadOptions(max_file_bytes=int(config.archive.max_file_mb * 1_048_576), progress=progress,
                       userdict=config.search.file("userdict"), cache_dir=config.cache_dir)


def cache_path(db_path: Path) -> Path:
    """The query cache lives beside the state database, so a damaged cache never costs bot state."""
    return db_path.with_name(f"{db_path.stem}-cache{db_path.suffix or '.sqlite3'}")


T = TypeVar("T")
log = logging.getLogger(__name__)


async def in_daemon_thread(work: Callable[[], T], name: str = "newsbot-reindex") -> T:
    """``work()`` in a daemon thread, awaited. Unlike ``asyncio.to_thread``, whose worker threads are joined at
    exit, a shutdown (SIGTERM) never waits for it: the reindex is abandoned, its result never swapped in, and
    what it wrote to SQLite (token store, repair cache) is whole transactions or nothing."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the awaiting task was cancelled
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = work()
        except BaseException as err:  # noqa: BLE001 - not handled here: re-raised in the awaiting task
            error = err
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits for this any more
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


class Library:
    """The archive and its index. Build with :meth:`load`; :meth:`reindex` reloads both and swaps them at once.

    ``search=False`` loads the archive alone (``newsbot ingest`` only matches items against it): such a
    library has no engine, and reindexing it reloads the archive only."""

    def __init__(self, config: Config, archive: Archive, engine: SearchEngine | None,
                 spec: ArchiveSpec | None = None) -> None:
        self.config = config
        self.spec = spec or config.archive_specs[0]
        """Which archive this is: its name, folder, feeds and profile."""
        self._archive = archive
        self._engine = engine
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every reindex (the keyword alerts look for new issues then)."""
        self._listeners.append(listener)

    @classmethod
    async def load(cls, config: Config, spec: ArchiveSpec | None = None, *, progress: bool = False,
                   search: bool = True, missing_ok: bool = False) -> Library:
        """Load ``spec`` (default: the default archive) off the event loop. ``missing_ok``: a folder with no
        issue yet is an empty archive (a feed's first import), not an error."""
        spec = spec or config.archive_specs[0]
        try:
            archive, engine = await asyncio.to_thread(_load, config, spec, None, progress, search)
        except ArchiveError:
            if not missing_ok:
                raise
            archive, engine = Archive(str(spec.resolved), ()), None
        return cls(config, archive, engine, spec)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def archive(self) -> Archive:
        return self._archive

    @property
    def engine(self) -> SearchEngine:
        if self._engine is None:
            raise RuntimeError("this library was loaded without a search index (search=False)")
        return self._engine

    async def reindex(self) -> ReindexResult:
        """Reload the archive and rebuild the index in a daemon thread, then swap both at once."""
        async with self._lock:
            started = time.perf_counter()
            old = self._engine
            analyzer = old.analyzer if old is not None else None
            search = old is not None
            archive, engine = await in_daemon_thread(lambda: _load(self.config, self.spec, analyzer, False, search))
            self._archive, self._engine = archive, engine
            for listener in self._listeners:
                listener()
            changed = engine is None or old is None or engine.fingerprint != old.fingerprint
            return ReindexResult(
                issues=len(archive.newsletter_issues), entries=len(archive.entries),
                skipped=tuple(f"{s.path}: {s.reason}" for s in archive.skipped),
                seconds=time.perf_counter() - started, changed=changed,
            )

    async def reindex_tokenized(self) -> int:
        """Reindex, and say how many entries had to be tokenized (only new or changed ones)."""
        await self.reindex()
        return self._engine.tokenized_now if self._engine is not None else 0


class GuildArchives(Protocol):
    """Where each guild's default archive is kept (the shared store, :class:`bot.store.Store`)."""

    async def guild_archive(self, guild_id: int) -> str | None: ...
    async def set_guild_archive(self, guild_id: int, archive: str | None, now: dt.datetime) -> None: ...


GUILD_DEFAULT_TTL = 30.0
"""Seconds a guild's default archive is remembered: another host's change is seen within this long."""


class Libraries:
    """Every archive of the deployment by name, the default first; :meth:`resolve` finds one for a command (the
    one it names, else the guild's default, else the deployment's)."""

    def __init__(self, libraries: Sequence[Library], store: GuildArchives | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not libraries:
            raise ValueError("a deployment serves at least one archive")
        self._by_name = {lib.name: lib for lib in libraries}
        self.default = libraries[0]
        self._store = store
        self._clock = clock
        self._guild_defaults: dict[int, tuple[str | None, float]] = {}

    async def resolve(self, name: str | None, guild_id: int | None) -> Library:
        """The archive a command runs on: ``name`` if given, else the guild's default, else the deployment's.
        With one archive no store is asked."""
        if (name is not None and name.strip()) or not self.several or guild_id is None:
            return self.pick(name)
        chosen = await self.guild_default(guild_id)
        return self._by_name.get(chosen or "", self.default)

    async def guild_default(self, guild_id: int) -> str | None:
        """The guild's chosen archive (None: none, or no longer configured), remembered a little while. An
        unreachable store answers None: the deployment's default serves until it is back."""
        if self._store is None:
            return None
        cached = self._guild_defaults.get(guild_id)
        if cached is not None and self._clock() - cached[1] < GUILD_DEFAULT_TTL:
            return cached[0]
        try:
            chosen = await self._store.guild_archive(guild_id)
        except StoreUnavailable as err:
            log.warning("guild %s's default archive unknown (%s): the default archive answers", guild_id, err.detail)
            return None
        chosen = chosen if chosen in self._by_name else None
        self._guild_defaults[guild_id] = (chosen, self._clock())
        return chosen

    async def set_guild_default(self, guild_id: int, name: str | None, now: dt.datetime) -> Library:
        """``/newsbot archive-default``: the guild's default archive (None or blank: the deployment's)."""
        lib = self.pick(name)
        if self._store is None:
            raise QueryError("A server's default archive is kept in the shared state store, which this process "
                             "does not open.")
        chosen = None if name is None or not name.strip() else lib.name
        await self._store.set_guild_archive(guild_id, chosen, now)
        self._guild_defaults[guild_id] = (chosen, self._clock())
        return lib

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    @property
    def several(self) -> bool:
        """More than one archive: only then do commands show an archive option and answers name theirs."""
        return len(self._by_name) > 1

    def __iter__(self) -> Iterator[Library]:
        return iter(self._by_name.values())

    def pick(self, name: str | None) -> Library:
        r"""The archive called ``name`` (None or blank: the default). An unknown name is one line that lists the
        valid ones (the typed name clipped, on one line: it is a member's input).

        >>> libs = Libraries([_stub("akira"), _stub("rust")])
        >>> libs.pick(None).name, libs.pick(" rust ").name
        ('akira', 'rust')
        >>> libs.pick("go\nlang")
        Traceback (most recent call last):
        ...
        retrieval.errors.QueryError: No archive named “go lang”. Archives: akira, rust.
        """
        if name is None or not name.strip():
            return self.default
        lib = self._by_name.get(name.strip().lower())
        if lib is None:
            typed = " ".join(name.split())
            typed = typed if len(typed) <= 40 else typed[:39] + "…"
            raise QueryError("No archive named “{typed}”. Archives: {archives}.", typed=typed,
                             archives=", ".join(self._by_name))
        return lib

    def choices(self, current: str, limit: int = 25) -> list[str]:
        """Autocomplete for an archive option: the names that contain what was typed, the default first.

        >>> Libraries([_stub("akira"), _stub("rust"), _stub("ruanyf")]).choices("ru")
        ['rust', 'ruanyf']
        """
        current = current.strip().lower()
        return [n for n in self._by_name if current in n][:limit]


def _stub(name: str) -> Library:
    """A library without an archive loaded, for the doctests."""
    from bot.config import ArchiveSpec as Spec

    return Library(Config(), Archive(name, ()), None, Spec(name=name))


def _load(config: Config, spec: ArchiveSpec, analyzer: Analyzer | None, progress: bool,
          search: bool) -> tuple[Archive, SearchEngine | None]:
    # The archive's profile: a bundled profile's name or a TOML file; none given, the folder's own or detected.
    profile = load_profile(spec.profile) if spec.profile else None
    archive = load_archive(spec.resolved, load_options(config, progress=progress), profile=profile)
    if not search:
        return archive, None
    return archive, SearchEngine.build(archive, search_settings(config), analyzer=analyzer, progress=progress)
