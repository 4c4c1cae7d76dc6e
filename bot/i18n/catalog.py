"""The message catalogs, for developers: extract, update, compile and check them (needs Babel, a dev tool).

    python -m bot.i18n.catalog update   # extract every message, merge it into each .po, compile the .mo files
    python -m bot.i18n.catalog check    # what is missing, untranslated, fuzzy or stale (exit status 1)
    python -m bot.i18n.catalog seed-tw  # fill empty zh_TW messages from zh_CN through OpenCC, marked fuzzy

Messages come from two places, and only these: the source (``_(...)``, ``gettext``, ``ngettext``, ``N_`` and
the error classes members see, ``QueryError("...")``…) and the command registry (every command's and option's
name and description, read off :data:`bot.commands.COMMANDS`, the list Discord gets), so no second list exists.
The msgid is the English text, so a new English message needs nothing but its code; ``update`` then adds it to
each catalog, and ``check`` (and ``tests/unit/test_i18n.py``) names it until it is translated.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import COMMAND_NAME, DOMAIN, LOCALE_DIR, LOCALES, OPTION_NAME

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "retrieval")
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None, "gettext": None, "ngettext": (1, 2), "N_": None,
    # Errors a member reads: their first argument is the message template (retrieval.errors.NewsbotError).
    "QueryError": None, "UnknownIssueError": None, "AmbiguousIssueError": None, "DigestError": None,
    "AlertError": None,
}
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
_PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def registry_messages() -> Iterator[tuple[str, str | None, str]]:
    """``(msgid, msgctxt, comment)`` for every command and option the registry declares."""
    from bot.commands import COMMANDS, MESSAGE_MENUS
    from bot.registry import ADMIN_GROUP, ADMIN_GROUP_DESCRIPTION

    yield ADMIN_GROUP, COMMAND_NAME, "the admin command group; lowercase, no spaces, at most 32 characters"
    yield ADMIN_GROUP_DESCRIPTION, None, "the admin group's description (at most 100 characters)"
    for spec in COMMANDS:
        yield spec.name, COMMAND_NAME, f"/{spec.path}: lowercase, no spaces, at most 32 characters"
        yield spec.description, None, f"/{spec.path}: description, at most 100 characters"
        for p in spec.params:
            yield p.name, OPTION_NAME, f"/{spec.path} {p.name}: lowercase, no spaces, at most 32 characters"
            yield p.description, None, f"/{spec.path} {p.name}: description, at most 100 characters"
    for menu in MESSAGE_MENUS:
        yield menu.name, COMMAND_NAME, "a message's Apps menu entry: spaces allowed, at most 32 characters"
        yield menu.description, None, f"the Apps menu entry {menu.name!r}, as /help describes it"


def extract() -> Catalog:
    """Every message, as the template (.pot) holds it: no line numbers, so moving code leaves it unchanged."""
    catalog = Catalog(domain=DOMAIN, project="newsbot", charset="utf-8")
    for folder in SOURCES:
        for filename, _lineno, message, comments, context in extract_from_dir(
                ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS):
            if "/measure/" in f"/{folder}/{filename}":
                continue  # measurement tools print for developers, in English
            catalog.add(message, locations=[(f"{folder}/{filename}", 0)], auto_comments=comments,
                        context=context, flags=_flags(message))
    for msgid, context, comment in registry_messages():
        catalog.add(msgid, locations=[("bot/registry.py", 0)], auto_comments=[comment], context=context,
                    flags=_flags(msgid))
    return catalog


def _flags(message: str | tuple[str, ...]) -> tuple[str, ...]:
    text = message if isinstance(message, str) else message[0]
    return ("python-brace-format",) if _PLACEHOLDER.search(text) else ()


def _key(m: Message) -> tuple[str | None, str]:
    return m.context, m.id if isinstance(m.id, str) else m.id[0]


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message.

    >>> sorted(placeholders("第 {page}/{pages} 页"))
    ['page', 'pages']
    """
    return {m.group(1) for m in _PLACEHOLDER.finditer(text)}


_LITERAL_CALL = re.compile(r"""(?<![\w.])(?:_|gettext|N_)\(\s*("(?:[^"\\\n]|\\.)*")\s*[,)]""")


def unextracted(fresh: set[str]) -> list[str]:
    """Messages written in the source as ``_("...")`` that extraction missed: Babel skips a keyword call nested
    in another one's arguments (``_("{a}", a=_("b"))``), so such a message would never be translated."""
    import ast

    missed: list[str] = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "measure" in path.parts or path.name == "catalog.py":  # (its docstrings show calls)
                continue
            for match in _LITERAL_CALL.finditer(path.read_text(encoding="utf-8")):
                text = ast.literal_eval(match.group(1))
                if text not in fresh:
                    missed.append(f"{path.relative_to(ROOT)}: {text!r} is not extracted (a call inside another "
                                  "call's arguments? write it on its own line)")
    return missed


def problems() -> list[str]:
    """Everything wrong with the catalogs, one line each, naming the message (empty: all is well)."""
    fresh = {_key(m): m for m in extract() if m.id}
    out = unextracted({key[1] for key in fresh})
    template = _read(TEMPLATE)
    stored = {_key(m): m for m in template if m.id}
    for key in fresh.keys() - stored.keys():
        out.append(f"{TEMPLATE.name}: stale, lacks {_show(key)} (run: python -m bot.i18n.catalog update)")
    for key in stored.keys() - fresh.keys():
        out.append(f"{TEMPLATE.name}: stale, holds {_show(key)}, which no code uses any more "
                   "(run: python -m bot.i18n.catalog update)")
    for locale in LOCALES:
        out += _locale_problems(locale, fresh)
    return out


def _locale_problems(locale: str, fresh: dict[tuple[str | None, str], Message]) -> list[str]:
    path = po_path(locale)
    if not path.exists():
        return [f"{locale}: no catalog at {path}"]
    po = _read(path)
    out: list[str] = []
    for key, wanted in fresh.items():
        message = po.get(wanted.id, context=wanted.context)
        strings = () if message is None else (message.string if isinstance(message.string, tuple)
                                              else (message.string,))
        if message is None or not all(strings):
            out.append(f"{locale}: untranslated: {_show(key)}")
        elif message.fuzzy:
            out.append(f"{locale}: fuzzy (review it, then remove the flag): {_show(key)}")
        else:
            needed = placeholders(key[1])
            for s in map(str, strings):
                if placeholders(s) - needed - {"n"} or (needed - {"n"}) - placeholders(s):
                    out.append(f"{locale}: placeholders {sorted(placeholders(s))} differ from the English "
                               f"{sorted(needed)}: {_show(key)}")
    mo = path.with_suffix(".mo")
    if not mo.exists() or mo.read_bytes() != _compiled(po):
        out.append(f"{locale}: {mo.name} is stale: it does not match {path.name} "
                   "(run: python -m bot.i18n.catalog compile)")
    return out


def _show(key: tuple[str | None, str]) -> str:
    context, msgid = key
    return f"{msgid!r}" + (f" (context {context!r})" if context else "")


def _read(path: Path) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, domain=DOMAIN)


def _compiled(po: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, po, use_fuzzy=False)
    return buffer.getvalue()


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog, width=120, no_location=True, omit_header=False, sort_output=True,
                 include_previous=False)


def update() -> None:
    template = extract()
    _write(TEMPLATE, template)
    for locale in LOCALES:
        path = po_path(locale)
        po = _read(path) if path.exists() else Catalog(locale=locale, domain=DOMAIN, project="newsbot")
        po.update(template, no_fuzzy_matching=True)
        po.obsolete.clear()
        _write(path, po)
    compile_all()


def compile_all() -> None:
    for locale in LOCALES:
        path = po_path(locale)
        path.with_suffix(".mo").write_bytes(_compiled(_read(path)))


def seed_traditional() -> int:
    """Fill each empty zh_TW message from zh_CN through OpenCC (s2twp: Taiwan wording), marked fuzzy so a
    reader reviews it; the number filled."""
    import opencc

    convert = opencc.OpenCC("s2twp").convert
    simplified = _read(po_path("zh_CN"))
    path = po_path("zh_TW")
    traditional = _read(path)
    filled = 0
    for message in traditional:
        source = simplified.get(message.id, context=message.context) if message.id else None
        empty = not message.string or (isinstance(message.string, tuple) and not all(message.string))
        if source is None or not empty or not source.string:
            continue
        message.string = (tuple(convert(str(s)) for s in source.string) if isinstance(source.string, tuple)
                          else convert(str(source.string)))
        message.flags.add("fuzzy")
        filled += 1
    _write(path, traditional)
    return filled


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "seed-tw":
        print(f"{seed_traditional()} messages seeded; review them in {po_path('zh_TW')}")
    elif command != "check":
        print(__doc__)
        return 2
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
