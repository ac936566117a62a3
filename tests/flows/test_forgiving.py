"""The conversation forgives: an option's own words pick it, the first screen explains what
it did not understand, the terms pages keep their numbering, the language menu keeps its
order, and someone who starts again with a booking is shown it. In every offered language."""

from __future__ import annotations

from datetime import date

import pytest
from babel.dates import format_date

from bot.rendering import Renderer
from flows import languages
from flows.intake import State
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import start, verify_dialog, walk_to

LANGS = list(languages.codes())
FIRST_DAY = date(2026, 11, 25)


@pytest.mark.parametrize("lang", LANGS)
def test_typing_an_options_words_picks_it(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    chat.send("/start")
    r = Renderer(lang)
    chat.send(r.text(f"language.native.{lang}"))
    assert chat.ids == ["terms.summary"] and chat.language == lang
    chat.send(f"  {r.text('terms.choice.agree_terms').upper()} ")  # spaces and case do not matter
    assert chat.ids == ["terms.agreed", "meeting_app.ask"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_typed_day_or_time_picks_it(sqlite_app, lang):
    chat = walk_to(ChatClient(sqlite_app), lang, State.CHOOSING_DAY)
    chat.send(Renderer(lang, compact=True).param(FIRST_DAY))  # as on a small button
    assert chat.ids[0] == "booking.time.ask"
    chat.send("10:00")
    assert chat.ids[0] == "booking.confirm.ask"
    assert "10:00" in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_words_that_could_mean_two_options_are_not_guessed(sqlite_app, lang):
    chat = walk_to(ChatClient(sqlite_app), lang, State.CHOOSING_DAY)
    chat.send(format_date(FIRST_DAY, "MMM", locale=Renderer(lang).locale))  # all in November
    assert chat.ids == ["common.hint.choose", "booking.day.ask"]


def test_the_first_screen_says_what_it_did_not_understand(sqlite_app):
    chat = ChatClient(sqlite_app)
    chat.send("hello")
    assert chat.ids == ["common.welcome", "language.ask"]
    chat.send("français")
    assert chat.ids == ["common.hint.choose", "language.ask"]
    assert "type its number or its words" in chat.text and "番号か言葉" in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_terms_pages_keep_their_numbering(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start(lang))
    chat.click("terms.choice.read")
    pages = []
    for _ in range(20):
        pages.append(chat.choice_labels)
        chat.send("1")  # always "next"
    assert all(labels == pages[0] for labels in pages)
    original = [] if languages.get(lang).authoritative_terms else ["terms.choice.original"]
    assert pages[0] == [
        "terms.choice.next",
        "terms.choice.previous",
        *original,
        "terms.choice.agree_terms",
        "terms.choice.decline_terms",
    ]


def test_the_language_menu_keeps_its_order(sqlite_app):
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start("en"))
    menu = ["lang:ja", "lang:en", "lang:ja_easy", "lang:vi", "lang:zh", "lang:pt"]
    chat.send("/language")
    assert chat.choice_ids == menu  # the order of locales/languages.json, whoever asks
    chat.send("/restart")
    assert chat.choice_ids == menu


@pytest.mark.parametrize("lang", LANGS)
def test_starting_again_with_a_booking_shows_it(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    chat.walk(lang)  # booked
    chat.click("booked.choice.new")
    assert chat.ids[:2] == ["mybooking.already_booked", "mybooking.summary"]
    chat.send("/restart")
    chat.click(f"language.native.{lang}")
    assert chat.ids[:2] == ["mybooking.already_booked", "mybooking.summary"]
    assert "mybooking.choice.cancel" in chat.choice_labels


@pytest.mark.parametrize("lang", LANGS)
def test_an_answer_can_be_changed_at_the_confirmation(sqlite_app, lang):
    chat = walk_to(ChatClient(sqlite_app), lang, State.CONFIRMING_BOOKING)
    held = chat.text.splitlines()[2]  # the date and time line
    verify_dialog(
        chat,
        [
            ("click:booking.choice.change_answer", "booking.change.ask"),
            ("click:answer.note", "accommodation.note.ask"),
            ("車椅子を使います / I use a wheelchair", "booking.confirm.ask"),
            ("click:booking.choice.change_answer", "booking.change.ask"),
            ("click:answer.accommodation", "accommodation.ask"),
            ("click:accommodation.kind.interpreter", "accommodation.interpreter.ask"),
            ("Tiếng Việt", "accommodation.ask_more"),
            ("click:accommodation.choice.done", "booking.confirm.ask"),
            ("click:booking.choice.change_answer", "booking.change.ask"),
            ("click:booking.choice.keep_answers", "booking.confirm.ask"),
        ],
    )
    assert held in chat.text  # the same place, still held
    assert "車椅子を使います / I use a wheelchair" in chat.text and "Tiếng Việt" in chat.text
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
