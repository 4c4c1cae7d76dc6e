"""The message catalogs: complete, current, and what their tools report when they are not."""

from __future__ import annotations

import gettext
from collections.abc import Iterator

import pytest

from bot.i18n import LOCALE_DIR, LOCALES, catalog, lang, resolve
from bot.registry import collect, command

pytest.importorskip("babel", reason="Babel (the test extra) extracts and compiles the catalogs")


def test_the_catalogs_hold_every_message_in_every_language_and_are_current() -> None:
    # Extracts every message from the source and the command registry, compares with the .pot, each .po and
    # each compiled .mo: an English message without its Chinese, or a catalog not updated, fails here by name.
    assert catalog.problems() == []


def test_a_new_message_is_named_until_it_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    real = catalog.registry_messages

    def with_a_new_one() -> Iterator[tuple[str, str | None, str]]:
        yield from real()
        yield "A message nobody translated yet: {thing}", None, "test"

    monkeypatch.setattr(catalog, "registry_messages", with_a_new_one)
    found = catalog.problems()
    new = "'A message nobody translated yet: {thing}'"
    assert any("stale" in line and new in line for line in found), found
    assert {line.split(":")[0] for line in found if "untranslated" in line and new in line} == set(LOCALES)


def test_a_new_command_is_part_of_the_catalog_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    class Service:
        @command("Say hello.", who="Whom to greet")
        async def greet(self, who: str) -> None: ...

    monkeypatch.setattr("bot.commands.COMMANDS", collect(Service))
    messages = {(m[1], m[0]) for m in catalog.registry_messages()}
    wanted = {("command name", "greet"), (None, "Say hello."), ("option name", "who"), (None, "Whom to greet")}
    assert wanted <= messages


def test_a_translation_keeps_the_placeholders() -> None:
    for code in LOCALES:
        po = catalog._read(catalog.po_path(code))
        for message in po:
            if message.id and isinstance(message.id, str):
                assert catalog.placeholders(str(message.string)) == catalog.placeholders(message.id), message.id


def test_the_compiled_catalogs_load_with_the_standard_library() -> None:
    for code in LOCALES:
        with (LOCALE_DIR / code / "LC_MESSAGES" / "newsbot.mo").open("rb") as fp:
            assert gettext.GNUTranslations(fp).gettext("No matches.") != "No matches."


def test_traditional_and_simplified_differ_and_english_is_the_msgid() -> None:
    assert lang("zh-CN").gettext("No similar items.") == "没有相似的条目。"
    assert lang("zh-TW").gettext("No similar items.") == "沒有相似的條目。"
    assert lang("en-GB").gettext("No similar items.") == "No similar items."
    assert lang("zh-CN").ngettext("page {page}/{pages} · {n} result", "page {page}/{pages} · {n} results", 3,
                                  page=1, pages=1) == "第 1/1 页 · 3 条结果"
    assert resolve("zh-HK") == "zh_TW"


def test_an_error_is_translated_from_its_template_and_filled() -> None:
    from retrieval.errors import QueryError, UnknownIssueError

    err = UnknownIssueError("No issue called “{text}”.", ("#31 — x",), text="**x**")
    assert str(err) == "No issue called “**x**”."
    assert lang("zh-TW").error(err) == "沒有叫「**x**」的一期。"
    assert lang("zh-CN").error(QueryError("a message the catalog lacks")) == "a message the catalog lacks"
    assert lang("zh-CN").error(RuntimeError("internal")) == "internal"
