""""Search the archive" on a message: the question a message's text makes, the menu's one declaration, and the
link buttons (only URLs a button may carry)."""

from __future__ import annotations

import discord
import pytest

from bot.commands import MESSAGE_MENUS, Newsbot
from bot.discord_adapter.views import button_url, link_buttons
from bot.message_text import MESSAGE_QUERY_CHARS, message_query
from bot.registry import message_menu


@pytest.mark.parametrize(("text", "question"), [
    ("<@123> <@!9> <@&5> <#6> what about ViT?", "what about ViT?"),
    ("@everyone @here **bold** __under__ ~~gone~~ ||spoiler||", "bold under gone spoiler"),
    ("> quoted\n>>> more\n# heading\n-# small\n- item\n1. first", "quoted more heading small item first"),
    ("see [the paper](https://arxiv.org/abs/2106.10860)", "see the paper https://arxiv.org/abs/2106.10860"),
    ("</ask:123> <t:1700000000:R> <a:dance:99> <id:customize> 变压器", "变压器"),
    ("```\ncode here\n```", "code here"),
    ("", ""),
])
def test_a_message_becomes_a_question_without_mentions_or_marks(text: str, question: str) -> None:
    assert message_query(text) == question


def test_a_long_message_is_clipped_at_a_word() -> None:
    long = " ".join(f"word{i}" for i in range(200))
    q = message_query(long)
    assert len(q) <= MESSAGE_QUERY_CHARS
    assert long.startswith(q)
    assert long[len(q)] == " "  # cut between words, never inside one
    assert len(message_query("长" * 1000)) == MESSAGE_QUERY_CHARS


def test_the_menu_is_declared_once_on_the_service() -> None:
    [menu] = MESSAGE_MENUS
    assert (menu.name, menu.method) == ("Search the archive", "search_message")
    assert callable(getattr(Newsbot, menu.method))
    with pytest.raises(ValueError, match="1 to 32 characters"):
        message_menu("x" * 33, "too long")
    with pytest.raises(TypeError, match="takes the message's text alone"):
        @message_menu("Two things", "bad")
        async def two(self: object, text: str, count: int) -> None:
            pass


def test_link_buttons_drop_what_a_button_may_not_carry() -> None:
    good = "https://arxiv.org/abs/2106.10860"
    rows = [[("1. ok", good), ("1. Issue #31", None)],
            [("2. js", "javascript:alert(1)"), ("2. long", "https://x.org/" + "a" * 499)],
            [("3. spaced", "https://a b.org"), ("3. ftp", "ftp://x.org/f")]]
    view = link_buttons(rows)
    assert view is not None
    buttons = [b for b in view.children if isinstance(b, discord.ui.Button)]
    assert [(b.label, b.url, b.style) for b in buttons] == [("1. ok", good, discord.ButtonStyle.link)]
    assert link_buttons([[("x", None)]]) is None
    assert button_url("https://x.org/" + "a" * 498) is not None  # 512 characters: still fine
    assert button_url("https://x.org/" + "a" * 499) is None
