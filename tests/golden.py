"""Whole replies, word for word: transcripts kept in text files beside the tests.

A test hands over what the user did and everything the bot answered; the first local run of
a new test, or a run with `MADOGUCHI_REGENERATE=1`, writes it (in CI a missing one fails),
and every other run must match it exactly. Read the diff of a regenerated file like any
other change of wording.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

_VOLATILE = [
    (re.compile(r"HW-[A-Z0-9]{6}"), "HW-XXXXXX"),  # booking references are random
    (re.compile(r"DEL-[A-Z0-9]{8}"), "DEL-XXXXXXXX"),  # so are erasure receipt numbers
    (re.compile(r"(https://meet\.madoguchi\.invalid/shinagawa/)[A-Za-z0-9_-]+"), r"\1TOKEN"),
]
_HEADER = re.compile(r"^===== (.+) =====$", re.M)
_calls: Counter[str] = Counter()


def normalized(text: str) -> str:
    """Return `text` with random references and meeting tokens replaced by placeholders."""
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    raw = path.read_text(encoding="utf-8")
    parts = _HEADER.split(raw)
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts), 2)}


def _write(path: Path, sections: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"===== {name} =====\n{sections[name]}\n\n" for name in sorted(sections))
    path.write_text(body, encoding="utf-8")


def _running() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0]


def current_test() -> str:
    """Return the running test's name with its parameters, without the backend (the
    transcript is the same on SQLite and PostgreSQL)."""
    name = _running().split("::")[-1]
    return re.sub(r"\b(sqlite|postgresql)-?|-?(sqlite|postgresql)\b", "", name).replace("[]", "")


def check(path: Path, text: str) -> None:
    """Compare one transcript of the running test with its section in `path`."""
    _calls[_running()] += 1
    name = f"{current_test()} #{_calls[_running()]}"
    text = normalized(text).strip("\n")
    sections = _read(path)
    if name not in sections and os.environ.get("CI"):
        raise AssertionError(f"{name}: no transcript in {path.name}; regenerate it and commit")
    if os.environ.get("MADOGUCHI_REGENERATE") == "1" or name not in sections:
        sections[name] = text
        _write(path, sections)
        return
    assert text == sections[name], f"{name}: the transcript differs from {path.name}"
