"""Transcripts of whole intakes, in every offered language, through storage and rendering.

Each step is (what the user does, a message id they must see). Clicks name the button's
label id, so the same transcript runs in both languages.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.dates import get_timezone_name
from sqlalchemy import func, select

from bot import counselors
from bot.rendering import OFFICE_TZ, Renderer
from flows import languages
from flows.intake import State
from flows.model import Msg
from flows.office_contact import contact
from flows.terms_document import terms
from storage import offices
from storage.models import Booking, Consent
from tests import golden
from tests.chat_client import ChatClient

LANGS = list(languages.codes())


DIALOGS = Path(__file__).parent / "transcripts" / "dialogs.txt"


def verify_dialog(chat: ChatClient, steps: list[tuple[str, str]]) -> None:
    """Play (action, expected message id) pairs; actions are `click:<label>` or typed text.

    Each step must show its message id, and the whole exchange (every action, every reply
    as the user reads it, choices included) must match `transcripts/dialogs.txt`.
    """
    exchange = []
    for number, (action, expected) in enumerate(steps, 1):
        if action.startswith("click:"):
            chat.click(action[len("click:") :])
        else:
            chat.send(action)
        assert expected in chat.ids, (
            f"step {number} {action!r}: expected {expected}, got {chat.ids}"
        )
        exchange.append(f"> {action}\n{chat.text}")
    golden.check(DIALOGS, f"[{chat.language}]\n" + "\n\n".join(exchange))


def start(lang: str) -> list[tuple[str, str]]:
    return [
        ("/start", "language.ask"),
        (f"click:language.native.{lang}", "terms.summary"),
    ]


def zone_name(lang: str) -> str:
    """Return the office's time zone as spelled out in `lang` (in a booking's date)."""
    at = datetime(2026, 11, 25, tzinfo=UTC).astimezone(OFFICE_TZ)
    return get_timezone_name(at, width="long", locale=Renderer(lang).locale)


def office_contact(app) -> Msg:  # type: ignore[no-untyped-def]
    """Return how the office is named to jobseekers, from its settings."""
    with app.db.transaction() as session:
        return contact(offices.profile(offices.get_office(session, app.settings.office)))


def walk_to(chat: ChatClient, lang: str, state: State, **answers: str) -> ChatClient:
    """Start, then answer as the scripted jobseeker until the conversation is at `state`."""
    chat.walk(lang, until=state, answers={State[k.upper()]: v for k, v in answers.items()})
    return chat


def book_first_free(chat: ChatClient) -> None:
    chat.press(chat.choice_ids[0])  # first day
    assert "booking.time.ask" in chat.ids
    chat.press(chat.choice_ids[0])  # first time
    assert "booking.confirm.ask" in chat.ids
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("lang", LANGS)
def test_booked_with_meeting_link_and_consent(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start(lang))
    walk_to(chat, lang, State.CHOOSING_ACCOMMODATION)
    verify_dialog(
        chat,
        [
            ("click:accommodation.kind.none", "accommodation.note.ask"),
            ("click:accommodation.note.skip", "booking.day.ask"),
        ],
    )
    book_first_free(chat)
    assert chat.language == lang
    assert "https://meet.madoguchi.invalid/shinagawa/" in chat.text
    assert zone_name(lang) in chat.text  # the time zone is spelled out
    with sqlite_app.db.transaction() as session:
        consents = session.scalars(select(Consent).order_by(Consent.id)).all()
        booking = session.scalars(select(Booking)).one()
    assert [c.document for c in consents] == ["terms", "meeting_app:Zoom"]
    assert consents[0].version == "2022-04-01" and consents[0].language == lang
    assert len(consents[0].text_hash) == 64
    assert booking.status == "booked" and booking.reference in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_not_registered_explains_and_resumes(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start(lang))
    walk_to(chat, lang, State.ASKING_REGISTRATION)
    verify_dialog(
        chat,
        [
            ("click:eligibility.registration.not_yet", "eligibility.not_registered.explain"),
            ("click:eligibility.not_registered.done", "eligibility.registration.ask"),
            ("click:eligibility.registration.online", "eligibility.registration.online_note"),
        ],
    )
    assert "eligibility.number.ask" in chat.ids


@pytest.mark.parametrize("lang", LANGS)
def test_no_camera_ends_with_explanation(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.ASKING_REGISTRATION)
    verify_dialog(
        chat,
        [
            ("click:eligibility.registration.office", "eligibility.number.ask"),
            ("click:eligibility.number.unknown", "eligibility.number.unknown_ack"),
            ("click:eligibility.device.no", "eligibility.no_device.explain"),
        ],
    )
    assert chat.choice_labels == ["eligibility.no_device.now_have"]
    assert count(sqlite_app, Booking) == 0


@pytest.mark.parametrize("lang", LANGS)
def test_environment_no_then_fixed_it(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CHECKING_ENVIRONMENT)
    verify_dialog(
        chat,
        [
            ("click:environment.choice.explain", "environment.malware.explain"),
            ("click:environment.malware.no", "environment.malware.fix"),
            ("click:environment.choice.later", "environment.paused"),
            ("click:environment.choice.resume", "environment.malware.ask"),
            ("click:environment.malware.no", "environment.malware.fix"),
            ("click:environment.choice.fixed", "environment.malware.ask"),
        ],
    )
    walk_to(chat, lang, State.CONFIRMING_CONDITIONS)
    assert chat.ids == ["environment.done", "conditions.private_room.ask"]


@pytest.mark.parametrize("lang", LANGS)
def test_terms_declined_points_to_the_counter(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    verify_dialog(
        chat,
        start(lang)
        + [
            ("click:terms.choice.read", "terms.page"),
            ("click:terms.choice.next", "terms.page"),
            ("click:terms.choice.decline_terms", "terms.declined"),
        ],
    )
    assert count(sqlite_app, Consent) == 0
    assert Renderer(lang).msg(office_contact(sqlite_app)) in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_full_terms_are_paged_article_by_article(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start(lang) + [("click:terms.choice.read", "terms.page")])
    headings = [section.heading for section in terms(lang).sections]
    assert headings[0] in chat.text and headings[1] not in chat.text  # the preamble first
    chat.click("terms.choice.next")
    assert headings[1] in chat.text
    assert headings[2] not in chat.text
    for _ in range(20):
        if "terms.choice.next" not in chat.choice_labels:
            break
        chat.click("terms.choice.next")
    assert headings[-1] in chat.text
    chat.click("terms.choice.agree_terms")
    assert "meeting_app.ask" in chat.ids


@pytest.mark.parametrize("lang", LANGS)
def test_interpreter_request_reaches_the_counselor(sqlite_app, lang, capsys):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CHOOSING_ACCOMMODATION)
    verify_dialog(
        chat,
        [
            ("click:accommodation.kind.interpreter", "accommodation.interpreter.ask"),
            ("x" * 41, "common.hint.too_long"),
            ("ベトナム語 Vietnamese", "accommodation.ask_more"),
            ("click:accommodation.choice.done", "accommodation.note.ask"),
            ("車椅子を使います", "booking.day.ask"),
        ],
    )
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    assert "accommodation.summary.interpreter" in chat.ids
    assert "ベトナム語 Vietnamese" in chat.text
    chat.click("booking.choice.confirm")
    out = io.StringIO()
    assert (
        counselors.deliver(
            sqlite_app.db, sqlite_app.vault, language="ja", out=out, now=sqlite_app.clock
        )
        == 1
    )
    note = out.getvalue()
    assert "ベトナム語 Vietnamese" in note and "車椅子を使います" in note
    assert "*****-****5678" in note and "13010-12345678" not in note
    assert "会議のリンク：https://meet.madoguchi.invalid/shinagawa/" in note  # how to join
    assert (
        counselors.deliver(
            sqlite_app.db, sqlite_app.vault, language="ja", out=out, now=sqlite_app.clock
        )
        == 0
    )


@pytest.mark.parametrize("lang", LANGS)
def test_sign_language_and_assistant_requests(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CHOOSING_ACCOMMODATION)
    verify_dialog(
        chat,
        [
            ("click:accommodation.kind.assistant", "accommodation.assistant.ask"),
            ("母 / mother", "accommodation.ask_more"),
            ("click:accommodation.choice.done", "accommodation.note.ask"),
            ("click:accommodation.note.skip", "booking.day.ask"),
        ],
    )
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    assert "母 / mother" in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_an_interpreter_and_an_assistant_both_reach_the_counselor(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CHOOSING_ACCOMMODATION)
    verify_dialog(
        chat,
        [
            ("click:accommodation.kind.interpreter", "accommodation.interpreter.ask"),
            ("ベトナム語 Vietnamese", "accommodation.ask_more"),
            ("click:accommodation.kind.assistant", "accommodation.assistant.ask"),
            ("母 / mother", "accommodation.ask_more"),
            ("click:accommodation.choice.done", "accommodation.note.ask"),
            ("click:accommodation.note.skip", "booking.day.ask"),
        ],
    )
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    assert "ベトナム語 Vietnamese" in chat.text and "母 / mother" in chat.text
    chat.click("booking.choice.confirm")
    out = io.StringIO()
    counselors.deliver(
        sqlite_app.db, sqlite_app.vault, language="ja", out=out, now=sqlite_app.clock
    )
    assert "通訳者（ベトナム語 Vietnamese）、介助者・付き添い（母 / mother）" in out.getvalue()
