"""Storage holds repositories and the ports' answers, nothing that decides (DESIGN.md §1a).

No module under storage/ may step the flow, build replies or reach into the application.
"""

from __future__ import annotations

import ast
import pathlib

import storage

STORAGE = pathlib.Path(storage.__file__).parent
FORBIDDEN = ("flows.machine", "flows.dialog", "flows.codec", "bot")


def imported_names(tree: ast.AST) -> list[str]:
    """Return every module a tree imports, `from flows import machine` as `flows.machine`."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def is_forbidden(name: str) -> bool:
    """Return True when `name` is a forbidden module or lies inside one."""
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_storage_imports_neither_the_flow_machine_nor_replies_nor_bot():
    modules = sorted(STORAGE.rglob("*.py"))
    assert len(modules) > 10
    offending = [
        f"{path.relative_to(STORAGE)} imports {name}"
        for path in modules
        for name in imported_names(ast.parse(path.read_text()))
        if is_forbidden(name)
    ]
    assert offending == []


def test_the_check_catches_each_form_of_import():
    source = "import bot.app\nfrom flows import codec\nfrom flows.dialog import say\n"
    names = [n for n in imported_names(ast.parse(source)) if is_forbidden(n)]
    assert names == ["bot.app", "flows.codec", "flows.dialog", "flows.dialog.say"]
    assert not is_forbidden("flows.model") and not is_forbidden("botany")
