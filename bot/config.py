"""Typed, immutable configuration: ``config/newsbot.toml``, then ``--config FILE``, then ``NEWSBOT_*``.

Loaded once in the entry point and passed in; nothing reads it at import time. The Discord token is
not configuration: it comes only from ``DISCORD_TOKEN`` and is never stored here.

Environment overrides are ``NEWSBOT_<SECTION>_<KEY>`` (``NEWSBOT_SEARCH_TOP_K=8``), plus the
short forms ``NEWSBOT_ARCHIVE``, ``NEWSBOT_DB``, ``NEWSBOT_API_BASE``, ``NEWSBOT_GATEWAY_URL`` and
``NEWSBOT_LOG_LEVEL``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retrieval.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGEST_POLICIES = ("next", "latest")


def config_dir() -> Path:
    """The folder of bundled default config files (``config/`` in the repository)."""
    return Path(str(files("newsbot_config")))


def sample_archive_dir() -> Path:
    """The bundled sample archive, found from any working directory."""
    return Path(str(files("retrieval") / "sample_archive"))


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One ``[[archive.feeds]]`` entry: an RSS 2.0 or Atom feed whose items become archive files."""

    url: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.url


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    path: str = ""
    """Archive folder; empty means the bundled sample archive."""
    max_file_mb: float = 8.0
    feeds: tuple[FeedConfig, ...] = ()
    feed_poll_seconds: float = 3600.0
    """How often each feed is polled (a longer Cache-Control max-age or Retry-After wins); the archive
    folder is checked for files an admin dropped in on the same beat."""
    feed_timeout_seconds: float = 30.0
    feed_max_mb: float = 5.0
    feed_max_redirects: int = 5
    feed_max_failures: int = 5
    """Consecutive failures after which a feed is disabled until ``/newsbot feed-retry`` or a config change."""

    @property
    def resolved(self) -> Path:
        return Path(self.path).expanduser() if self.path else sample_archive_dir()


@dataclass(frozen=True, slots=True)
class StorageConfig:
    url: str = ""
    """The shared state store: empty for the SQLite file at ``db_path``, or ``postgresql://user@host/db``
    (the password from the URL or the standard ``PG*`` variables)."""
    db_path: str = "~/.cache/newsbot/newsbot.sqlite3"
    """The SQLite state file (when ``url`` is empty); the local query cache always lives beside it."""
    cache_dir: str = "~/.cache/newsbot"


@dataclass(frozen=True, slots=True)
class SearchConfig:
    k1: float = 1.5
    b: float = 0.75
    delta: float = 1.0
    top_k: int = 5
    max_top_k: int = 25
    glossary_weight: float = 0.6
    cedict_weight: float = 0.5
    userdict: str = ""
    stopwords: str = ""
    glossary: str = ""

    def file(self, name: str) -> Path:
        """A term-list file: the configured path, or the bundled default."""
        value = getattr(self, name)
        default = {"userdict": "userdict.txt", "stopwords": "stopwords.txt", "glossary": "glossary.toml"}[name]
        return Path(value).expanduser() if value else config_dir() / default


@dataclass(frozen=True, slots=True)
class CacheConfig:
    ttl_seconds: int = 7 * 24 * 3600
    max_entries: int = 20_000


@dataclass(frozen=True, slots=True)
class DigestConfig:
    weekday: str = "mon"
    time: str = "09:00"
    timezone: str = "UTC"
    policy: str = "next"
    tick_seconds: float = 60.0
    """How often each process looks for due digests."""


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    guild_ids: tuple[int, ...] = ()
    """Guilds to sync commands to (instant); empty means a global sync."""
    ask_cooldown_seconds: float = 5.0
    api_base: str = ""
    """REST base URL override (a proxy in production, a fake Discord in tests)."""
    gateway_url: str = ""
    start_retry_seconds: float = 300.0
    """How long ``newsbot run`` keeps retrying, with back-off, when Discord cannot be reached at start."""
    identify_queue_url: str = ""
    """A gateway-queue (twilight's) that every shard process asks before IDENTIFY, so hosts share
    ``max_concurrency`` and the daily IDENTIFY budget; empty = discord.py's own pacing."""


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True, slots=True)
class Config:
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    @property
    def db_path(self) -> Path:
        return Path(self.storage.db_path).expanduser()

    @property
    def storage_url(self) -> str:
        """``storage.url``, or the SQLite path when it is empty.

        >>> Config(storage=StorageConfig(url="", db_path="/tmp/x.sqlite3")).storage_url
        '/tmp/x.sqlite3'
        """
        return self.storage.url.strip() or str(self.db_path)

    @property
    def cache_dir(self) -> Path:
        return Path(self.storage.cache_dir).expanduser()


_NOT_CONFIG_ENV = frozenset({"NEWSBOT_SHARED", "NEWSBOT_HISTORY", "NEWSBOT_TEST_CLOCK"})
"""NEWSBOT_* variables that are not configuration: the test suite's shared folder, the console's history
file, and the tests' digest clock (:func:`bot.discord_adapter.launcher.test_clock`)."""

_SHORT_ENV = {
    "NEWSBOT_ARCHIVE": ("archive", "path"),
    "NEWSBOT_DB": ("storage", "db_path"),
    "NEWSBOT_API_BASE": ("discord", "api_base"),
    "NEWSBOT_GATEWAY_URL": ("discord", "gateway_url"),
    "NEWSBOT_LOG_LEVEL": ("logging", "level"),
}


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None,
                **overrides: Any) -> Config:
    """Bundled defaults, then ``path``, then environment, then keyword overrides (``archive__path=...``).

    >>> load_config(env={}).search.top_k
    5
    >>> load_config(env={"NEWSBOT_SEARCH_TOP_K": "8"}).search.top_k
    8
    >>> load_config(env={"NEWSBOT_SEARCH_TOPK": "8"})
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: NEWSBOT_SEARCH_TOPK: unknown key 'search.topk'
    """
    env = os.environ if env is None else env
    raw: dict[str, dict[str, Any]] = {}
    _merge(raw, _read_toml(config_dir() / "newsbot.toml"), "newsbot.toml")
    if path is not None:
        _merge(raw, _read_toml(path), str(path))
    for name, value in env.items():
        if not name.startswith("NEWSBOT_") or name in _NOT_CONFIG_ENV:
            continue
        if name in _SHORT_ENV:
            section, key = _SHORT_ENV[name]
        else:
            section, _, key = name.removeprefix("NEWSBOT_").lower().partition("_")
            if not key:
                raise ConfigError(f"{name}: expected NEWSBOT_<SECTION>_<KEY>")
        _merge(raw, {section: {key: value}}, name)
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, _, key = dotted.partition("__")
        _merge(raw, {section: {key: value}}, f"--{key.replace('_', '-')}")
    return _build(raw)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a TOML config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (a TOML config file must be UTF-8)") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from None


def _merge(raw: dict[str, dict[str, Any]], new: Mapping[str, Any], origin: str) -> None:
    hints = get_type_hints(Config)
    for section, values in new.items():
        if section not in hints:
            raise ConfigError(f"{origin}: unknown section [{section}]")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        allowed = {f.name: f for f in dataclasses.fields(hints[section])}
        for key, value in values.items():
            if key not in allowed:
                raise ConfigError(f"{origin}: unknown key '{section}.{key}'")
            raw.setdefault(section, {})[key] = (value, origin)


def _build(raw: dict[str, dict[str, Any]]) -> Config:
    hints = get_type_hints(Config)
    sections: dict[str, Any] = {}
    for section, cls in hints.items():
        field_types = get_type_hints(cls)
        kwargs = {
            key: _coerce(value, field_types[key], f"{origin}: {section}.{key}")
            for key, (value, origin) in raw.get(section, {}).items()
        }
        sections[section] = cls(**kwargs)
    config = Config(**sections)
    _validate(config)
    return config


def _coerce(value: Any, target: Any, where: str) -> Any:
    try:
        if target is bool:
            if isinstance(value, str):
                if value.lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                    raise ValueError(value)
                return value.lower() in {"1", "true", "yes", "on"}
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        if target is int:
            return _integer(value)
        if target is float:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if not math.isfinite(number):  # inf and nan pass every range check, then break arithmetic
                raise ValueError(value)
            return number
        if target is str:
            if not isinstance(value, str):
                raise ValueError(value)
            return value
        if target == tuple[FeedConfig, ...]:
            try:
                return _feeds(value)
            except ValueError as err:
                raise ConfigError(f"{where}: {err}") from None
        if target == tuple[int, ...]:
            items = value.replace(",", " ").split() if isinstance(value, str) else value
            if not isinstance(items, list | tuple):
                raise ValueError(value)
            return tuple(_integer(v) for v in items)
    except (TypeError, ValueError):
        kind = "list of whole numbers" if target == tuple[int, ...] else getattr(target, "__name__", target)
        raise ConfigError(f"{where}: {value!r} is not a valid {kind}") from None
    raise ConfigError(f"{where}: unsupported type")


def _integer(value: Any) -> int:
    """A whole number from TOML or text; never a float (``1.5`` must not become ``1``) nor a bool.

    >>> _integer("42"), _integer(7)
    (42, 7)
    >>> _integer(1.5)
    Traceback (most recent call last):
    ...
    ValueError: 1.5
    """
    if isinstance(value, bool | float):
        raise ValueError(value)
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]+", text):  # int() also takes "1_0" and non-ASCII digits
            raise ValueError(value)
        return int(text)
    if not isinstance(value, int):
        raise ValueError(value)
    return value


def _feeds(value: Any) -> tuple[FeedConfig, ...]:
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


def _validate(config: Config) -> None:
    s = config.search
    checks = [
        (s.k1 > 0, "search.k1: must be > 0"),
        (0 <= s.b <= 1, "search.b: must be between 0 and 1"),
        (s.delta >= 0, "search.delta: must be >= 0"),
        (1 <= s.top_k <= s.max_top_k <= 25, "search.top_k: must be between 1 and search.max_top_k (<= 25)"),
        # Below 1: a rendering must weigh less than what was typed (Glossary.expand refuses 1 on every query).
        (0 <= s.glossary_weight < 1, "search.glossary_weight: must be at least 0 and below 1"),
        (0 <= s.cedict_weight < 1, "search.cedict_weight: must be at least 0 and below 1"),
        (config.archive.max_file_mb > 0, "archive.max_file_mb: must be > 0"),
        (config.archive.feed_poll_seconds > 0, "archive.feed_poll_seconds: must be > 0"),
        (config.archive.feed_timeout_seconds > 0, "archive.feed_timeout_seconds: must be > 0"),
        (config.archive.feed_max_mb > 0, "archive.feed_max_mb: must be > 0"),
        (config.archive.feed_max_redirects >= 0, "archive.feed_max_redirects: must be >= 0"),
        (config.archive.feed_max_failures >= 1, "archive.feed_max_failures: must be >= 1"),
        (not config.archive.feeds or bool(config.archive.path),
         "archive.feeds: feed items are written into the archive folder; set archive.path (the bundled sample "
         "archive is read-only)"),
        (config.cache.ttl_seconds > 0, "cache.ttl_seconds: must be > 0"),
        (config.cache.max_entries > 0, "cache.max_entries: must be > 0"),
        (config.digest.weekday in WEEKDAYS, f"digest.weekday: must be one of {', '.join(WEEKDAYS)}"),
        (config.digest.policy in DIGEST_POLICIES, f"digest.policy: must be one of {', '.join(DIGEST_POLICIES)}"),
        (config.discord.ask_cooldown_seconds >= 0, "discord.ask_cooldown_seconds: must be >= 0"),
        (config.discord.start_retry_seconds >= 0, "discord.start_retry_seconds: must be >= 0"),
        (config.digest.tick_seconds > 0, "digest.tick_seconds: must be > 0"),
        (config.logging.level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"},
         "logging.level: must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    ids = config.discord.guild_ids
    if any(not 0 < gid < 2**63 for gid in ids):
        raise ConfigError(f"discord.guild_ids: {list(ids)}: a guild id is a positive snowflake")
    _check_storage_url(config.storage.url)
    _check_url("discord.api_base", config.discord.api_base, ("http", "https"))
    _check_url("discord.gateway_url", config.discord.gateway_url, ("ws", "wss", "http", "https"))
    for key, check in (("digest.time", parse_time_of_day), ("digest.timezone", parse_timezone)):
        try:
            check(getattr(config.digest, key.partition(".")[2]))
        except ConfigError as err:
            raise ConfigError(f"{key}: {err}") from None


def _check_storage_url(url: str) -> None:
    """Only PostgreSQL URLs: anything else would silently become a SQLite file named after the URL.

    The message never repeats the URL, which may hold a password.

    >>> _check_storage_url(""); _check_storage_url("postgresql:///newsbot?host=/run/postgresql")
    >>> _check_storage_url("mysql://bot:pw@db/newsbot")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: storage.url: a mysql:// URL is not supported (use postgresql://, or empty for SQLite)
    >>> _check_storage_url("state.db")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: storage.url: not a postgresql:// URL (leave it empty for SQLite at storage.db_path)
    """
    url = url.strip()
    if not url:
        return
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        return
    if scheme:
        raise ConfigError(f"storage.url: a {scheme}:// URL is not supported (use postgresql://, or empty "
                          "for SQLite)")
    raise ConfigError("storage.url: not a postgresql:// URL (leave it empty for SQLite at storage.db_path)")


def _check_url(key: str, url: str, schemes: tuple[str, ...]) -> None:
    """An override URL must be absolute with a host, or discord.py fails later with a traceback.

    >>> _check_url("discord.api_base", "http://127.0.0.1:8080/api/v10", ("http", "https"))
    >>> _check_url("discord.api_base", "127.0.0.1:8080", ("http", "https"))
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: discord.api_base: '127.0.0.1:8080' is not a URL like http://host[:port]/path
    """
    if not url:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        ok = parts.scheme in schemes and bool(parts.hostname) and not any(c.isspace() for c in url)
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"{key}: {url!r} is not a URL like {schemes[0]}://host[:port]/path")


_TIME_OF_DAY = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def parse_time_of_day(text: str) -> dt.time:
    """``HH:MM`` in 24-hour form, ASCII digits only (``int()`` would also take ``-0``, ``1_0`` and ``٠٩``).

    >>> parse_time_of_day("09:30")
    datetime.time(9, 30)
    >>> parse_time_of_day("25:00")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: time of day must be HH:MM (24-hour), got '25:00'
    >>> parse_time_of_day("٠٩:٣٠")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: time of day must be HH:MM (24-hour), got '٠٩:٣٠'
    """
    m = _TIME_OF_DAY.fullmatch(text.strip())
    try:
        if m is None:
            raise ValueError(text)
        return dt.time(int(m.group(1)), int(m.group(2)))
    except ValueError:
        raise ConfigError(f"time of day must be HH:MM (24-hour), got {text!r}") from None


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA time zone.

    >>> parse_timezone("Europe/Berlin").key
    'Europe/Berlin'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder, a long name too long
        raise ConfigError(f"unknown IANA time zone {name!r} (try e.g. Europe/Berlin or Asia/Tokyo)") from None
