"""Typed, immutable configuration: ``config/newsbot.toml``, then ``--config FILE``, then ``NEWSBOT_*``.

Loaded once in the entry point and passed in; nothing reads it at import time. The Discord token is
not configuration: it comes only from ``DISCORD_TOKEN`` and is never stored here.

Environment overrides are ``NEWSBOT_<SECTION>_<KEY>`` (``NEWSBOT_SEARCH_TOP_K=8``), plus the
short forms ``NEWSBOT_ARCHIVE``, ``NEWSBOT_DB``, ``NEWSBOT_API_BASE``, ``NEWSBOT_GATEWAY_URL`` and
``NEWSBOT_LOG_LEVEL``.

The schema is the ``Struct`` classes below (the ``[search]`` section composes
:class:`retrieval.settings.SearchOptions`): each field's type, default, range and description. Values are
checked one by one as they are merged, so an error names the file, variable or flag a bad value came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from bot.config_archives import (
    DEFAULT_ARCHIVE,
    archive_specs,
    feed_configs,
)
from bot.config_archives import (
    ArchiveSpec as ArchiveSpec,  # re-exported: the config's types are bot.config's
)
from bot.config_archives import (
    FeedConfig as FeedConfig,
)
from bot.config_archives import (
    sample_archive_dir as sample_archive_dir,
)
from bot.timeparse import parse_new_timezone, parse_time_of_day
from retrieval.errors import ConfigError
from retrieval.settings import SearchOptions, WrongType, integer, parse, schema

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DigestPolicy = Literal["next", "latest"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
DIGEST_POLICIES: tuple[str, ...] = get_args(DigestPolicy)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def config_dir() -> Path:
    """The folder of bundled default config files (``config/`` in the repository)."""
    return Path(str(files("newsbot_config")))


# Every number has a floor and a ceiling: an absurd value (1e308 MB, a poll every millisecond) is refused
# with the key's name instead of overflowing or hammering a server.
MAX_MB = 1024.0
HOUR_SECONDS, DAY_SECONDS = 3600, 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
MIN_POLL_SECONDS = 1.0
"""One poll a second at most: the end-to-end feed scenario (tests/support/feed_scenario.py) polls that fast."""

# The schema: every setting's type, default, range (Meta) and one-line description. config/newsbot.toml
# repeats each default with a comment, and tests/unit/test_settings.py checks that the two agree.

class ArchiveConfig(msgspec.Struct, frozen=True, kw_only=True):
    path: Annotated[str, Meta(description="archive folder; empty = the bundled sample archive")] = ""
    max_file_mb: Annotated[float, Meta(gt=0, le=MAX_MB, description="larger files are skipped with a warning")] = 8.0
    feed_poll_seconds: Annotated[float, Meta(
        ge=MIN_POLL_SECONDS, le=WEEK_SECONDS,
        description="poll each feed (and look for new files in the folder) this often; a longer "
                    "Cache-Control max-age or Retry-After from the server wins")] = 3600.0
    feed_timeout_seconds: Annotated[float, Meta(
        gt=0, le=HOUR_SECONDS,
        description="a feed that has not answered completely by then counts as a failure")] = 30.0
    feed_max_mb: Annotated[float, Meta(gt=0, le=MAX_MB, description="a larger feed body is refused")] = 5.0
    feed_max_redirects: Annotated[int, Meta(ge=0, le=20, description="redirects followed per feed request")] = 5
    feed_max_failures: Annotated[int, Meta(
        ge=1, le=1000, description="consecutive failures before a feed is disabled (until /newsbot feed-retry)")] = 5
    feed_item_max_kb: Annotated[int, Meta(
        ge=1, le=65536, description="a feed item whose markdown would be larger is skipped")] = 1024
    feed_max_items: Annotated[int, Meta(
        ge=1, le=100000, description="items one feed may add or update per poll; the rest are skipped")] = 500
    feed_poll_max_mb: Annotated[float, Meta(
        gt=0, le=10000, description="markdown one feed may write per poll; the items after that are skipped")] = 50.0
    feed_max_files: Annotated[int, Meta(
        ge=1, le=1_000_000, description="files one feed may hold in the archive; its new items past that are "
                                       "skipped (updates go on), so a feed's disk use is bounded")] = 20000
    feeds: Annotated[tuple[FeedConfig, ...], Meta(
        description="[[archive.feeds]] tables (url, optional name), or URLs separated by spaces or commas")] = ()

    @property
    def resolved(self) -> Path:
        return Path(self.path).expanduser() if self.path else sample_archive_dir()


class StorageConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: Annotated[str, Meta(
        description="shared state: empty = the SQLite file db_path; or postgresql://user@host/db (the password "
                    "from the URL or the standard PG* variables)")] = ""
    db_path: Annotated[str, Meta(
        description="SQLite state (when url is empty); the query cache sits beside it",
    )] = "~/.cache/newsbot/newsbot.sqlite3"
    cache_dir: Annotated[str, Meta(
        description="jieba cache, tokenized index, CC-CEDICT index")] = "~/.cache/newsbot"


class SearchConfig(SearchOptions, frozen=True, kw_only=True):
    """``[search]``: the engine's options (ranges and defaults in :mod:`retrieval.settings`) plus the bot's."""

    top_k: Annotated[int, Meta(ge=1, le=25, description="results per /ask unless the user asks for more")] = 5
    max_top_k: Annotated[int, Meta(ge=1, le=25, description="the most results one /ask may ask for")] = 25
    userdict: Annotated[str, Meta(description="jieba user dictionary; empty = config/userdict.txt")] = ""
    stopwords: Annotated[str, Meta(description="stop word list; empty = config/stopwords.txt")] = ""
    glossary: Annotated[str, Meta(description="bilingual glossary; empty = config/glossary.toml")] = ""

    def file(self, name: str) -> Path:
        """A term-list file: the configured path, or the bundled default."""
        value = getattr(self, name)
        default = {"userdict": "userdict.txt", "stopwords": "stopwords.txt", "glossary": "glossary.toml"}[name]
        return Path(value).expanduser() if value else config_dir() / default


class CacheConfig(msgspec.Struct, frozen=True, kw_only=True):
    ttl_seconds: Annotated[int, Meta(
        gt=0, le=365 * DAY_SECONDS, description="how long a cached answer is served")] = 7 * 24 * 3600
    max_entries: Annotated[int, Meta(gt=0, le=10_000_000, description="cached answers kept (oldest go first)")] = 20_000


class DigestConfig(msgspec.Struct, frozen=True, kw_only=True):
    weekday: Annotated[Weekday, Meta(description="day of the weekly digest, mon..sun")] = "mon"
    time: Annotated[str, Meta(description="local time of day, 24-hour HH:MM")] = "09:00"
    timezone: Annotated[str, Meta(description="IANA name, e.g. Europe/Berlin")] = "UTC"
    policy: Annotated[DigestPolicy, Meta(
        description="next: replay the archive week by week; latest: post only new issues")] = "next"
    tick_seconds: Annotated[float, Meta(
        ge=0.1, le=HOUR_SECONDS, description="how often each process looks for due digests")] = 60.0


class AlertsConfig(msgspec.Struct, frozen=True, kw_only=True):
    min_score: Annotated[float, Meta(
        ge=0, le=1000, description="an entry of a new issue alerts a subscriber when its search score for the "
                                   "query (BM25+, as /ask ranks) is at least this")] = 4.0
    max_per_member: Annotated[int, Meta(
        ge=1, le=25, description="keyword alerts one member may hold (each gets a remove button; 25 at most)")] = 10
    max_matches: Annotated[int, Meta(ge=1, le=25, description="matching items listed in one alert message")] = 5
    send_interval_seconds: Annotated[float, Meta(
        ge=0, le=60, description="pause between two alert messages a process sends (under Discord's limits)")] = 1.0


class DiscordConfig(msgspec.Struct, frozen=True, kw_only=True):
    guild_ids: Annotated[tuple[int, ...], Meta(
        description="sync commands to these guilds (instant); empty = global sync")] = ()
    operator_ids: Annotated[tuple[int, ...], Meta(
        description="Discord user ids allowed reindex, feed-retry and feed stats, besides the application's owner "
                    "or team")] = ()
    ask_cooldown_seconds: Annotated[float, Meta(
        ge=0, le=HOUR_SECONDS, description="per-user pause between two /ask")] = 5.0
    api_base: Annotated[str, Meta(
        description="REST base override (a proxy, or a fake Discord in tests); NEWSBOT_API_BASE")] = ""
    gateway_url: Annotated[str, Meta(description="gateway override; NEWSBOT_GATEWAY_URL")] = ""
    start_retry_seconds: Annotated[float, Meta(
        ge=0, le=HOUR_SECONDS,
        description="Discord unreachable at start: retry with back-off this long, then exit 1")] = 300.0
    identify_queue_url: Annotated[str, Meta(
        description="a gateway-queue every shard process asks before IDENTIFY, so hosts share max_concurrency "
                    "and the daily budget; empty = discord.py's own pacing")] = ""


class LoggingConfig(msgspec.Struct, frozen=True, kw_only=True):
    level: Annotated[str, Meta(description="DEBUG, INFO, WARNING, ERROR or CRITICAL")] = "INFO"


class Config(msgspec.Struct, frozen=True, kw_only=True):
    archive: ArchiveConfig = msgspec.field(default_factory=ArchiveConfig)
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    search: SearchConfig = msgspec.field(default_factory=SearchConfig)
    cache: CacheConfig = msgspec.field(default_factory=CacheConfig)
    digest: DigestConfig = msgspec.field(default_factory=DigestConfig)
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)
    discord: DiscordConfig = msgspec.field(default_factory=DiscordConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    archives: tuple[ArchiveSpec, ...] = ()
    """``[[archives]]``: several archives. Empty: the one archive of ``[archive]``, named ``default``."""

    @property
    def archive_specs(self) -> tuple[ArchiveSpec, ...]:
        """Every archive this deployment serves, the default first: ``[[archives]]``, or ``[archive]`` alone.

        >>> [a.name for a in Config().archive_specs]
        ['default']
        """
        if self.archives:
            return self.archives
        return (ArchiveSpec(name=DEFAULT_ARCHIVE, path=self.archive.path, feeds=self.archive.feeds),)

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


def sections() -> dict[str, type[msgspec.Struct]]:
    """Each config section's name and schema ``Struct``, in the order of ``config/newsbot.toml``; the
    ``[[archives]]`` list is not a section (:class:`ArchiveSpec`)."""
    return {name: setting.type for name, setting in schema(Config).items() if name != "archives"}


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

Raw = dict[str, dict[str, tuple[Any, str]]]
"""Section -> key -> (value as read, where it was read: a file, an environment variable or a flag)."""


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
    raw: Raw = {}
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


def _merge(raw: Raw, new: Mapping[str, Any], origin: str) -> None:
    known = sections()
    for section, values in new.items():
        if section == "archives":  # [[archives]]: a list of tables, replaced whole by a later file
            raw["archives"] = {"archives": (values, origin)}
            continue
        if section not in known:
            raise ConfigError(f"{origin}: unknown section [{section}]")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        allowed = schema(known[section])
        for key, value in values.items():
            if key not in allowed:
                raise ConfigError(f"{origin}: unknown key '{section}.{key}'")
            raw.setdefault(section, {})[key] = (value, origin)


def _build(raw: Raw) -> Config:
    built = {
        section: cls(**{key: _coerce(cls, key, value, f"{origin}: {section}.{key}")
                        for key, (value, origin) in raw.get(section, {}).items()})
        for section, cls in sections().items()
    }
    archives: tuple[ArchiveSpec, ...] = ()
    if "archives" in raw:
        value, origin = raw["archives"]["archives"]
        archives = archive_specs(value, origin)
    config = Config(**built, archives=archives)  # type: ignore[arg-type]  # each built from its own field's type
    _validate(config, raw)
    return config


def _coerce(cls: type[msgspec.Struct], key: str, value: Any, where: str) -> Any:
    """One value as its schema type, in its range; the error names ``where`` (origin and setting)."""
    kind = schema(cls)[key].type
    try:
        if kind == tuple[FeedConfig, ...]:
            return feed_configs(value)
        if kind == tuple[int, ...]:
            return _integers(value)
        return parse(cls, key, value)
    except ValueError as err:  # WrongType or OutOfRange from the schema, or a feed problem
        raise ConfigError(f"{where}: {err}") from None


def _integers(value: Any) -> tuple[int, ...]:
    """Whole numbers from a TOML list or from text separated by spaces or commas.

    >>> _integers("3, 4"), _integers([5])
    ((3, 4), (5,))
    """
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    try:
        if not isinstance(items, list | tuple):
            raise WrongType(value, "list")
        return tuple(integer(v) for v in items)
    except WrongType:
        raise WrongType(value, "list of whole numbers") from None


def _validate(config: Config, raw: Raw) -> None:
    """What one setting's type and range cannot say; the error names where the offending value came from."""
    s, a, d = config.search, config.archive, config.discord
    checks: list[tuple[str, str, Callable[[], None]]] = [
        ("search", "top_k", lambda: _require(
            s.top_k <= s.max_top_k, f"search.top_k: must be between 1 and search.max_top_k ({s.max_top_k})")),
        ("archive", "path", lambda: _require(
            not config.archives or not a.path, "archive.path: [[archives]] lists this deployment's archives; "
                                               "move this folder into an [[archives]] entry")),
        ("archive", "feeds", lambda: _require(
            not config.archives or not a.feeds, "archive.feeds: [[archives]] lists this deployment's archives; "
                                                "move these feeds into their [[archives]] entry")),
        ("archive", "feeds", lambda: _require(
            not a.feeds or bool(a.path), "archive.feeds: feed items are written into the archive folder; set "
                                         "archive.path (the bundled sample archive is read-only)")),
        ("logging", "level", lambda: _require(
            config.logging.level.upper() in LOG_LEVELS, "logging.level: must be DEBUG, INFO, WARNING, ERROR or "
                                                        "CRITICAL")),
        ("discord", "guild_ids", lambda: _require(
            all(0 < gid < 2**63 for gid in d.guild_ids),
            f"discord.guild_ids: {list(d.guild_ids)}: a guild id is a positive snowflake")),
        ("discord", "operator_ids", lambda: _require(
            all(0 < uid < 2**63 for uid in d.operator_ids),
            f"discord.operator_ids: {list(d.operator_ids)}: a user id is a positive snowflake")),
        ("storage", "url", lambda: _check_storage_url(config.storage.url)),
        ("discord", "api_base", lambda: _check_url("discord.api_base", d.api_base, ("http", "https"))),
        ("discord", "gateway_url", lambda: _check_url("discord.gateway_url", d.gateway_url,
                                                      ("ws", "wss", "http", "https"))),
        ("digest", "time", lambda: _named("digest.time", parse_time_of_day, config.digest.time)),
        ("digest", "timezone", lambda: _named("digest.timezone", parse_new_timezone, config.digest.timezone)),
    ]
    for section, key, check in checks:
        try:
            check()
        except ConfigError as err:
            origin = raw.get(section, {}).get(key, (None, "newsbot.toml"))[1]
            raise ConfigError(f"{origin}: {err}") from None


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _named(key: str, check: Callable[[str], object], value: str) -> None:
    try:
        check(value)
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
    >>> _check_storage_url("postgresql://[::1")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: storage.url: not a valid URL (Invalid IPv6 URL)
    """
    url = url.strip()
    if not url:
        return
    try:
        scheme = urlsplit(url).scheme if "://" in url else ""
        if scheme in ("postgresql", "postgres"):
            urlsplit(url).port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as err:  # "postgresql://[::1": the driver would fail later with a traceback
        raise ConfigError(f"storage.url: not a valid URL ({err})") from None
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
