"""The schema as data: one entry of statements per version, appended in order and never edited.

The version lives in the database (table ``schema_version``), not in a file on one host: ``newsbot migrate``
applies the entries the database lacks, with a ``schema_version`` row each, all in one transaction; a store
refuses a database older or newer than :data:`SCHEMA_VERSION`. The statements are the SQL both SQLite and
PostgreSQL understand, so one list serves every driver. Timestamps are fixed-width ISO text in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator

DEFAULT_ARCHIVE = "default"
"""The archive a row from before several archives belongs to (:data:`bot.config_archives.DEFAULT_ARCHIVE`)."""


def _with_archive(table: str, columns: str, key: str, copied: str) -> tuple[str, ...]:
    """Rebuild ``table`` with an ``archive`` column in its primary key ``key``; its rows go to the default archive.

    >>> [s.split("(")[0].strip() for s in _with_archive("t", "a TEXT NOT NULL", "archive, a", "a")]
    ['CREATE TABLE t_v6', 'INSERT INTO t_v6', 'DROP TABLE t', 'ALTER TABLE t_v6 RENAME TO t']
    """
    return (
        f"CREATE TABLE {table}_v6 ({columns}, archive TEXT NOT NULL, PRIMARY KEY ({key}))",
        f"INSERT INTO {table}_v6 ({copied}, archive) SELECT {copied}, '{DEFAULT_ARCHIVE}' FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_v6 RENAME TO {table}",
    )

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the tables as newsbot created them before versioning (IF NOT EXISTS adopts such a database).
    # BIGINT, not INTEGER: Discord ids need 64 bits, and PostgreSQL's INTEGER has 32.
    (
        "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS digest_settings (
            guild_id BIGINT PRIMARY KEY,
            channel_id BIGINT,
            weekday INTEGER NOT NULL,
            time TEXT NOT NULL,
            timezone TEXT NOT NULL,
            policy TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 0,
            enabled_at TEXT,
            disabled_reason TEXT,
            baseline_at TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS digest_posts (
            guild_id BIGINT NOT NULL,
            slot TEXT NOT NULL,
            issue_id TEXT,
            status TEXT NOT NULL,
            channel_id BIGINT,
            message_id BIGINT,
            claimed_at TEXT NOT NULL,
            lease_until TEXT,
            posted_at TEXT,
            detail TEXT,
            PRIMARY KEY (guild_id, slot)
        )""",
        """CREATE TABLE IF NOT EXISTS digest_received (
            guild_id BIGINT NOT NULL,
            issue_id TEXT NOT NULL,
            slot TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (guild_id, issue_id)
        )""",
        """CREATE TABLE IF NOT EXISTS digest_baseline (
            guild_id BIGINT NOT NULL,
            issue_id TEXT NOT NULL,
            PRIMARY KEY (guild_id, issue_id)
        )""",
    ),
    # 2: who holds a claim (host:pid), for stats and for an operator reading the table.
    ("ALTER TABLE digest_posts ADD COLUMN claimed_by TEXT",),
    # 3: feeds (per-feed validators, failures, seen items; issues stored without an announcement) and the
    # digest's role ping and discussion thread.
    (
        """CREATE TABLE IF NOT EXISTS feeds (
            url TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            etag TEXT,
            last_modified TEXT,
            last_success TEXT,
            last_attempt TEXT,
            next_poll TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            disabled_reason TEXT,
            polled_ok INTEGER NOT NULL DEFAULT 0,
            config_hash TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE IF NOT EXISTS feed_items (
            feed_url TEXT NOT NULL,
            key TEXT NOT NULL,
            path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            owned INTEGER NOT NULL,
            issue_id TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (feed_url, key)
        )""",
        "CREATE TABLE IF NOT EXISTS feed_quiet (issue_id TEXT PRIMARY KEY, at TEXT NOT NULL)",
        "ALTER TABLE digest_settings ADD COLUMN role_id BIGINT",
        "ALTER TABLE digest_settings ADD COLUMN thread INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE digest_settings ADD COLUMN thread_error TEXT",
    ),
    # 4: the time a feed's server said not to ask before (Retry-After), so feed-retry and a config change never
    # poll it sooner.
    ("ALTER TABLE feeds ADD COLUMN retry_until TEXT",),
    # 5: the feed files themselves (archive-relative path under feeds/, sha256 and text), so every host of a
    # PostgreSQL deployment syncs its own archive folder from the store instead of sharing a filesystem.
    (
        """CREATE TABLE IF NOT EXISTS archive_documents (
            path TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL,
            content TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
    ),
    # 6: several archives in one deployment. The digest is per guild and archive, and each archive's feed files
    # are its own: those tables gain an ``archive`` column in their keys (rebuilt, as SQLite cannot change a
    # primary key), every row from before going to the one archive there was, ``default``. And each guild's
    # default archive for the reader commands.
    (
        *_with_archive("digest_settings", """guild_id BIGINT NOT NULL, channel_id BIGINT, weekday INTEGER NOT NULL,
            time TEXT NOT NULL, timezone TEXT NOT NULL, policy TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 0,
            enabled_at TEXT, disabled_reason TEXT, baseline_at TEXT, role_id BIGINT,
            thread INTEGER NOT NULL DEFAULT 0, thread_error TEXT""", "guild_id, archive",
                       "guild_id, channel_id, weekday, time, timezone, policy, enabled, enabled_at, disabled_reason, "
                       "baseline_at, role_id, thread, thread_error"),
        *_with_archive("digest_posts", """guild_id BIGINT NOT NULL, slot TEXT NOT NULL, issue_id TEXT,
            status TEXT NOT NULL, channel_id BIGINT, message_id BIGINT, claimed_at TEXT NOT NULL, lease_until TEXT,
            posted_at TEXT, detail TEXT, claimed_by TEXT""", "guild_id, archive, slot",
                       "guild_id, slot, issue_id, status, channel_id, message_id, claimed_at, lease_until, posted_at, "
                       "detail, claimed_by"),
        *_with_archive("digest_received", """guild_id BIGINT NOT NULL, issue_id TEXT NOT NULL, slot TEXT NOT NULL,
            received_at TEXT NOT NULL""", "guild_id, archive, issue_id", "guild_id, issue_id, slot, received_at"),
        *_with_archive("digest_baseline", "guild_id BIGINT NOT NULL, issue_id TEXT NOT NULL",
                       "guild_id, archive, issue_id", "guild_id, issue_id"),
        *_with_archive("archive_documents", """path TEXT NOT NULL, sha256 TEXT NOT NULL, content TEXT NOT NULL,
            updated_at TEXT NOT NULL""", "archive, path", "path, sha256, content, updated_at"),
        """CREATE TABLE IF NOT EXISTS guild_archive (
            guild_id BIGINT PRIMARY KEY,
            archive TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
    ),
    # 7: why the last digest could not be published to the servers following its announcement channel (a 403),
    # for stats; the digest itself stays posted.
    ("ALTER TABLE digest_settings ADD COLUMN publish_error TEXT",),
    # 8: personal keyword alerts: each member's subscriptions (and the archive they watch), the issues
    # the alerts have seen (``baseline`` 1: already there when alerts started, never alerted), and one claim per
    # member and new issue, so one direct message goes out across restarts and hosts.
    (
        """CREATE TABLE IF NOT EXISTS alert_subscriptions (
            id BIGINT PRIMARY KEY,
            user_id BIGINT NOT NULL,
            query TEXT NOT NULL,
            section TEXT NOT NULL DEFAULT '',
            archive TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            paused_reason TEXT,
            notice_pending INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX IF NOT EXISTS alert_subscriptions_user ON alert_subscriptions (user_id)",
        """CREATE TABLE IF NOT EXISTS alert_issues (
            archive TEXT NOT NULL DEFAULT '',
            issue_id TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            baseline INTEGER NOT NULL DEFAULT 0,
            done_at TEXT,
            PRIMARY KEY (archive, issue_id)
        )""",
        """CREATE TABLE IF NOT EXISTS alert_sends (
            archive TEXT NOT NULL DEFAULT '',
            issue_id TEXT NOT NULL,
            user_id BIGINT NOT NULL,
            status TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            claimed_by TEXT,
            lease_until TEXT,
            sent_at TEXT,
            message_id BIGINT,
            detail TEXT,
            PRIMARY KEY (archive, issue_id, user_id)
        )""",
    ),
    # 9: the digest's language (/newsbot digest-language): a Discord locale, or NULL to follow the server's
    # preferred locale.
    ("ALTER TABLE digest_settings ADD COLUMN locale TEXT",),
)
"""Each entry is one schema version's statements, applied in one transaction. Append, never edit."""

SCHEMA_VERSION = len(MIGRATIONS)

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
"""Created by the migration itself, so a database from before versioning (no such table) reads as version 0."""


def pending(before: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """The (version, statements) a database at version ``before`` still lacks, oldest first.

    >>> [v for v, _ in pending(SCHEMA_VERSION - 1)] == [SCHEMA_VERSION]
    True
    >>> list(pending(SCHEMA_VERSION)), list(pending(SCHEMA_VERSION + 1))
    ([], [])
    """
    for version in range(before + 1, SCHEMA_VERSION + 1):
        yield version, MIGRATIONS[version - 1]


def mismatch_message(found: int, backend: str) -> str:
    """What an operator reads when the schema does not match.

    >>> mismatch_message(0, "sqlite")  # doctest: +ELLIPSIS
    'the sqlite state database has schema version 0 and this newsbot needs ...: run `newsbot migrate` first'
    >>> mismatch_message(99, "postgresql")  # doctest: +ELLIPSIS
    'the postgresql state database has schema version 99, newer than this newsbot knows (...): upgrade newsbot...'
    """
    if found < SCHEMA_VERSION:
        return (f"the {backend} state database has schema version {found} and this newsbot needs "
                f"{SCHEMA_VERSION}: run `newsbot migrate` first")
    return (f"the {backend} state database has schema version {found}, newer than this newsbot knows "
            f"({SCHEMA_VERSION}): upgrade newsbot on this host (a newer release migrated it)")
