"""The alert service's state machine on real stores (SQLite and PostgreSQL), with a recording sender in place of
Discord: what is new, who is told, takeover of a dead sender's claim, transient failures, removal in between."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from bot.alerts import CONSOLE_USER_ID
from bot.alerts.service import AlertService, alert_marker
from bot.config import AlertsConfig, load_config, sample_archive_dir
from bot.errors import DMClosed, PostTransient
from bot.library import search_settings
from bot.results import AlertResult
from bot.store import SqlStore, Subscription
from retrieval.archive import load_archive
from retrieval.models import Archive
from retrieval.search import SearchEngine

T0 = dt.datetime(2024, 3, 4, 9, tzinfo=dt.UTC)
W31 = "akiras-machine-learning-news-issue-31-5a3e0c000031"
READER, OTHER = 81384788765712384, 81384788765712385


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


class Sender:
    """Records sends; ``fail`` raises on the next sends, ``history`` is what the member's DMs already hold."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, AlertResult]] = []
        self.fail: list[Exception] = []
        self.history: dict[int, list[str]] = {}

    async def send_alert(self, user_id: int, alert: AlertResult) -> int:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((user_id, alert))
        self.history.setdefault(user_id, []).append(alert.marker)
        return 1000 + len(self.sent)

    async def find_alert(self, user_id: int, marker: str) -> int | None:
        return 999 if marker in self.history.get(user_id, []) else None


class Lib:
    """A library whose archive a test can grow: the sample archive without issue #31 first, then with it."""

    def __init__(self, full: Archive, engine: SearchEngine) -> None:
        self.full = full
        self.engine = engine
        self.archive = dataclasses.replace(full, issues=tuple(i for i in full.issues if i.id != W31))

    def publish(self) -> None:
        self.archive = self.full


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Archive, SearchEngine]:
    config = load_config(env={}, storage__cache_dir=str(tmp_path_factory.mktemp("alert-service-cache")))
    archive = load_archive(sample_archive_dir())
    return archive, SearchEngine.build(archive, search_settings(config))


async def subscribe(store: SqlStore, n: int, user: int, query: str, at: dt.datetime) -> None:
    status, _ = await store.alert_subscribe(Subscription((1 << 52) + n, user, query, "", "", at), 10)
    assert status == "added"


def service(store: SqlStore, built: tuple[Archive, SearchEngine], clock: Clock) -> tuple[AlertService, Lib]:
    lib = Lib(*built)
    return AlertService(store, lib, AlertsConfig(), clock=clock), lib


async def test_new_issue_alerts_each_matching_member_once(store: SqlStore, built: tuple[Archive, SearchEngine],
                                                          tmp_path: Path) -> None:
    clock, sender = Clock(), Sender()
    alerts, lib = service(store, built, clock)
    assert await alerts.check(sender) == []  # the baseline: today's issues are no news
    await subscribe(store, 1, READER, "protein folding", T0)
    await subscribe(store, 2, READER, "AlphaFold", T0)
    await subscribe(store, 3, OTHER, "kubernetes autoscaling", T0)  # matches nothing
    await subscribe(store, 4, CONSOLE_USER_ID, "protein folding", T0)  # the console's: never sent
    clock.now = T0 + dt.timedelta(minutes=5)
    lib.publish()
    outcomes = await alerts.check(sender)
    assert [(o.user_id, o.status) for o in outcomes] == [(READER, "sent")]
    [(user, alert)] = sender.sent
    assert user == READER
    assert alert.issue.id == W31
    assert alert.marker == alert_marker("", W31)
    assert any(set(m.queries) == {"protein folding", "AlphaFold"} for m in alert.matches)  # one DM, both alerts
    # Another process (a second host, a restart) looks again: nothing more.
    again, _ = service(store, built, clock)
    again.library.publish()  # type: ignore[attr-defined]
    assert await again.check(sender) == []
    assert len(sender.sent) == 1


async def test_an_alert_made_after_the_issue_arrived_is_not_told(store: SqlStore,
                                                                 built: tuple[Archive, SearchEngine]) -> None:
    clock, sender = Clock(), Sender()
    alerts, lib = service(store, built, clock)
    await alerts.check(sender)
    lib.publish()
    clock.now = T0 + dt.timedelta(minutes=1)
    await alerts.check(sender)  # #31 arrives: no alert exists yet
    await subscribe(store, 1, READER, "protein folding", T0 + dt.timedelta(minutes=2))
    await alerts.check(sender)
    assert sender.sent == []


async def test_closed_dms_pause_and_transient_errors_retry_after_the_lease(
        store: SqlStore, built: tuple[Archive, SearchEngine]) -> None:
    clock, sender = Clock(), Sender()
    alerts, lib = service(store, built, clock)
    await alerts.check(sender)
    await subscribe(store, 1, READER, "protein folding", T0)
    await subscribe(store, 2, OTHER, "AlphaFold", T0)
    sender.fail = [PostTransient("Discord error 503"), DMClosed("cannot send messages to this user")]
    clock.now = T0 + dt.timedelta(minutes=1)
    lib.publish()
    statuses = {o.user_id: o.status for o in await alerts.check(sender)}
    assert statuses == {READER: "retrying", OTHER: "closed"}
    assert [s.user_id for s in await store.alert_active("")] == [READER]  # OTHER's alerts are paused
    assert await alerts.check(sender) == []  # READER's claim is leased: no one retries it yet
    clock.now += dt.timedelta(minutes=11)
    statuses = {o.user_id: o.status for o in await alerts.check(sender)}
    assert statuses == {READER: "sent"}
    assert [u for u, _ in sender.sent] == [READER]
    assert await alerts.check(sender) == []


async def test_a_dead_senders_claim_is_finished_once_without_a_second_message(
        store: SqlStore, built: tuple[Archive, SearchEngine]) -> None:
    clock, sender = Clock(), Sender()
    alerts, lib = service(store, built, clock)
    await alerts.check(sender)
    await subscribe(store, 1, READER, "protein folding", T0)
    lib.publish()
    clock.now = T0 + dt.timedelta(minutes=1)
    await store.alert_add_issues("", [W31], clock.now)
    # A process claimed and sent, then died before recording it: the message is in the member's DMs.
    assert await store.alert_claim("", W31, READER, clock.now, clock.now + dt.timedelta(minutes=10))
    sender.history[READER] = [alert_marker("", W31)]
    assert await alerts.check(sender) == []  # its lease still runs
    clock.now += dt.timedelta(minutes=11)
    [outcome] = await alerts.check(sender)
    assert (outcome.status, outcome.message_id) == ("recovered", 999)
    assert sender.sent == []


async def test_an_alert_removed_before_the_send_sends_nothing(store: SqlStore,
                                                             built: tuple[Archive, SearchEngine]) -> None:
    clock, sender = Clock(), Sender()
    alerts, lib = service(store, built, clock)
    await alerts.check(sender)
    await subscribe(store, 1, READER, "protein folding", T0)
    lib.publish()
    clock.now = T0 + dt.timedelta(minutes=1)
    await store.alert_add_issues("", [W31], clock.now)
    assert await store.alert_claim("", W31, READER, clock.now, clock.now)  # claimed, its lease already over
    assert await store.alert_unsubscribe(READER, (1 << 52) + 1)
    await subscribe(store, 2, READER, "something else entirely", T0)  # still a member with an alert
    clock.now += dt.timedelta(seconds=1)
    assert await alerts.check(sender) == []  # the removed alert is not even matched any more
    assert sender.sent == []


class RemovesAfterMatching:
    """The store, but the member removes their alert right after the service read the active ones."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def alert_active(self, archive: str) -> list[Subscription]:
        active = await self._store.alert_active(archive)
        for s in active:
            await self._store.alert_unsubscribe(s.user_id, s.id)
        return active


async def test_an_alert_removed_between_matching_and_sending_sends_nothing(
        store: SqlStore, built: tuple[Archive, SearchEngine]) -> None:
    clock, sender = Clock(), Sender()
    lib = Lib(*built)
    alerts = AlertService(RemovesAfterMatching(store), lib, AlertsConfig(), clock=clock)  # type: ignore[arg-type]
    await alerts.check(sender)
    await subscribe(store, 1, READER, "protein folding", T0)
    lib.publish()
    clock.now = T0 + dt.timedelta(minutes=1)
    assert [(o.user_id, o.status) for o in await alerts.check(sender)] == [(READER, "gone")]
    assert sender.sent == []
    [claim] = await store.alert_claims("", W31)
    assert claim.status == "gone"
