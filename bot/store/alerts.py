"""The alert tables: members' subscriptions, the issues the alerts have seen, and the per-member claims.

Tables ``alert_subscriptions``, ``alert_issues`` and ``alert_sends`` (schema version 8). What makes an alert go
out once is :meth:`AlertTables.alert_claim`, one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per member and
issue that only one caller (of any process, on any host) wins, as the digest's claim.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection
from typing import Literal, cast

from bot.store.base import Driver, Row, as_int, opt_int, parse_ts, ts
from bot.store.records import AlertClaim, AlertStatus, Subscription

_SUB_COLUMNS = "id, user_id, query, section, archive, created_at, paused_reason"
SubscribeOutcome = Literal["added", "resumed", "exists", "full"]
BASELINE_KEY = "alerts_baseline:"
"""kv key (with the archive's name) of the moment alerts first saw an archive: its issues then are no news."""


def _sub(row: Row) -> Subscription:
    return Subscription(id=as_int(row["id"]), user_id=as_int(row["user_id"]), query=str(row["query"]),
                        section=str(row["section"]), archive=str(row["archive"]),
                        created_at=parse_ts(row["created_at"]),
                        paused_reason=None if row["paused_reason"] is None else str(row["paused_reason"]))


def _claim(row: Row) -> AlertClaim:
    return AlertClaim(str(row["archive"]), str(row["issue_id"]), as_int(row["user_id"]),
                      cast(AlertStatus, str(row["status"])), parse_ts(row["lease_until"]), opt_int(row["message_id"]))


class AlertTables(Driver):
    """The alert half of :class:`bot.store.protocol.Store`."""

    # subscriptions

    async def alert_subscribe(self, sub: Subscription, limit: int) -> tuple[SubscribeOutcome, Subscription]:
        """Add ``sub`` unless the member already holds it (a paused one is resumed) or holds ``limit``."""
        rows = await self._rows(f"SELECT {_SUB_COLUMNS} FROM alert_subscriptions WHERE user_id = ? AND query = ? "
                                "AND section = ? AND archive = ?", (sub.user_id, sub.query, sub.section, sub.archive))
        if rows:
            held = _sub(rows[0])
            if held.paused_reason is None:
                return "exists", held
            await self._write(("UPDATE alert_subscriptions SET paused_reason = NULL, notice_pending = 0 "
                               "WHERE id = ?", (held.id,)))
            return "resumed", Subscription(held.id, held.user_id, held.query, held.section, held.archive,
                                           held.created_at)
        assert sub.created_at is not None
        added = await self._write((
            "INSERT INTO alert_subscriptions (id, user_id, query, section, archive, created_at) "
            "SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), "
            "CAST(? AS TEXT) WHERE (SELECT COUNT(*) FROM alert_subscriptions WHERE user_id = ?) < ?",
            (sub.id, sub.user_id, sub.query, sub.section, sub.archive, ts(sub.created_at), sub.user_id, limit)))
        return ("added" if added == 1 else "full"), sub

    async def alert_subscriptions(self, user_id: int) -> list[Subscription]:
        """A member's subscriptions, oldest first (their numbers in /subscriptions)."""
        rows = await self._rows(f"SELECT {_SUB_COLUMNS} FROM alert_subscriptions WHERE user_id = ? "
                                "ORDER BY created_at, id", (user_id,))
        return [_sub(r) for r in rows]

    async def alert_active(self, archive: str) -> list[Subscription]:
        """Every subscription that may send (not paused) on ``archive``."""
        rows = await self._rows(f"SELECT {_SUB_COLUMNS} FROM alert_subscriptions WHERE archive = ? AND "
                                "paused_reason IS NULL ORDER BY user_id, created_at, id", (archive,))
        return [_sub(r) for r in rows]

    async def alert_unsubscribe(self, user_id: int, sub_id: int) -> bool:
        """Remove one of the member's own subscriptions; False when they hold none with that id."""
        return await self._write(("DELETE FROM alert_subscriptions WHERE id = ? AND user_id = ?",
                                  (sub_id, user_id))) == 1

    async def alert_pause_user(self, user_id: int, reason: str) -> int:
        """Pause every active subscription of a member (their DMs are closed) and leave them a notice."""
        return await self._write(("UPDATE alert_subscriptions SET paused_reason = ?, notice_pending = 1 "
                                  "WHERE user_id = ? AND paused_reason IS NULL", (reason, user_id)))

    async def alert_take_notice(self, user_id: int) -> list[Subscription]:
        """The subscriptions paused since the member last heard of it, taken once (one caller gets them)."""
        rows = await self._rows(f"SELECT {_SUB_COLUMNS} FROM alert_subscriptions WHERE user_id = ? AND "
                                "notice_pending = 1 ORDER BY created_at, id", (user_id,))
        if not rows:
            return []
        taken = await self._write(("UPDATE alert_subscriptions SET notice_pending = 0 WHERE user_id = ? AND "
                                   "notice_pending = 1", (user_id,)))
        return [_sub(r) for r in rows] if taken > 0 else []

    # the issues alerts have seen

    async def alert_baseline(self, archive: str, issue_ids: Collection[str], now: dt.datetime) -> bool:
        """Record the issues there now as no news, once per archive (one transaction; one caller wins)."""
        # The kv row carries a token only this call knows, so the guarded inserts run for the winner alone (a
        # timestamp could be equal for two processes).
        key, stamp = BASELINE_KEY + archive, ts(now)
        token = f"{stamp} {self.owner} {secrets.token_hex(8)}"
        taken = await self._write(
            ("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, token)),
            *(("INSERT INTO alert_issues (archive, issue_id, first_seen, baseline) SELECT CAST(? AS TEXT), "
               "CAST(? AS TEXT), CAST(? AS TEXT), 1 WHERE (SELECT value FROM kv WHERE key = ?) = ? "
               "ON CONFLICT DO NOTHING", (archive, i, stamp, key, token)) for i in issue_ids),
        )
        return taken == 1

    async def alert_known(self, archive: str) -> frozenset[str]:
        rows = await self._rows("SELECT issue_id FROM alert_issues WHERE archive = ?", (archive,))
        return frozenset(str(r["issue_id"]) for r in rows)

    async def alert_add_issues(self, archive: str, issue_ids: Collection[str], now: dt.datetime) -> None:
        """Issues seen for the first time: news (the first host to see one sets its ``first_seen``)."""
        if issue_ids:
            await self._write(*(("INSERT INTO alert_issues (archive, issue_id, first_seen) VALUES (?, ?, ?) "
                                 "ON CONFLICT DO NOTHING", (archive, i, ts(now))) for i in issue_ids))

    async def alert_pending(self, archive: str) -> list[tuple[str, dt.datetime]]:
        """New issues whose alerts are not all handled yet: (issue id, first seen), oldest first."""
        rows = await self._rows("SELECT issue_id, first_seen FROM alert_issues WHERE archive = ? AND baseline = 0 "
                                "AND done_at IS NULL ORDER BY first_seen, issue_id", (archive,))
        out = []
        for r in rows:
            seen = parse_ts(r["first_seen"])
            assert seen is not None  # NOT NULL
            out.append((str(r["issue_id"]), seen))
        return out

    async def alert_issue_done(self, archive: str, issue_id: str, now: dt.datetime) -> None:
        await self._write(("UPDATE alert_issues SET done_at = ? WHERE archive = ? AND issue_id = ?",
                           (ts(now), archive, issue_id)))

    # the claims

    async def alert_claims(self, archive: str, issue_id: str) -> list[AlertClaim]:
        rows = await self._rows("SELECT archive, issue_id, user_id, status, lease_until, message_id FROM alert_sends "
                                "WHERE archive = ? AND issue_id = ? ORDER BY user_id", (archive, issue_id))
        return [_claim(r) for r in rows]

    async def alert_claim(self, archive: str, issue_id: str, user_id: int, now: dt.datetime,
                          lease_until: dt.datetime) -> bool:
        """Claim one member's alert for one issue: True only for the one caller whose insert returned a row."""
        return await self._write((
            "INSERT INTO alert_sends (archive, issue_id, user_id, status, claimed_at, claimed_by, lease_until) "
            "VALUES (?, ?, ?, 'claimed', ?, ?, ?) ON CONFLICT (archive, issue_id, user_id) DO NOTHING "
            "RETURNING user_id", (archive, issue_id, user_id, ts(now), self.owner, ts(lease_until)))) == 1

    async def alert_take_lease(self, archive: str, issue_id: str, user_id: int, now: dt.datetime,
                               lease_until: dt.datetime) -> bool:
        """Take over a claim whose sender died (lease run out): one conditional UPDATE, one taker."""
        return await self._write((
            "UPDATE alert_sends SET lease_until = ?, claimed_by = ? WHERE archive = ? AND issue_id = ? AND "
            "user_id = ? AND status = 'claimed' AND lease_until <= ? RETURNING user_id",
            (ts(lease_until), self.owner, archive, issue_id, user_id, ts(now)))) == 1

    async def alert_finish(self, archive: str, issue_id: str, user_id: int, status: AlertStatus, now: dt.datetime,
                           *, message_id: int | None = None, detail: str | None = None) -> None:
        await self._write(("UPDATE alert_sends SET status = ?, sent_at = ?, message_id = ?, detail = ?, "
                           "lease_until = NULL WHERE archive = ? AND issue_id = ? AND user_id = ?",
                           (status, ts(now), message_id, detail, archive, issue_id, user_id)))
