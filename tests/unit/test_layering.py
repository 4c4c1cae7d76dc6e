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


def test_the_result_types_load_no_search_machinery() -> None:
    # The command layer names hits and results; that alone must not pay for jieba, numpy and rank_bm25.
    code = (
        "import sys, bot.results\n"
        "print(','.join(sorted(n for n in ('jieba', 'numpy', 'rank_bm25') if n in sys.modules)))\n"
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
    # The Discord renderer is embeds.render; the alerts' part of it lives beside it (embeds.py is at the size limit)
    # and is reached only through embeds.render and the DM sender.
    assert set(builders) <= {"bot/discord_adapter/embeds.py", "bot/discord_adapter/alert_embeds.py"}, builders


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
    assert not any(i.startswith(("bot.store", "bot.digest.scheduler")) for i in _imports(path))


def test_the_store_knows_nothing_of_the_scheduler() -> None:
    modules = sorted((ROOT / "bot" / "store").glob("*.py"))
    assert modules
    assert not any(i.startswith("bot.digest.scheduler") for p in modules for i in _imports(p))



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


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Every import of every module of bot/ and retrieval/ (module level, function level and TYPE_CHECKING alike),
    resolved to the project's own modules: a name imported from a package counts as the package, and importing a
    module imports the packages above it (their ``__init__`` runs first)."""
    paths = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "retrieval").rglob("*.py")])
    modules = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            # Importing bot.digest.schedule runs bot/digest/__init__.py first: the package is imported too.
            while imported:
                if imported != name and not name.startswith(imported + "."):
                    targets.add(imported)
                imported = imported.rpartition(".")[0]
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative enough for us)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_bot_or_retrieval() -> None:
    """Not even through a function-level or TYPE_CHECKING import: a package's ``__init__`` counts as the package,
    so re-exporting a module that imports the package back is a cycle too."""
    assert _cycles(_import_graph()) == []


MODULE_MAX_LINES = 500


def test_no_module_is_over_500_lines() -> None:
    """A module a newcomer can read in one sitting; a longer one has a seam to split along."""
    modules = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "retrieval").rglob("*.py")]
    long = {p.relative_to(ROOT).as_posix(): n for p in modules
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MODULE_MAX_LINES}
    assert long == {}
