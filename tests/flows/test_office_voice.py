"""The office's voice: office facts come from office settings, never from catalog text; the
meeting app's terms are the app's; declining them says so. In ja and en."""

from __future__ import annotations

import pytest

from flows.intake import State
from storage import offices
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import start, verify_dialog, walk_to

LANGS = ["ja", "en"]


def configure(app, **settings: str) -> None:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        for field, value in settings.items():
            offices.update_office(s, office, field, value)


@pytest.mark.parametrize("lang", LANGS)
def test_the_counter_named_comes_from_the_office_settings(sqlite_app, lang):
    configure(
        sqlite_app,
        name="ハローワーク品川" if lang == "ja" else "Hello Work Shinagawa",
        phone="03-0000-0000",
        hours="mon-wed,fri 09:00-16:00",
    )
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start(lang) + [("click:terms.choice.decline", "terms.declined")])
    if lang == "ja":
        assert (
            "ハローワーク品川（電話 03-0000-0000、受付時間 月～水 09:00～16:00、金 09:00～16:00"
            in chat.text
        )
    else:
        assert (
            "Hello Work Shinagawa (phone 03-0000-0000; open Mon–Wed 09:00–16:00, Fri 09:00–16:00"
            in chat.text
        )
    assert "8:30" not in chat.text and "8時30分" not in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_meeting_apps_terms_are_named_linked_and_their_refusal_explained(sqlite_app, lang):
    configure(sqlite_app, meeting_app_terms_url="https://example.org/app-terms")
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CONFIRMING_MEETING_APP)
    assert "https://example.org/app-terms" in chat.text and "Zoom" in chat.text
    chat.click("meeting_app.choice.decline")
    assert chat.ids[0] == "meeting_app.declined"
    assert ("Zoom" in chat.text) and (
        "第4条" in chat.text if lang == "ja" else "art. 4" in chat.text
    )
