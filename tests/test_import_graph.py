"""The project's import graph: no cycles anywhere in bot/, flows/, storage/, and the layers hold.

Every import is read with `ast`, at any depth (function-local ones too, which hide a cycle
until the function runs), and resolved to a project module. This test must never import
the modules it checks: it reads them as text.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "flows", "storage")
# package → the packages it must never import (flows is pure; storage decides nothing)
FORBIDDEN = {"flows": ("storage", "bot"), "storage": ("bot",)}

Graph = Mapping[str, frozenset[str]]


def module_name(root: Path, path: Path) -> str:
    """Return the dotted name of a source file under `root`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Return every module of `packages` under `root`, by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def imported(name: str, path: Path, known: Iterable[str]) -> frozenset[str]:
    """Return the project modules that module `name` imports, anywhere in its body."""
    known = set(known)
    is_package = path.name == "__init__.py"
    targets: set[str] = set()

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in known:  # `import bot.x.y` where y is not a module
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            # `from bot import web` imports the module bot.web; `from bot.web import x` bot.web
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            target = resolve(candidate)
            if target is not None and target != name:
                targets.add(target)
    return frozenset(targets)


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, frozenset[str]]:
    """Return module → the project modules it imports."""
    found = modules(root, packages)
    return {name: imported(name, path, found) for name, path in found.items()}


def find_cycle(graph: Graph) -> list[str] | None:
    """Return one import cycle as a path (first module repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            if child in on_path:
                return path[path.index(child) :] + [child]
            if child in done or child not in graph:
                continue
            stack.append((child, iter(sorted(graph[child]))))
            path.append(child)
            on_path.add(child)
    return None


def find_cycles(graph: Graph) -> list[list[str]]:
    """Return one cycle per tangle of mutually importing modules (none: the graph is a DAG)."""
    cycles = []
    remaining = dict(graph)
    while (cycle := find_cycle(remaining)) is not None:
        cycles.append(cycle)
        tangle = reachable_from(remaining, cycle[0]) & reaching(remaining, cycle[0])
        remaining = {m: t - tangle for m, t in remaining.items() if m not in tangle}
    return cycles


def reachable_from(graph: Graph, start: str) -> set[str]:
    """Return the modules `start` imports, directly or not (and itself)."""
    seen, todo = {start}, [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def reaching(graph: Graph, target: str) -> set[str]:
    """Return the modules that import `target`, directly or not (and itself)."""
    reverse: dict[str, set[str]] = {}
    for importer, targets in graph.items():
        for imported_module in targets:
            reverse.setdefault(imported_module, set()).add(importer)
    return reachable_from({m: frozenset(i) for m, i in reverse.items()}, target)


def layer_violations(graph: Graph) -> list[str]:
    """Return each import that crosses a layer the wrong way, as "importer -> imported"."""
    wrong = []
    for importer, targets in sorted(graph.items()):
        banned = FORBIDDEN.get(importer.split(".")[0], ())
        for target in sorted(targets):
            if target.split(".")[0] in banned:
                wrong.append(f"{importer} -> {target}")
    return wrong


def test_the_project_has_no_import_cycle():
    cycles = find_cycles(import_graph(ROOT, PACKAGES))
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_flows_is_pure_and_storage_does_not_reach_into_bot():
    assert layer_violations(import_graph(ROOT, PACKAGES)) == []


def test_the_graph_sees_every_module_and_function_local_imports():
    graph = import_graph(ROOT, PACKAGES)
    assert {"bot.cli", "flows.machine", "storage.outbox"} <= graph.keys()
    assert "bot.app" in graph["bot.cli"]


def write(root: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # the shape bot/runner.py ⇄ bot/telegram/runner.py had: one side imports late
            {
                "app/__init__.py": "",
                "app/runner.py": "def run():\n    from app.tg import runner\n",
                "app/tg/__init__.py": "",
                "app/tg/runner.py": "from app.runner import run\n",
            },
            ["app.runner", "app.tg.runner", "app.runner"],
        ),
        (  # the shape bot/slack/app.py ⇄ its listeners had: `from package import module`
            {
                "app/__init__.py": "",
                "app/slack.py": "def build():\n    from app.listeners import actions\n",
                "app/listeners/__init__.py": "",
                "app/listeners/actions.py": "from . import views\nfrom ..slack import build\n",
                "app/listeners/views.py": "",
            },
            ["app.listeners.actions", "app.slack", "app.listeners.actions"],
        ),
        (
            {
                "app/__init__.py": "",
                "app/a.py": "import app.b\n",
                "app/b.py": "if True:\n    import app.c.d\n",
                "app/c/__init__.py": "",
                "app/c/d.py": "",
            },
            None,
        ),
    ],
)
def test_a_cycle_is_found_even_through_a_function_local_import(tmp_path, files, expected):
    write(tmp_path, files)
    assert find_cycle(import_graph(tmp_path, ["app"])) == expected


def test_every_tangle_is_listed():
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"a", "c"}),
        "c": frozenset({"d"}),
        "d": frozenset({"c"}),
        "e": frozenset({"a"}),
    }
    assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "c"]]


def test_a_layer_crossing_is_named():
    graph = {
        "flows.a": frozenset({"storage.b"}),
        "storage.b": frozenset({"bot.c"}),
        "bot.c": frozenset(),
    }
    assert layer_violations(graph) == ["flows.a -> storage.b", "storage.b -> bot.c"]
