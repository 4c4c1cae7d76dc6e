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


def test_a_filters_words_translate_inside_notices_and_errors_and_a_readers_text_does_not() -> None:
    import datetime as dt

    from retrieval.errors import QueryError, UnknownIssueError
    from retrieval.filters import SearchFilter, parse_date
    from retrieval.notices import EMPTIED_BY_ALL

    both = SearchFilter(since=dt.date(2021, 10, 1), section="papers").describe()
    notice = EMPTIED_BY_ALL.format(filters=both, n=4)
    assert notice == "No match since 2021-10-01, in section papers; 4 matches without these filters."
    chinese = "筛选（自 2021-10-01 起，仅 papers 栏目）下没有结果；去掉这些筛选有 4 个结果。"
    assert lang("zh-CN").notice(notice) == chinese
    assert lang("en").notice(notice) == notice
    # A section named like a phrase is still the reader's: only the phrase parameters are read as phrases.
    assert lang("zh-CN").phrases("in section issue #3") == "仅 issue #3 栏目"
    assert lang("zh-CN").phrases("papers, issue #3") == "papers, issue #3"
    # An error inside another, and the standard library's reason a date does not exist.
    inner = UnknownIssueError("No issue matches {ref}.", ref="the week of 2024-01-03")
    outer = UnknownIssueError("until: {error}", error=inner)
    assert str(outer) == "until: No issue matches the week of 2024-01-03."
    assert lang("zh-TW").error(outer) == "截止：沒有與2024-01-03所在的那一週相符的一期。"
    with pytest.raises(QueryError) as caught:
        parse_date("2021-13-01")
    assert lang("zh-CN").error(caught.value) == "“2021-13-01”不是有效日期：月份必须在 1 到 12 之间。"
