"""Every message the code can show exists in every language, with the same placeholders."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

from bot.rendering import catalog, placeholders
from flows import languages
from flows.accommodations import ACCOMMODATIONS
from flows.conditions import CONDITIONS
from flows.environment import ENVIRONMENT_ITEMS
from flows.machine import COMMANDS
from flows.terms_document import terms

ROOT = pathlib.Path(__file__).resolve().parents[1]
MESSAGE_ID = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
NOT_MESSAGES = {"languages.json", "messages.po", "secret.key", "intake.mmd", "uvicorn.access"}


def used_message_ids() -> set[str]:
    """Return the literal message ids in flows/ and bot/, plus the ones built from data."""
    found: set[str] = set()
    for folder in ("flows", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if MESSAGE_ID.match(node.value) and not node.value.startswith("madoguchi."):
                        found.add(node.value)
    found -= NOT_MESSAGES
    found |= {f"language.native.{code}" for code in languages.codes()}
    found |= {
        f"environment.{k}.{part}"
        for k in ENVIRONMENT_ITEMS
        for part in ("ask", "explain", "fix", "yes", "no")
    }
    found |= {
        f"conditions.{k}.{part}"
        for k in CONDITIONS
        for part in ("ask", "unmet", "agree", "cannot")
    }
    found |= {f"accommodation.{part}.{k}" for k in ACCOMMODATIONS for part in ("kind", "summary")}
    found |= {f"booking.summary.registration.{k}" for k in ("office", "online")}
    found |= {f"channel.{k}" for k in ("console", "telegram", "line")}
    found |= {f"telegram.command.{name}" for name in COMMANDS}
    found.add("common.what_next")
    from bot.slack.blocks import ACTIONS

    found |= {f"slack.{part}.{a}" for a in ACTIONS for part in ("history", "button")}
    found |= {
        f"slack.modal.{a}.{p}" for a in ("cancel", "stop_service") for p in ("title", "explain")
    }
    found |= {f"slack.outcome.{o}" for o in ("already", "not_found", "too_early")}
    found |= {f"slack.status.{s}" for s in ("booked", "cancelled", "no_show", "held", "released")}
    found |= {f"slack.schedule.{v}" for v in ("today", "week")}
    from storage.ports import SHOWN_STATUSES

    found |= {f"mydata.status.{s}" for s in SHOWN_STATUSES}
    return found


@pytest.mark.parametrize("lang", languages.codes())
def test_every_used_message_is_translated(lang):
    needed = {m for m in used_message_ids() if languages.needs(lang, m)}
    missing = sorted(needed - set(catalog(lang)))
    assert missing == []


def test_catalogs_have_the_same_ids_and_placeholders():
    reference = catalog(languages.default_code())
    for lang in languages.codes():
        texts = catalog(lang)
        assert set(texts) == {m for m in reference if languages.needs(lang, m)}, lang
        for key, text in texts.items():
            assert text.strip(), f"{lang}:{key} is empty"
            assert placeholders(text) == placeholders(reference[key]), f"{lang}:{key}"


def test_counselors_work_only_in_languages_with_the_office_side():
    assert set(languages.counselor_codes()) >= {"ja", "en"}
    for lang in languages.codes():
        if lang not in languages.counselor_codes():
            assert not any(m.startswith(languages.COUNSELOR_ONLY) for m in catalog(lang)), lang


def test_japanese_catalog_is_japanese():
    ja = catalog("ja")
    assert re.search(r"[ぁ-んァ-ン一-龯]", ja["terms.summary"])
    assert ja["terms.summary"] != catalog("en")["terms.summary"]


@pytest.mark.parametrize("lang", languages.codes())
def test_terms_text_has_the_preamble_and_fourteen_articles(lang):
    doc = terms(lang)
    assert doc.version == "2022-04-01"
    assert len(doc.sections) == 15
    assert all(len(s.heading) + len(s.body) < 3500 for s in doc.sections)


def test_english_terms_say_the_japanese_text_prevails():
    assert "the Japanese text prevails" in terms("en").sections[0].body
    assert not languages.get("en").authoritative_terms and languages.get("ja").authoritative_terms
