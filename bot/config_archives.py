"""The archives of a deployment in the config: ``[[archives]]`` entries and their feeds (``[[archive.feeds]]``,
``[[archives.feeds]]``), parsed and checked here so :mod:`bot.config` stays one schema of sections.

How ``[archive]`` and ``[[archives]]`` combine: ``[archive]`` alone is one archive named ``default`` (the
bundled sample archive when its path is empty: zero configuration). ``[[archives]]`` lists several and replaces
``[archive]``'s path and feeds (setting both is an error naming the key); ``[archive]``'s limits
(``max_file_mb``, ``feed_*``) apply to every archive. The first ``[[archives]]`` entry is the default archive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from bot.redact import redact_url
from retrieval.errors import ConfigError
from retrieval.settings import schema


def sample_archive_dir() -> Path:
    """The bundled sample archive, found from any working directory."""
    return Path(str(files("retrieval") / "sample_archive"))


class FeedConfig(msgspec.Struct, frozen=True):
    """One ``[[archive.feeds]]`` entry: an RSS 2.0 or Atom feed whose items become archive files."""

    url: str
    name: str = ""

    @property
    def label(self) -> str:
        """What logs, stats and replies call the feed: its name, or its URL without credentials or tokens."""
        return self.name or redact_url(self.url)


DEFAULT_ARCHIVE = "default"
"""The name of the one archive of ``[archive]``. The digest state of a deployment from before several archives
(schema version 6) is this archive's: name an ``[[archives]]`` entry so to keep it."""
ARCHIVE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
"""An archive's name: what a member types or picks (``archive:rust``), so short, lowercase and slug-like."""


class ArchiveSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One ``[[archives]]`` entry: an archive of its own, with its name, folder, feeds and profile. The limits
    (``max_file_mb``, ``feed_*``) stay in ``[archive]`` and apply to every archive."""

    name: Annotated[str, Meta(description="what members pick (archive:NAME) and stats show: up to 32 lowercase "
                                          "letters, digits, - or _; the first entry is the default archive")] = ""
    path: Annotated[str, Meta(description="the archive folder; empty = the bundled sample archive")] = ""
    profile: Annotated[str, Meta(description="the newsletter's profile: a TOML file, or a bundled profile's "
                                             "name; empty = the generic reader")] = ""
    feeds: Annotated[tuple[FeedConfig, ...], Meta(
        description="[[archives.feeds]] tables (url, optional name): their items go into this archive")] = ()

    @property
    def resolved(self) -> Path:
        return Path(self.path).expanduser() if self.path else sample_archive_dir()


_ARCHIVE_KEYS = frozenset(schema(ArchiveSpec))


def archive_specs(value: Any, origin: str) -> tuple[ArchiveSpec, ...]:
    """``[[archives]]`` entries, checked one by one; an error names the file and the entry's key.

    >>> [a.name for a in archive_specs([{"name": "akira"}, {"name": "rust", "path": "/srv/twir"}], "f.toml")]
    ['akira', 'rust']
    >>> archive_specs([{"name": "akira"}, {"name": "akira", "path": "/srv/other"}], "f.toml")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: f.toml: archives[1].name: 'akira' is taken by archives[0] (names are unique)
    >>> archive_specs([{"name": "Rust Weekly"}], "f.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: f.toml: archives[0].name: 'Rust Weekly' is not a name like rust-weekly (...)
    """
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{origin}: archives: write [[archives]] tables, each with a name and a path")
    specs: list[ArchiveSpec] = []
    for i, table in enumerate(value):
        where = f"{origin}: archives[{i}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: must be a table with a name and a path")
        unknown = sorted(set(table) - _ARCHIVE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (an archive has {', '.join(_ARCHIVE_KEYS)})")
        name = table.get("name")
        if not isinstance(name, str) or not ARCHIVE_NAME.fullmatch(name):
            shown = "missing" if name is None else f"{name!r} is not a name like rust-weekly"
            raise ConfigError(f"{where}.name: {shown} (up to 32 lowercase letters, digits, - or _)")
        for key in ("path", "profile"):
            if not isinstance(table.get(key, ""), str):
                raise ConfigError(f"{where}.{key}: {table[key]!r} is not text")
        try:
            feeds = feed_configs(table.get("feeds", ()))
        except ValueError as err:
            raise ConfigError(f"{where}.feeds: {err}") from None
        spec = ArchiveSpec(name=name, path=table.get("path", "").strip(), profile=table.get("profile", "").strip(),
                           feeds=feeds)
        _unique(spec, i, specs, where)
        specs.append(spec)
    return tuple(specs)


def _unique(spec: ArchiveSpec, i: int, before: list[ArchiveSpec], where: str) -> None:
    """An archive's name, folder and feeds are its own: two archives sharing a folder would write each other's
    feed files, and a feed in two archives would be polled twice."""
    if spec.feeds and not spec.path:
        raise ConfigError(f"{where}.feeds: feed items are written into the archive folder; set its path (the bundled "
                          "sample archive is read-only)")
    for j, other in enumerate(before):
        if other.name == spec.name:
            raise ConfigError(f"{where}.name: {spec.name!r} is taken by archives[{j}] (names are unique)")
        if other.resolved == spec.resolved:
            raise ConfigError(f"{where}.path: the folder of archives[{j}] ({other.name}); each archive has its own")
        shared = {f.url for f in other.feeds} & {f.url for f in spec.feeds}
        if shared:
            raise ConfigError(f"{where}.feeds: a feed of archives[{j}] ({other.name}) too; a feed belongs to one "
                              "archive")


def feed_configs(value: Any) -> tuple[FeedConfig, ...]:
    # From TOML: a list of tables. From the environment: URLs separated by spaces or commas.
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{value!r} is not a list of [[archive.feeds]] tables")
    feeds = []
    for item in items:
        table = {"url": item} if isinstance(item, str) else item
        if not isinstance(table, Mapping) or not isinstance(table.get("url"), str):
            raise ValueError(f"{item!r}: each feed needs a url")
        if set(table) - {"url", "name"}:
            raise ValueError(f"unknown feed key {sorted(set(table) - {'url', 'name'})[0]!r} (a feed has url and name)")
        url, name = str(table["url"]).strip(), table.get("name", "")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"feed url {url!r} must start with http:// or https://")
        if not isinstance(name, str):
            raise ValueError(f"feed name {name!r} must be a string")
        feeds.append(FeedConfig(url=url, name=name.strip()))
    if len({f.url for f in feeds}) != len(feeds):
        raise ValueError("the same feed url is listed twice")
    return tuple(feeds)


