"""Command and option names and descriptions in the member's language, from the message catalogs.

discord.py wraps every string of a command in :class:`~discord.app_commands.locale_str` and asks the tree's
translator for each Discord locale at sync; Discord then shows a zh-CN or zh-TW client the localized names. The
strings come from the command registry (:data:`bot.commands.COMMANDS`), so every command and option is covered
by the same catalogs as the replies (:mod:`bot.i18n.catalog` extracts them from the registry).
"""

from __future__ import annotations

from discord import Locale, app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import COMMAND_NAME, ENGLISH, OPTION_NAME, Lang, lang, resolve
from bot.registry import CommandSpec

NAME_MAX = 32
DESCRIPTION_MAX = 100


def described(text: str) -> app_commands.locale_str:
    """A description as Discord takes it (100 characters at most), remembering the whole text as the msgid."""
    return app_commands.locale_str(text[:DESCRIPTION_MAX], msgid=text)


class CatalogTranslator(app_commands.Translator):
    """Translates through :func:`bot.i18n.lang`; None (Discord shows the English) where no catalog has it."""

    async def translate(self, string: app_commands.locale_str, locale: Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        return translate(string, locale.value, context.location)


def translate(string: app_commands.locale_str, locale: str, where: Where) -> str | None:
    """One string of a command for one Discord locale.

    >>> translate(app_commands.locale_str("ask"), "zh-CN", Where.command_name)
    '提问'
    >>> translate(app_commands.locale_str("ask"), "de", Where.command_name) is None
    True
    """
    if resolve(locale) == ENGLISH:
        return None
    messages = lang(locale)
    msgid = str(string.extras.get("msgid", string.message))
    if where in (Where.command_name, Where.group_name, Where.parameter_name):
        context = OPTION_NAME if where is Where.parameter_name else COMMAND_NAME
        if not messages.has(msgid, context):
            return None
        return messages.pgettext(context, msgid)[:NAME_MAX]
    if not messages.has(msgid):
        return None
    return messages.gettext(msgid)[:DESCRIPTION_MAX]


def usage(spec: CommandSpec, lg: Lang) -> str:
    """A command as the member's client lists it: ``/newsbot digest-on [channel]``, ``/提问 <问题> [期] [数量]``.

    >>> from bot.commands import COMMANDS_BY_NAME
    >>> usage(COMMANDS_BY_NAME["ask"], lang("zh-TW")), usage(COMMANDS_BY_NAME["digest-on"], lang("en"))
    ('/提問 <問題> [期] [數量] [起始] [截止] [欄目] [歸檔]', '/newsbot digest-on [channel] [archive]')
    """
    head = [lg.pgettext(COMMAND_NAME, spec.group)] if spec.group else []
    parts = [f"/{' '.join([*head, lg.pgettext(COMMAND_NAME, spec.name)])}"]
    for p in spec.params:
        name = lg.pgettext(OPTION_NAME, p.name)
        parts.append(f"<{name}>" if p.required else f"[{name}]")
    return " ".join(parts)
