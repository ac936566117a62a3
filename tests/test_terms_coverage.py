"""docs/terms-coverage.md stays true: every message id and state it names exists, in every
language, and every article of the terms has a row."""

from __future__ import annotations

import re
from pathlib import Path

from bot.rendering import catalog
from flows import languages
from flows.intake import State

DOC = Path(__file__).resolve().parents[1] / "docs" / "terms-coverage.md"


def test_every_message_id_and_state_named_exists():
    text = DOC.read_text(encoding="utf-8")
    names = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)*)`", text))
    states = {s.value for s in State}
    ids = {n for n in names if "." in n}
    assert ids, "the page names no message ids"
    for code in languages.codes():
        missing = ids - set(catalog(code))
        assert not missing, f"{code} lacks {sorted(missing)}"
    named_states = {n for n in names if "." not in n and n in states}
    assert {"reviewing_terms", "checking_environment", "service_stopped"} <= named_states


def test_every_article_has_a_row():
    rows = re.findall(r"^\| (\S+) \|", DOC.read_text(encoding="utf-8"), re.M)
    articles = {row.split("(")[0] for row in rows}
    assert {str(n) for n in range(1, 15)} <= articles and "前文" in articles
