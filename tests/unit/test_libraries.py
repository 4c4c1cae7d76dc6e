"""Which archive a command runs on (:class:`bot.library.Libraries`): the one it names, else the server's default
from the store (remembered a little while), else the deployment's; with one archive the store is never asked."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.config import ArchiveSpec, Config
from bot.errors import StoreUnavailable
from bot.library import GUILD_DEFAULT_TTL, Libraries, Library
from retrieval.errors import QueryError
from retrieval.models import Archive

NOW = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)


class Choices:
    """The guild_archive table, in memory; counts the reads and can be made unreachable."""

    def __init__(self) -> None:
        self.rows: dict[int, str] = {}
        self.reads = 0
        self.down = False

    async def guild_archive(self, guild_id: int) -> str | None:
        self.reads += 1
        if self.down:
            raise StoreUnavailable("PostgreSQL at db.example: connection refused")
        return self.rows.get(guild_id)

    async def set_guild_archive(self, guild_id: int, archive: str | None, now: dt.datetime) -> None:
        if archive is None:
            self.rows.pop(guild_id, None)
        else:
            self.rows[guild_id] = archive


def library(name: str) -> Library:
    return Library(Config(), Archive(name, ()), None, ArchiveSpec(name=name))


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_a_command_gets_the_named_archive_else_the_servers_else_the_deployments() -> None:
    store, clock = Choices(), Clock()
    libs = Libraries([library("akira"), library("rust")], store, clock)
    assert (await libs.resolve(None, 1)).name == "akira"
    await libs.set_guild_default(1, "rust", NOW)
    assert (await libs.resolve(None, 1)).name == "rust"
    assert (await libs.resolve("akira", 1)).name == "akira"  # named beats the server's default
    assert (await libs.resolve(None, 2)).name == "akira"  # another server: the deployment's
    assert (await libs.resolve(None, None)).name == "akira"  # no server (the console)
    with pytest.raises(QueryError, match=re.escape("No archive named “go”. Archives: akira, rust.")):
        await libs.resolve("go", 1)
    await libs.set_guild_default(1, " ", NOW)  # blank: back to the deployment's
    assert store.rows == {}
    assert (await libs.resolve(None, 1)).name == "akira"


async def test_another_hosts_choice_is_seen_once_the_remembered_one_expires() -> None:
    store, clock = Choices(), Clock()
    libs = Libraries([library("akira"), library("rust")], store, clock)
    assert (await libs.resolve(None, 1)).name == "akira"
    store.rows[1] = "rust"  # set by another host
    assert (await libs.resolve(None, 1)).name == "akira"
    clock.t += GUILD_DEFAULT_TTL
    assert (await libs.resolve(None, 1)).name == "rust"
    reads = store.reads
    await libs.resolve(None, 1)
    assert store.reads == reads  # remembered: no read per command


async def test_an_unreachable_store_or_a_removed_archive_falls_back_to_the_default() -> None:
    store, clock = Choices(), Clock()
    store.rows[1] = "gone"  # an archive taken out of the config since
    libs = Libraries([library("akira"), library("rust")], store, clock)
    assert (await libs.resolve(None, 1)).name == "akira"
    store.rows[2] = "rust"
    store.down = True
    assert (await libs.resolve(None, 2)).name == "akira"


async def test_one_archive_never_asks_the_store() -> None:
    store = Choices()
    libs = Libraries([library("default")], store)
    assert not libs.several
    assert (await libs.resolve(None, 1)).name == "default"
    assert store.reads == 0
    with pytest.raises(QueryError, match=re.escape("Archives: default.")):
        await libs.resolve("akira", 1)
