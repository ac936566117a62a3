"""`/mydata`, in Japanese and English, through storage and rendering: what the office keeps is
listed in plain words; Keep goes back exactly where the user was; Delete cancels the bookings
ahead (the counselors told), erases every trace and answers with the receipt number; the next
message starts afresh; a stale Delete button erases nothing more; with nothing kept, it says so.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from flows.intake import State
from storage import conversations
from storage.models import AuditEntry, Booking, Consent, Conversation, OutboxMessage
from tests import golden
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import book_first_free, walk_to

LANGS = ["ja", "en"]
MY_DATA = Path(__file__).parent / "transcripts" / "mydata.txt"


def exchange(chat: ChatClient, *actions: str) -> list[str]:
    """Play `actions` (`click:<label id>` or a typed line); return them with the whole replies."""
    lines = []
    for action in actions:
        if action.startswith("click:"):
            chat.click(action[len("click:") :])
        else:
            chat.send(action)
        lines.append(f"> {action}\n{chat.text}")
    return lines


def check(lang: str, lines: list[str]) -> None:
    golden.check(MY_DATA, f"[{lang}]\n" + "\n\n".join(lines))


def rows(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def booked(app, lang: str, user: str = "user-1") -> ChatClient:  # type: ignore[no-untyped-def]
    chat = ChatClient(app, user=user)
    numbers = {} if user == "user-1" else {"asking_jobseeker_number": "13010-00000002"}
    walk_to(chat, lang, State.CHOOSING_DAY, **numbers)
    book_first_free(chat)
    return chat


@pytest.mark.parametrize("lang", LANGS)
def test_mydata_shows_what_is_kept_and_keep_goes_back_where_the_user_was(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CONFIRMING_BOOKING)  # mid-intake, a place held
    before = chat.stored()
    held_text = chat.text
    lines = exchange(chat, "/mydata")
    assert chat.ids[0] == "mydata.summary"
    assert chat.choice_labels == ["mydata.choice.delete", "mydata.choice.keep"]
    assert "*****-****5678" in chat.text and "13010-12345678" not in chat.text  # masked
    assert "2022-04-01" in chat.text and "Zoom" in chat.text  # the consents and versions
    lines += exchange(chat, "click:mydata.choice.keep")
    check(lang, lines)
    after = chat.stored()
    assert after.state == before.state == State.CONFIRMING_BOOKING
    assert after.data == before.data  # nothing lost: answers, the hold, the offered choices
    assert chat.text == held_text  # the same question, word for word
    with sqlite_app.db.transaction() as s:
        assert s.scalar(select(Booking.status)) == "held"
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids  # and it goes on from there


@pytest.mark.parametrize("lang", LANGS)
def test_mydata_delete_cancels_ahead_erases_and_gives_the_receipt(sqlite_app, lang):
    chat = booked(sqlite_app, lang)
    other = booked(sqlite_app, lang, user="user-2")  # someone else, untouched
    assert other.ids[0] == "booking.booked"
    with sqlite_app.db.transaction() as s:
        reference = s.scalar(select(Booking.reference).order_by(Booking.id))
    lines = exchange(chat, "/mydata")
    assert chat.ids[0] == "mydata.summary" and str(reference) in chat.text
    lines += exchange(chat, "click:mydata.choice.delete")
    assert chat.ids[0] == "mydata.erased" and chat.choice_labels == []
    with sqlite_app.db.transaction() as s:
        [receipt] = s.scalars(select(AuditEntry).where(AuditEntry.action == "erased")).all()
        mine = s.scalars(select(Booking).where(Booking.reference == reference)).one()
        told = s.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.channel == "counselors")
        ).all()
        assert mine.status == "cancelled" and mine.user_ref == "" and mine.pseudonym == ""
        assert {"kind": "cancelled", "booking_id": mine.id} in told
        assert receipt.actor_kind == "jobseeker" and receipt.detail["bookings_cancelled"] == 1
        assert s.scalar(select(func.count()).select_from(Consent)) == 2  # the other user's
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
    assert receipt.detail["receipt"] in chat.text and str(reference) in chat.text
    lines += exchange(chat, "/start")  # the next message starts a fresh conversation
    assert chat.ids == ["common.welcome", "language.ask"]
    check(lang, lines)
    assert chat.stored().turn == 0 and "booking" not in chat.stored().data


@pytest.mark.parametrize("lang", LANGS)
def test_a_stale_delete_button_after_erasure_erases_nothing_more(sqlite_app, lang):
    chat = booked(sqlite_app, lang)
    chat.send("/mydata")
    delete, turn = chat.choice_id("mydata.choice.delete"), chat.turn
    chat.click("mydata.choice.delete")
    booked(sqlite_app, lang, user="user-2")
    counts = {m: rows(sqlite_app, m) for m in (Booking, Consent, Conversation, AuditEntry)}
    lines = exchange(chat, "/start")
    chat.press(delete, turn=turn)  # the old button, pressed again
    lines.append(f"> (the old {delete} button)\n{chat.text}")
    check(lang, lines)
    assert chat.ids[0] == "common.hint.stale" and "language.ask" in chat.ids
    assert {m: rows(sqlite_app, m) for m in counts} == {
        **counts,
        Conversation: counts[Conversation] + 1,  # only the fresh conversation of this chat
    }
    with sqlite_app.db.transaction() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "erased")) == 1
        assert set(s.scalars(select(Booking.status))) == {"cancelled", "booked"}


@pytest.mark.parametrize("lang", LANGS)
def test_mydata_with_nothing_kept_says_so_and_stays(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    lines = exchange(chat, "/start", "/mydata")
    assert chat.ids[0] == "mydata.none" and chat.position()[0] == State.CHOOSING_LANGUAGE
    lines += exchange(chat, f"click:language.native.{lang}", "/mydata")
    assert chat.ids[0] == "mydata.none" and chat.position()[0] == State.REVIEWING_TERMS
    check(lang, lines)
    assert rows(sqlite_app, AuditEntry) == 0


_users = itertools.count(1)


def state_of(chat: ChatClient) -> str | None:
    with chat.app.db.transaction() as s:
        conv = conversations.peek(
            s, channel=chat.channel, user_ref=chat.user, vault=chat.app.vault
        )
    return None if conv is None else conv.state


TYPED = st.text(max_size=12) | st.sampled_from(["/mydata", "2", "1", " 01", "/help", "/mybooking"])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(typed=st.lists(TYPED, max_size=6))
def test_anything_typed_at_the_data_erases_nothing_but_delete(sqlite_app, typed):
    """Whatever is typed while the data is shown (odd Unicode, numbers, commands), nothing is
    erased but by the Delete choice ("1" picks it while the data is shown), every line is
    answered, and the conversation stays in a declared state."""
    chat = ChatClient(sqlite_app, user=f"fuzz-{next(_users)}")
    walk_to(chat, "en", State.CHOOSING_ACCOMMODATION)
    chat.send("/mydata")
    for line in typed:
        showing = state_of(chat) == State.SHOWING_MY_DATA
        receipts = rows(sqlite_app, AuditEntry)
        chat.send(line)
        assert chat.text  # always an answer
        deleted = rows(sqlite_app, AuditEntry) > receipts
        number = line.strip()
        first = number.isascii() and number.isdigit() and len(number) <= 3 and int(number) == 1
        assert deleted == (showing and first) == (chat.ids[0] == "mydata.erased")
        if deleted:
            assert state_of(chat) is None  # the conversation itself is gone
            return
        assert state_of(chat) in State.__members__.values()
