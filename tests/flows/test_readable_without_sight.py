"""Readable without sight, in every offered language, checked on the rendered text of every
state: each option label makes sense read alone (no bare yes/no, never only emoji or
symbols, unique within its message); after a wrong answer the reply says what was wrong and
repeats only the question with the same options (no long block read again); the pages of
the terms keep the same options in the same order, and a reference translation offers the
Japanese original of each page and comes back to that page."""

from __future__ import annotations

import re
import unicodedata

import pytest

from bot.console.chat import to_event
from bot.rendered import RenderedMessage, render_payload
from bot.rendering import Renderer, catalog
from flows import languages
from flows.accommodations import NOTE_MAX, SHORT_ANSWER_MAX
from flows.intake import INITIAL, TABLE, State
from flows.model import Event
from flows.terms_document import terms
from tests.chat_client import ChatClient
from tests.flows.test_commands_everywhere import reach

BARE_ANSWERS = {
    # ja, ja_easy, en, vi, zh, pt: a label that is only one of these says nothing read alone
    *("はい", "いいえ", "ええ", "うん", "いや", "ok", "okay", "yes", "no", "y", "n"),
    *("có", "không", "vâng", "dạ", "được", "是", "否", "是的", "不是", "对", "不", "好"),
    *("sim", "não", "nao", "ok", "certo"),
    *("同意する", "同意しない", "iagree", "idonotagree", "agree", "disagree"),
}
LONGEST_BLOCK = 200
"""After a wrong answer, no block but the question is longer (the hint says what was wrong)."""

WRONG_TEXT = {
    State.ASKING_JOBSEEKER_NUMBER: "not a number",
    State.ASKING_INTERPRETER_LANGUAGE: "x" * (SHORT_ANSWER_MAX + 1),
    State.ASKING_ASSISTANT_RELATIONSHIP: "x" * (SHORT_ANSWER_MAX + 1),
    State.ASKING_NOTE: "x" * (NOTE_MAX + 1),
}
"""What is a wrong answer where text is an answer (too long, not a number)."""


def _key(label: str) -> str:
    return re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", label).casefold())


def _says_something(label: str) -> bool:
    """Return True when a label has a letter or a digit (not only emoji, symbols, marks)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in label)


def shown(chat: ChatClient) -> RenderedMessage:
    """Return the last message that offers choices (or the last one), as rendered."""
    rendered = [render_payload(p, files=False) for p in chat.payloads]
    with_choices = [r for r in rendered if r.choices]
    return (with_choices or rendered)[-1]


def check_labels(message: RenderedMessage, where: str) -> None:
    labels = [c.label for c in message.choices]
    for label in labels:
        assert _key(label) not in BARE_ANSWERS, f"{where}: {label!r} says nothing alone"
        assert _says_something(label), f"{where}: {label!r} is only symbols"
    assert len(set(labels)) == len(labels), f"{where}: labels repeat: {labels}"


def at(sqlite_app, state: State, lang: str, user: str) -> ChatClient:  # type: ignore[no-untyped-def]
    """Bring a user to `state` (as a user would), then switch to `lang` (same step)."""
    chat = ChatClient(sqlite_app, user=user)
    reach(chat, state)
    if state != INITIAL:
        chat.send("/language").click(f"language.native.{lang}")
        assert chat.position()[0] == state
    return chat


def wrong_answers(state: State) -> list[str]:
    typed = [WRONG_TEXT[state]] if state in WRONG_TEXT else []
    if not TABLE[state].accepts_text:
        typed.append("zzzz qqqq")  # words that name no option
    return [*typed, "/nonsense", "stale"]


@pytest.mark.parametrize("lang", languages.codes())
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_every_state_reads_well_without_sight(sqlite_app, state, lang):
    chat = at(sqlite_app, state, lang, f"{state.value}-{lang}")
    asked = shown(chat)
    check_labels(asked, f"{state.value} [{lang}]")
    for wrong in wrong_answers(state):
        before = chat.position()
        if wrong == "stale":
            chat.press(chat.choice_ids[0] if chat.choice_ids else "x", turn=chat.turn - 1)
        else:
            chat.send(wrong)
        assert chat.position() == before, f"{state.value} [{lang}] {wrong!r}: moved"
        [payload] = chat.payloads
        again = render_payload(payload, files=False)
        where = f"{state.value} [{lang}] after {wrong!r}"
        *explaining, question = again.blocks
        assert explaining, f"{where}: nothing says what was wrong"
        # before a language is chosen, the hint and the question are said in every language
        longest = LONGEST_BLOCK * (len(languages.codes()) if state == INITIAL else 1)
        for block in explaining:
            assert len(block) <= longest, f"{where}: a long block again: {block[:80]}…"
        assert len(question) <= longest, f"{where}: the question is long: {question}"
        assert again.choices == asked.choices, f"{where}: not the same options"


@pytest.mark.parametrize("lang", languages.codes())
def test_terms_pages_keep_their_options_and_offer_the_original(sqlite_app, lang):
    chat = at(sqlite_app, State.READING_TERMS, lang, f"pages-{lang}")
    doc, original = terms(lang), terms(languages.original_terms_code())
    assert len(doc.sections) == len(original.sections)  # page n is article n in both
    r = Renderer(lang)
    first = shown(chat)
    ids = [c.id for c in first.choices]
    reference = not languages.get(lang).authoritative_terms
    assert ("page:original" in ids) == reference
    for page in range(len(doc.sections) + 1):  # past the last page too: it stays there
        message = shown(chat)
        number = min(page, len(doc.sections) - 1)
        assert [c.id for c in message.choices] == ids, page
        assert message.choices == first.choices
        section = doc.sections[number]
        assert message.blocks[-2:] == (
            r.text("terms.page", number=number + 1, total=len(doc.sections)),
            f"{section.heading}\n\n{section.body}",
        )
        if reference:
            chat.press("page:original")
            again = render_payload(chat.payloads[-1], files=False)
            ja = original.sections[number]
            assert again.blocks[:2] == (
                r.text("terms.original", number=number + 1, total=len(original.sections)),
                f"{ja.heading}\n\n{ja.body}",
            )
            assert again.blocks[2:] == (message.blocks[-2],)  # back at the page: its number
            assert again.choices == first.choices
            assert chat.stored().data["terms_page"] == number
        chat.press("page:next")
    chat.app.intake.handle_event(
        chat.channel, chat.user, Event("choice", "terms:agree", chat.turn)
    )
    chat._collect()
    assert chat.position()[0] == State.CONFIRMING_MEETING_APP


def test_typed_words_still_pick_an_option(sqlite_app):
    """Labels that say what they answer still start with the word people type."""
    chat = at(sqlite_app, State.ASKING_DEVICE, "ja", "typed-ja")
    chat.app.intake.handle_event(chat.channel, chat.user, to_event("はい"))
    chat._collect()
    assert chat.position()[0] == State.CHECKING_ENVIRONMENT
    chat = at(sqlite_app, State.ASKING_DEVICE, "en", "typed-en")
    chat.send("no")
    assert chat.position()[0] == State.NO_DEVICE


@pytest.mark.parametrize("lang", languages.codes())
def test_no_emoji_or_symbol_carries_meaning_alone(lang):
    """A line of any text that has a symbol (emoji, ✓, ✗) says it in words too."""
    for message_id, text in catalog(lang).items():
        for line in text.splitlines():
            if any(unicodedata.category(ch) == "So" for ch in line):
                assert _says_something(line), f"{lang}:{message_id}: {line!r}"
