"""The office's voice: office facts come from office settings, never from catalog text; the
meeting app's terms are the app's; declining them says so. In every offered language."""

from __future__ import annotations

import pytest

from bot.rendering import Renderer
from flows import languages
from flows.intake import State
from flows.model import OpeningHours
from storage import offices
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import office_contact, start, verify_dialog, walk_to

LANGS = list(languages.codes())


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
