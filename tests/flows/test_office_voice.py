"""The office's voice: office facts come from office settings, never from catalog text; the
meeting app's terms are the app's; declining them says so. In every offered language. The
office's own advice on an environment question is off until it writes some, shown as its
own, and only in the language it wrote it in; its name follows the reader's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import operations
from bot.rendering import Renderer
from flows import languages
from flows.environment import ENVIRONMENT_ITEMS
from flows.intake import State
from flows.model import OpeningHours
from storage import offices
from tests import golden
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import office_contact, start, verify_dialog, walk_to

LANGS = list(languages.codes())
VOICE = Path(__file__).parent / "transcripts" / "office_voice.txt"


def configure(app, **settings: str) -> None:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        for field, value in settings.items():
            offices.update_office(s, office, field, value)


@pytest.mark.parametrize("lang", LANGS)
def test_the_counter_named_comes_from_the_office_settings(sqlite_app, lang):
    configure(
        sqlite_app,
        name="ハローワーク品川 Hello Work Shinagawa",
        phone="03-0000-0000",
        hours="mon-wed,fri 09:00-16:00",
    )
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start(lang) + [("click:terms.choice.decline_terms", "terms.declined")])
    r = Renderer(lang)
    said = r.msg(office_contact(sqlite_app))
    assert said in chat.text and "03-0000-0000" in said
    hours = OpeningHours(tuple((day, "09:00", "16:00") for day in (0, 1, 2, 4)))
    assert r.param(hours) in said  # "mon-wed,fri 09:00-16:00", in the language's day names
    assert "8:30" not in chat.text and "8時30分" not in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_meeting_apps_terms_are_named_linked_and_their_refusal_explained(sqlite_app, lang):
    configure(sqlite_app, meeting_app_terms_url="https://example.org/app-terms")
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CONFIRMING_MEETING_APP)
    assert "https://example.org/app-terms" in chat.text and "Zoom" in chat.text
    chat.click("meeting_app.choice.decline_app")
    assert chat.ids[0] == "meeting_app.declined"
    assert chat.sees(
        "meeting_app.declined", meeting_app="Zoom", contact=office_contact(sqlite_app)
    )


def explain_antivirus(app, lang: str) -> ChatClient:  # type: ignore[no-untyped-def]
    """Return a jobseeker who answered yes up to the antivirus item and asked what it means."""
    chat = ChatClient(app)
    walk_to(chat, lang, State.CHECKING_ENVIRONMENT)
    for key in ENVIRONMENT_ITEMS[: ENVIRONMENT_ITEMS.index("antivirus")]:
        chat.click(f"environment.{key}.yes")
    assert chat.sees("environment.antivirus.ask")
    chat.click("environment.choice.explain")
    return chat


ASKED_AGAIN = [
    "environment.antivirus.explain",
    "environment.question",
    "environment.antivirus.ask",
]
ADVICE_JA = "スマートフォンでは、有料のウイルス対策アプリ（月額のもの）を入れてください。"
ADVICE_EN = "On a smartphone, a paid antivirus app (a monthly plan) counts."


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_without_advice_the_explanation_is_the_terms_alone(sqlite_app, lang):
    chat = explain_antivirus(sqlite_app, lang)
    assert chat.ids == ASKED_AGAIN
    golden.check(VOICE, f"[{lang}]\n{chat.text}")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_offices_advice_follows_the_explanation_as_its_own(sqlite_app, lang):
    configure(
        sqlite_app,
        **{"name.en": "Hello Work Shinagawa"},
        **{"advice.antivirus.ja": ADVICE_JA, "advice.antivirus.en": ADVICE_EN},
    )
    chat = explain_antivirus(sqlite_app, lang)
    assert chat.ids == [ASKED_AGAIN[0], "environment.office_advice", *ASKED_AGAIN[1:]]
    golden.check(VOICE, f"[{lang}]\n{chat.text}")
    other = ADVICE_EN if lang == "ja" else ADVICE_JA
    assert other not in chat.text


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_advice_missing_in_the_readers_language_shows_nothing(sqlite_app, lang):
    configure(sqlite_app, **{"advice.antivirus.ja": ADVICE_JA})
    chat = explain_antivirus(sqlite_app, lang)
    assert chat.ids == ASKED_AGAIN
    assert ADVICE_JA not in chat.text
    golden.check(VOICE, f"[{lang}]\n{chat.text}")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_office_is_named_in_the_readers_language(sqlite_app, lang):
    configure(sqlite_app, phone="03-0000-0000", **{"name.en": "Hello Work Shinagawa"})
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start(lang) + [("click:terms.choice.decline_terms", "terms.declined")])
    name = {"ja": "ハローワーク品川", "en": "Hello Work Shinagawa"}[lang]
    hours = Renderer(lang).param(OpeningHours(tuple((d, "08:30", "17:15") for d in range(5))))
    expected = Renderer(lang).text("office.contact", name=name, phone="03-0000-0000", hours=hours)
    assert expected in chat.text
    assert ("ハローワーク品川" in chat.text) == (lang == "ja")


def test_the_offices_words_are_kept_on_each_backend(app):
    """Set, read back in a new transaction, and remove: names, advice, the host template."""
    settings = {
        "name.en": "Hello Work Shinagawa",
        "advice.network.en": "Try a video call with a friend first.",
        "advice.network.ja": "事前に知人とビデオ通話を試してください。",
        "meeting_host_url_template": "https://meet.example.org/host/{token}",
    }
    for field, value in settings.items():
        with app.db.transaction() as s:
            office = offices.get_office(s, "shinagawa")
            operations.change_office(s, office, app.vault, field, value, now=app.clock())
    with app.db.transaction() as s:
        profile = offices.profile(offices.get_office(s, "shinagawa"))
    assert profile.names == (("en", "Hello Work Shinagawa"),)
    assert profile.advice == (
        ("network", "en", "Try a video call with a friend first."),
        ("network", "ja", "事前に知人とビデオ通話を試してください。"),
    )
    for field in settings:
        with app.db.transaction() as s:
            office = offices.get_office(s, "shinagawa")
            operations.change_office(s, office, app.vault, field, "", now=app.clock())
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        assert (office.names, office.advice, office.meeting_host_url_template) == ({}, {}, "")
