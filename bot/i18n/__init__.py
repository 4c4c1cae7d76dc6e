"""Messages in the reader's language: English, simplified Chinese (zh_CN) and traditional Chinese (zh_TW).

Every message a person reads is an English ``msgid`` in a gettext catalog (``bot/i18n/locales``), written
with named placeholders (``"page {page}/{pages}"``) and filled after translation, never assembled from pieces.
Surfaces pick a :class:`Lang` (Discord: the interaction's locale; the digest: the guild's; the console:
``--lang``) and hand it to their renderer; the command layer stays language-free.

The compiled ``.mo`` files are read with the standard library's :mod:`gettext`, so running the bot needs no
extra package; Babel only extracts and compiles (:mod:`bot.i18n.catalog`, a developer's tool).
"""

from __future__ import annotations

import functools
import gettext as _gettext
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DOMAIN = "newsbot"
LOCALE_DIR = Path(__file__).parent / "locales"
ENGLISH = "en"
LOCALES = ("zh_CN", "zh_TW")
"""The catalogs besides English (the msgids themselves)."""
DISCORD_TAGS: Mapping[str, str] = {"en": "en-US", "zh_CN": "zh-CN", "zh_TW": "zh-TW"}
"""Each catalog's Discord locale (discord.Locale values)."""
COMMAND_NAME = "command name"
"""The msgctxt of a command's name: ``ask`` the command is not ``ask`` the verb in a sentence."""
OPTION_NAME = "option name"
"""The msgctxt of a command option's name."""

_TRADITIONAL = ("tw", "hk", "mo", "hant")


def resolve(tag: str | None) -> str:
    """The catalog for a locale tag (Discord's ``zh-TW``, POSIX ``zh_CN.UTF-8``, BCP 47 ``zh-Hant-HK``):
    traditional Chinese for Taiwan, Hong Kong, Macau and Hant, simplified for any other Chinese, else English.

    >>> [resolve(t) for t in ("zh-CN", "zh_TW.UTF-8", "zh-Hant", "zh-HK", "zh", "en-US", "C.UTF-8", None, "")]
    ['zh_CN', 'zh_TW', 'zh_TW', 'zh_TW', 'zh_CN', 'en', 'en', 'en', 'en']
    """
    if not tag:
        return ENGLISH
    parts = tag.split(".")[0].split("@")[0].replace("_", "-").lower().split("-")
    if parts[0] != "zh":
        return ENGLISH
    return "zh_TW" if any(p in _TRADITIONAL for p in parts[1:]) else "zh_CN"


def _fill(text: str, params: Mapping[str, object]) -> str:
    """A message with its named placeholders filled; without parameters the text is taken as it is (an English
    msgid may hold a brace).

    >>> _fill("{n} issues", {"n": 3}), _fill("a {literal}", {})
    ('3 issues', 'a {literal}')
    """
    return text.format_map(params) if params else text


def environment_locale(environ: Mapping[str, str] | None = None) -> str | None:
    """The locale the environment asks for, as gettext reads it: LC_ALL, then LC_MESSAGES, then LANG (LANGUAGE's
    list is for programs with many catalogs; its first entry is taken last).

    >>> environment_locale({"LANG": "zh_TW.UTF-8"}), environment_locale({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"})
    ('zh_TW.UTF-8', 'C')
    """
    import os

    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return env[name]
    return (env.get("LANGUAGE") or "").split(":")[0] or None


@dataclass(frozen=True, slots=True, eq=False)
class Lang:
    """One language's messages. Build it with :func:`lang` (cached: one per catalog)."""

    code: str
    """``en``, ``zh_CN`` or ``zh_TW``."""
    translations: _gettext.NullTranslations

    @property
    def discord_tag(self) -> str:
        return DISCORD_TAGS[self.code]

    def gettext(self, message: str, /, **params: object) -> str:
        """``message`` in this language, its ``{placeholders}`` filled from ``params``.

        >>> lang("zh-CN").gettext("Posted the digest ({issue}).", issue="#34")
        '已发布摘要（#34）。'
        """
        return _fill(self.translations.gettext(message), params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """The form for ``n`` (``{n}`` is filled too).

        >>> lang("en").ngettext("{n} result", "{n} results", 1), lang("en").ngettext("{n} result", "{n} results", 2)
        ('1 result', '2 results')
        """
        return _fill(self.translations.ngettext(singular, plural, n), {"n": n, **params})

    def pgettext(self, context: str, message: str) -> str:
        """``message`` in ``context`` (a command or option name)."""
        return self.translations.pgettext(context, message)

    def has(self, message: str, context: str | None = None) -> bool:
        """Whether the catalog translates ``message`` (English has every msgid)."""
        if self.code == ENGLISH:
            return True
        catalog: Mapping[str, str] = getattr(self.translations, "_catalog", {})
        return (f"{context}\x04{message}" if context else message) in catalog

    def notice(self, text: str) -> str:
        """A search's notice (one or more sentences of :data:`retrieval.notices.NOTICES`, filled in English) in
        this language; as it is when a sentence is not one of them.

        >>> lang("zh-CN").notice("No issue matches issue #99, so all issues were searched. "
        ...                      "No entries match that question.")
        '没有与第 99 期相符的一期，已搜索全部各期。没有条目与这个问题相符。'
        """
        if self.code == ENGLISH or not text:
            return text
        parts: list[str] = []
        pos = 0
        while pos < len(text):
            for template, pattern in _notice_patterns():
                match = pattern.match(text, pos)
                if match:
                    parts.append(_fill(self.translations.gettext(template), self._phrases(match.groupdict())))
                    pos = match.end()
                    break
            else:
                return text
        return "".join(parts)

    def error(self, err: BaseException) -> str:
        """An error's message for a person: its template translated and filled (see
        :class:`retrieval.errors.NewsbotError`), or ``str(err)`` when the catalog does not hold it. An error
        given as a parameter of another (``until: {error}``) is translated the same way.

        >>> from retrieval.errors import QueryError
        >>> inner = QueryError("No issue matches {ref}.", ref="issue #99")
        >>> lang("zh-CN").error(QueryError("until: {error}", error=inner))
        '截止：没有与第 99 期相符的一期。'
        """
        template = getattr(err, "template", None)
        params: Mapping[str, object] = getattr(err, "params", {})
        if isinstance(template, str) and self.has(template):
            filled = {k: self.error(v) if isinstance(v, BaseException) else v for k, v in params.items()}
            return _fill(self.translations.gettext(template), self._phrases(filled))
        return str(err)

    def _phrases(self, params: Mapping[str, object]) -> dict[str, object]:
        """``params`` with each phrase parameter (:data:`retrieval.notices.PHRASE_PARAMS`: a filter or an issue
        reference in words, filled in English) translated, phrase by phrase; a part that is no phrase (a
        reader's text) leaves the value as it is."""
        from retrieval.notices import PHRASE_PARAMS

        return {k: self.phrases(v) if k in PHRASE_PARAMS and isinstance(v, str) else v for k, v in params.items()}

    def phrases(self, text: str) -> str:
        """A filter or an issue reference in words (phrases of :data:`retrieval.notices.PHRASES` filled in
        English, joined by ", ") in this language; as it is when a part is no phrase (a reader's own text).

        >>> lang("zh-CN").phrases("since 2021-10-01, in section papers"), lang("zh-CN").phrases("“x”")
        ('自 2021-10-01 起，仅 papers 栏目', '“x”')
        """
        if self.code == ENGLISH:
            return text
        parts = [self._phrase(part) for part in text.split(", ")]
        if any(p is None for p in parts):
            return text
        return "，".join(p for p in parts if p is not None)  # a Chinese enumeration comma

    def _phrase(self, text: str) -> str | None:
        for template, pattern in _phrase_patterns():
            match = pattern.fullmatch(text)
            if match:
                return _fill(self.translations.gettext(template), match.groupdict())
        return None


@functools.cache
def _notice_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each notice template as a pattern that reads its placeholders back, and the space that joins two."""
    from retrieval.notices import NOTICES

    def pattern(template: str) -> re.Pattern[str]:
        body = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(template))
        return re.compile(body + r"(?: |$)")

    return tuple((t, pattern(t)) for t in NOTICES)


@functools.cache
def _phrase_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each phrase template (:data:`retrieval.notices.PHRASES`) as a pattern for a whole phrase."""
    from retrieval.notices import PHRASES

    return tuple((t, re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+)", re.escape(t)))) for t in PHRASES)


@functools.cache
def lang(tag: str | None = None) -> Lang:
    """The messages for a locale tag (see :func:`resolve`); English when it has no catalog."""
    code = resolve(tag)
    if code == ENGLISH:
        return Lang(ENGLISH, _gettext.NullTranslations())
    with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as fp:
        return Lang(code, _gettext.GNUTranslations(fp))


EN = lang(ENGLISH)
"""English: the msgids themselves."""


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is written; it is translated later, where it is shown."""
    return message


def catalogs_fingerprint() -> str:
    """A hash of the compiled catalogs: it changes when any translation does (the command sync keys on it)."""
    import hashlib

    digest = hashlib.sha256()
    for code in LOCALES:
        digest.update(code.encode())
        digest.update((LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo").read_bytes())
    return digest.hexdigest()
