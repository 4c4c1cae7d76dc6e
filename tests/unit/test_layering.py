"""The layering rules of the design, checked mechanically."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_retrieval_never_imports_discord_or_bot() -> None:
    code = (
        "import importlib, pkgutil, sys, retrieval\n"
        "for m in pkgutil.walk_packages(retrieval.__path__, 'retrieval.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'discord', 'bot'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_discord_renderer_builds_embeds() -> None:
    builders = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "bot").rglob("*.py")
        if "discord.Embed(" in p.read_text(encoding="utf-8") or "Embed(" in p.read_text(encoding="utf-8")
    ]
    assert all(b == "bot/discord_adapter/embeds.py" for b in builders), builders


TRANSPORT = ROOT / "bot" / "discord_adapter"
IO_LIBRARIES = {"aiosqlite", "sqlite3", "asyncpg", "aiohttp", "discord", "socket", "os", "subprocess"}


def _bot_modules() -> list[Path]:
    return sorted((ROOT / "bot").rglob("*.py"))


def test_only_the_discord_adapter_imports_discord() -> None:
    """Every module under bot/ (found by walking the tree, so a new module is checked too) outside the
    adapter is transport-free."""
    modules = _bot_modules()
    assert ROOT / "bot" / "digest" / "scheduler.py" in modules  # the walk sees the digest package
    offenders = [p.relative_to(ROOT).as_posix() for p in modules
                 if TRANSPORT not in p.parents and any(i.split(".")[0] == "discord" for i in _imports(p))]
    assert offenders == []


def test_the_schedule_rules_are_pure() -> None:
    path = ROOT / "bot" / "digest" / "schedule.py"
    imported = {i.split(".")[0] for i in _imports(path)}
    assert not imported & IO_LIBRARIES, imported & IO_LIBRARIES
    assert not any(i.startswith(("bot.digest.store", "bot.digest.scheduler")) for i in _imports(path))


def test_the_store_knows_nothing_of_the_scheduler() -> None:
    assert not any(i.startswith("bot.digest.scheduler") for i in _imports(ROOT / "bot" / "digest" / "store.py"))



def test_every_error_class_lives_in_its_layers_error_module_and_is_in_the_one_tree() -> None:
    import re

    import retrieval.errors

    root = Path(__file__).resolve().parents[2]
    homes = {"retrieval/errors.py", "bot/errors.py"}
    sources = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
               for layer in ("retrieval", "bot") for p in sorted((root / layer).rglob("*.py"))}
    classes = [(node.name, [getattr(b, "id", getattr(b, "attr", "")) for b in node.bases], where)
               for where, text in sources.items() for node in ast.walk(ast.parse(text))
               if isinstance(node, ast.ClassDef)]
    errors: dict[str, str] = {}
    while True:  # a class is an error when its name says so or it derives from one
        new = {name: where for name, bases, where in classes if name not in errors
               and (name.endswith("Error") or any(b in errors for b in bases))}
        if not new:
            break
        errors |= new
    assert {"DigestError", "StoreReadOnly", "PostForbidden", "DataFileError", "ParseError"} <= set(errors)
    assert {name: where for name, where in errors.items() if where not in homes} == {}
    tree = retrieval.errors.__doc__ or ""
    assert [name for name in errors if f" {name} " not in tree] == []
    drawn_elsewhere = [where for where, text in sources.items()
                       if re.search(r"[├└]── +\w+Error\b", text) and where not in homes]
    assert drawn_elsewhere == []
