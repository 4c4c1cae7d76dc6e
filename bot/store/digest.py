"""The digest's tables: key/value records, settings, baselines, what each guild received, and the claims.

Tables ``kv``, ``digest_settings``, ``digest_baseline``, ``digest_received`` and ``digest_posts``. The two
statements that decide who posts, :meth:`DigestTables.claim` and :meth:`DigestTables.take_lease`, are each a
single statement only one caller can win (``INSERT … ON CONFLICT DO NOTHING RETURNING``, a conditional
``UPDATE … RETURNING``), on every driver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Literal, cast

from bot.digest.schedule import DigestSettings, parse_policy
from bot.store.base import Driver, Row, as_int, opt_int, opt_str, parse_ts, ts
from bot.store.records import PostRecord, PostStatus

_SETTINGS_COLUMNS = ("guild_id, archive, channel_id, weekday, time, timezone, policy, enabled, enabled_at, "
                     "disabled_reason, role_id, thread, thread_error, publish_error, locale")
_POST_COLUMNS = ("guild_id, archive, slot, issue_id, status, channel_id, message_id, claimed_at, lease_until, "
                 "posted_at, detail, claimed_by")


def _settings(row: Row) -> DigestSettings:
    return DigestSettings(
        guild_id=as_int(row["guild_id"]), channel_id=opt_int(row["channel_id"]), weekday=as_int(row["weekday"]),
        time=dt.time.fromisoformat(str(row["time"])), timezone=str(row["timezone"]),
        policy=parse_policy(str(row["policy"])), enabled=bool(row["enabled"]), enabled_at=parse_ts(row["enabled_at"]),
        disabled_reason=opt_str(row["disabled_reason"]), role_id=opt_int(row["role_id"]),
        thread=bool(row["thread"]), thread_error=opt_str(row["thread_error"]),
        publish_error=opt_str(row["publish_error"]), locale=opt_str(row["locale"]),
    )


def _post(row: Row) -> PostRecord:
    claimed_at = parse_ts(row["claimed_at"])
    assert claimed_at is not None  # NOT NULL in the schema
    return PostRecord(
        guild_id=as_int(row["guild_id"]), slot=str(row["slot"]), issue_id=opt_str(row["issue_id"]),
        status=cast(PostStatus, str(row["status"])), channel_id=opt_int(row["channel_id"]),
        message_id=opt_int(row["message_id"]), claimed_at=claimed_at, lease_until=parse_ts(row["lease_until"]),
        posted_at=parse_ts(row["posted_at"]), detail=opt_str(row["detail"]), claimed_by=opt_str(row["claimed_by"]),
    )


class DigestTables(Driver):
    """The digest half of :class:`bot.store.protocol.Store`, on whichever driver this is mixed into. Every digest
    statement is scoped to :attr:`archive` (:meth:`~bot.store.base.Driver.scoped`): a guild has a digest per
    archive."""

    # key/value

    async def get_value(self, key: str) -> str | None:
        rows = await self._rows("SELECT value FROM kv WHERE key = ?", (key,))
        return None if not rows else str(rows[0]["value"])

    async def set_value(self, key: str, value: str) -> None:
        await self._write(("INSERT INTO kv (key, value) VALUES (?, ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)))

    # each guild's default archive (not scoped: it names one)

    async def guild_archive(self, guild_id: int) -> str | None:
        """The archive a guild's admin chose for the reader commands, or None (the deployment's default)."""
        rows = await self._rows("SELECT archive FROM guild_archive WHERE guild_id = ?", (guild_id,))
        return str(rows[0]["archive"]) if rows else None

    async def set_guild_archive(self, guild_id: int, archive: str | None, now: dt.datetime) -> None:
        """Set (None: forget) a guild's default archive."""
        if archive is None:
            await self._write(("DELETE FROM guild_archive WHERE guild_id = ?", (guild_id,)))
            return
        await self._write(("INSERT INTO guild_archive (guild_id, archive, updated_at) VALUES (?, ?, ?) "
                           "ON CONFLICT (guild_id) DO UPDATE SET archive = excluded.archive, "
                           "updated_at = excluded.updated_at", (guild_id, archive, ts(now))))

    # settings

    async def get_settings(self, guild_id: int) -> DigestSettings | None:
        rows = await self._rows(f"SELECT {_SETTINGS_COLUMNS} FROM digest_settings WHERE guild_id = ? AND archive = ?",
                                (guild_id, self.archive))
        return _settings(rows[0]) if rows else None

    async def enabled_guilds(self) -> list[DigestSettings]:
        rows = await self._rows(f"SELECT {_SETTINGS_COLUMNS} FROM digest_settings WHERE enabled = 1 AND "
                                "archive = ? ORDER BY guild_id", (self.archive,))
        return [_settings(r) for r in rows]

    async def put_settings(self, s: DigestSettings) -> None:
        await self._write((
            f"INSERT INTO digest_settings ({_SETTINGS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, archive) DO UPDATE SET channel_id = excluded.channel_id, "
            "weekday = excluded.weekday, time = excluded.time, timezone = excluded.timezone, policy = excluded.policy, "
            "enabled = excluded.enabled, enabled_at = excluded.enabled_at, "
            "disabled_reason = excluded.disabled_reason, role_id = excluded.role_id, thread = excluded.thread, "
            "thread_error = excluded.thread_error, publish_error = excluded.publish_error, locale = excluded.locale",
            (s.guild_id, self.archive, s.channel_id, s.weekday, s.time.isoformat("minutes"), s.timezone, s.policy,
             int(s.enabled), None if s.enabled_at is None else ts(s.enabled_at), s.disabled_reason, s.role_id,
             int(s.thread), s.thread_error, s.publish_error, s.locale),
        ))

    async def set_thread_error(self, guild_id: int, error: str | None) -> None:
        """Why the last digest thread could not be opened (None: it was), for stats."""
        await self._write(("UPDATE digest_settings SET thread_error = ? WHERE guild_id = ? AND archive = ?",
                           (error, guild_id, self.archive)))

    async def set_publish_error(self, guild_id: int, error: str | None) -> None:
        """Why the last digest could not be published to following servers (None: it was, or needs not be)."""
        await self._write(("UPDATE digest_settings SET publish_error = ? WHERE guild_id = ? AND archive = ?",
                           (error, guild_id, self.archive)))

    async def disable(self, guild_id: int, reason: str) -> None:
        await self._write(("UPDATE digest_settings SET enabled = 0, disabled_reason = ? WHERE guild_id = ? "
                           "AND archive = ?", (reason, guild_id, self.archive)))

    # what the guild has seen

    async def take_baseline(self, guild_id: int, issue_ids: Collection[str], now: dt.datetime) -> bool:
        """Record the issues that exist now as the guild's backlog, once; False if already taken."""
        taken = await self._write(
            ("UPDATE digest_settings SET baseline_at = ? WHERE guild_id = ? AND archive = ? AND baseline_at IS NULL",
             (ts(now), guild_id, self.archive)),
            *(("INSERT INTO digest_baseline (guild_id, archive, issue_id) SELECT CAST(? AS BIGINT), CAST(? AS TEXT), "
               "CAST(? AS TEXT) WHERE (SELECT baseline_at FROM digest_settings WHERE guild_id = ? AND archive = ?) = ? "
               "ON CONFLICT DO NOTHING", (guild_id, self.archive, i, guild_id, self.archive, ts(now)))
              for i in issue_ids),
        )
        return taken == 1

    async def baseline(self, guild_id: int) -> frozenset[str] | None:
        """The backlog recorded at enabling, or None if the guild never enabled."""
        rows = await self._rows("SELECT baseline_at FROM digest_settings WHERE guild_id = ? AND archive = ?",
                                (guild_id, self.archive))
        if not rows or rows[0]["baseline_at"] is None:
            return None
        ids = await self._rows("SELECT issue_id FROM digest_baseline WHERE guild_id = ? AND archive = ?",
                               (guild_id, self.archive))
        return frozenset(str(r["issue_id"]) for r in ids)

    async def received(self, guild_id: int) -> frozenset[str]:
        rows = await self._rows("SELECT issue_id FROM digest_received WHERE guild_id = ? AND archive = ?",
                                (guild_id, self.archive))
        return frozenset(str(r["issue_id"]) for r in rows)

    # the claim table

    async def posts(self, guild_id: int) -> list[PostRecord]:
        """Every slot row of a guild, oldest claim first."""
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? AND archive = ? "
                                "ORDER BY claimed_at, slot", (guild_id, self.archive))
        return [_post(r) for r in rows]

    async def get_post(self, guild_id: int, slot: str) -> PostRecord | None:
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? AND archive = ? "
                                "AND slot = ?", (guild_id, self.archive, slot))
        return _post(rows[0]) if rows else None

    async def claimed_rows(self, guild_id: int) -> list[PostRecord]:
        rows = await self._rows(f"SELECT {_POST_COLUMNS} FROM digest_posts WHERE guild_id = ? AND archive = ? "
                                "AND status = 'claimed' ORDER BY slot", (guild_id, self.archive))
        return [_post(r) for r in rows]

    async def claim(self, guild_id: int, slot: str, issue_id: str, channel_id: int, now: dt.datetime,
                    lease_until: dt.datetime) -> bool:
        """Claim a slot: one statement, and True only for the one caller whose insert returned a row."""
        return await self._write((
            "INSERT INTO digest_posts (guild_id, archive, slot, issue_id, status, channel_id, claimed_at, "
            "lease_until, claimed_by) VALUES (?, ?, ?, ?, 'claimed', ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, archive, slot) DO NOTHING RETURNING slot",
            (guild_id, self.archive, slot, issue_id, channel_id, ts(now), ts(lease_until), self.owner),
        )) == 1

    async def skip(self, guild_id: int, slot: str, now: dt.datetime) -> bool:
        """Mark a slot as come and gone with nothing to post."""
        return await self._write((
            "INSERT INTO digest_posts (guild_id, archive, slot, status, claimed_at) VALUES (?, ?, ?, 'skipped', ?) "
            "ON CONFLICT (guild_id, archive, slot) DO NOTHING RETURNING slot", (guild_id, self.archive, slot, ts(now)),
        )) == 1

    async def take_lease(self, guild_id: int, slot: str, now: dt.datetime, lease_until: dt.datetime) -> bool:
        """Take over a claim whose lease ran out: one conditional UPDATE, True only for one taker.

        ``lease_until`` is ``claimed_at + lease`` when claimed, so the condition is the issue's
        ``claimed_at < now - lease``; :meth:`release` may move it earlier to hand a claim on at once."""
        return await self._write((
            "UPDATE digest_posts SET lease_until = ?, claimed_by = ? WHERE guild_id = ? AND archive = ? AND slot = ? "
            "AND status = 'claimed' AND (lease_until IS NULL OR lease_until <= ?) RETURNING slot",
            (ts(lease_until), self.owner, guild_id, self.archive, slot, ts(now)),
        )) == 1

    async def release(self, guild_id: int, slot: str, now: dt.datetime, detail: str) -> None:
        """Keep the claim but let the next tick (of any process) retry it at once."""
        await self._write(("UPDATE digest_posts SET lease_until = ?, detail = ? WHERE guild_id = ? AND archive = ? "
                           "AND slot = ? AND status = 'claimed'", (ts(now), detail, guild_id, self.archive, slot)))

    async def set_issue(self, guild_id: int, slot: str, issue_id: str) -> None:
        await self._write(("UPDATE digest_posts SET issue_id = ? WHERE guild_id = ? AND archive = ? AND slot = ?",
                           (issue_id, guild_id, self.archive, slot)))

    async def mark_posted(self, guild_id: int, slot: str, issue_id: str, message_id: int, now: dt.datetime) -> None:
        """Record the message and the issue as received, in one transaction."""
        await self._write(
            ("UPDATE digest_posts SET status = 'posted', message_id = ?, posted_at = ?, lease_until = NULL "
             "WHERE guild_id = ? AND archive = ? AND slot = ?", (message_id, ts(now), guild_id, self.archive, slot)),
            ("INSERT INTO digest_received (guild_id, archive, issue_id, slot, received_at) VALUES (?, ?, ?, ?, ?) "
             "ON CONFLICT DO NOTHING", (guild_id, self.archive, issue_id, slot, ts(now))),
        )

    async def finish(self, guild_id: int, slot: str, status: Literal["failed", "missed"], detail: str) -> None:
        """Close a claim without a message; the slot stays taken."""
        await self._write(("UPDATE digest_posts SET status = ?, lease_until = NULL, detail = ? "
                           "WHERE guild_id = ? AND archive = ? AND slot = ?",
                           (status, detail, guild_id, self.archive, slot)))
