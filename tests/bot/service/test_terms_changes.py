"""A change of the terms (art. 13) reaches every user it concerns, once: the worker's job
tells those with a booking ahead or an intake under way, a user coming back is told at their
next message, on SQLite and PostgreSQL; consent names the version in force and its hash."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from sqlalchemy import select

from bot import counselors, worker
from bot.rendering import Renderer
from flows.intake import State
from storage import outbox
from storage.models import Consent, OutboxMessage, TermsNotice, TermsText
from tests import golden
from tests.chat_client import ChatClient
from tests.conftest import make_app
from tests.flows.test_transcripts import walk_to
from tests.terms_change import EFFECTIVE, TERMS, publish

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "flows" / "transcripts" / "terms_changes.txt"
SHIPPED = "2022-04-01"
NEW = EFFECTIVE.isoformat()


def booked(app, user: str, lang: str, number: str) -> ChatClient:  # type: ignore[no-untyped-def]
    """Return a user who booked the first free time."""
    chat = ChatClient(app, user=user)
    walk_to(chat, lang, State.CHOOSING_DAY, asking_jobseeker_number=number)
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
    return chat


def notices_to(app, user: str) -> int:  # type: ignore[no-untyped-def]
    """Return how many messages ever queued for `user` told them of a terms change."""
    with app.db.transaction() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user))
        return sum(
            reply["body"]["$msg"] == "terms.changed.notice"
            for row in rows
            for reply in row.payload["replies"]
        )


def consents(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        return [
            (c.version, c.text_hash, c.language)
            for c in session.scalars(
                select(Consent).where(Consent.document == "terms").order_by(Consent.id)
            )
        ]


def stored_hash(app, language: str, version: str) -> str:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        texts = session.scalars(select(TermsText).where(TermsText.language == language))
        found = [t for t in texts if f"version: {version}\n" in t.text]
        assert len(found) == 1
        assert found[0].sha256 == hashlib.sha256(found[0].text.encode()).hexdigest()
        return found[0].sha256


def test_each_user_concerned_is_told_once_across_runs_and_a_restart(app, clock, db_url, tmp_path):
    past = booked(app, "past", "en", "13010-00000001")  # Wednesday 2026-11-25 09:00
    clock.advance(days=2)  # Thursday 2026-11-26: that booking is over
    ahead = booked(app, "ahead", "ja", "13010-00000002")
    midway = walk_to(ChatClient(app, user="midway"), "en", State.CHOOSING_DAY)
    never_agreed = ChatClient(app, user="never-agreed").send("/start")
    publish(app)

    assert worker.tell_terms_changes(app) == 2
    assert worker.tell_terms_changes(app) == 0
    restarted = make_app(db_url, clock, tmp_path)  # a new process on the same database
    assert worker.tell_terms_changes(restarted) == 0
    restarted.db.dispose()

    assert [notices_to(app, c.user) for c in (past, ahead, midway, never_agreed)] == [0, 1, 1, 0]
    midway._collect()
    assert midway.ids[0] == "terms.changed.notice" and midway.position()[0] == "reading_new_terms"
    midway.click("terms.choice.done_reading")
    assert midway.ids == ["booking.day.ask"] and midway.position()[0] == "choosing_day"

    # The user whose booking is over is told when they come back, after their answer, once.
    past.send("/help")
    assert past.ids[:2] == ["common.help", "booked.summary"]
    assert "terms.changed.notice" in past.ids and past.position()[0] == "reading_new_terms"
    past.click("terms.choice.done_reading")
    past.send("/help")
    assert "terms.changed.notice" not in past.ids and notices_to(app, "past") == 1
    assert worker.tell_terms_changes(app) == 0
    with app.db.transaction() as session:
        told = session.scalars(select(TermsNotice.language).order_by(TermsNotice.id)).all()
    assert told == ["ja", "en", "en"]  # ahead, midway (the job), then past (on return)


def test_a_user_told_by_the_job_is_not_told_again_on_return(app, clock):
    chat = booked(app, "ahead", "en", "13010-00000003")
    publish(app)
    chat.send("/help")  # before the job: told on return
    assert "terms.changed.notice" in chat.ids
    assert worker.tell_terms_changes(app) == 0
    assert notices_to(app, "ahead") == 1


def test_consent_names_the_version_in_force_and_the_hash_of_the_text_shown(app, clock):
    publish(app)
    before = walk_to(ChatClient(app, user="before"), "en", State.REVIEWING_TERMS)
    before.click("terms.choice.agree_terms")
    assert before.sees("terms.agreed", version=SHIPPED)
    # Agreed to the old version while the new one waits: told of it right after.
    assert before.ids[-3:] == [
        "terms.changed.notice",
        "terms.changed.summary",
        "terms.changed.page",
    ]
    before.click("terms.choice.done_reading")
    assert before.ids == ["meeting_app.ask"]
    clock.now = clock.now.replace(day=30, hour=15)  # 2026-12-01 00:00 in Tokyo
    after = ChatClient(app, user="after").send("/start")
    after.click("language.native.ja")
    assert after.sees("terms.summary", version=NEW, meeting_app="Zoom")
    after.click("terms.choice.agree_terms")
    assert after.sees("terms.agreed", version=NEW)
    shipped = {code: (TERMS / f"{code}.txt").read_bytes() for code in ("en",)}
    assert consents(app) == [
        (SHIPPED, hashlib.sha256(shipped["en"]).hexdigest(), "en"),
        (NEW, stored_hash(app, "ja", NEW), "ja"),
    ]
    before.click("meeting_app.choice.agree")
    assert "terms.changed.notice" not in before.ids and notices_to(app, "before") == 1


def test_a_language_without_a_translation_gets_the_original_and_is_told_so(app, clock):
    publish(app, languages=("ja",))
    clock.now = clock.now.replace(day=30, hour=15)
    chat = ChatClient(app, user="en-user").send("/start")
    chat.click("language.native.en")
    assert chat.ids[0] == "terms.original_only"
    chat.click("terms.choice.read")
    assert chat.ids == ["terms.page_original"] and "第1条（目的）" not in chat.text
    assert "ハローワーク品川オンライン職業相談利用規約" in chat.text
    chat.click("terms.choice.agree_terms")
    assert consents(app) == [(NEW, stored_hash(app, "ja", NEW), "ja")]


def test_a_version_taking_effect_while_the_user_reads_is_shown_before_consent(app, clock):
    publish(app)
    chat = walk_to(ChatClient(app, user="slow"), "en", State.REVIEWING_TERMS)
    assert chat.sees("terms.summary", version=SHIPPED, meeting_app="Zoom")
    clock.now = clock.now.replace(day=30, hour=15)
    chat.click("terms.choice.agree_terms")
    assert chat.ids[:2] == ["terms.changed.took_effect", "terms.summary"]
    assert chat.sees("terms.summary", version=NEW, meeting_app="Zoom")
    assert consents(app) == []
    chat.click("terms.choice.agree_terms")
    assert consents(app) == [(NEW, stored_hash(app, "en", NEW), "en")]


def test_counselors_see_the_version_a_booking_was_made_under(sqlite_app, clock):
    chat = booked(sqlite_app, "ahead", "en", "13010-00000004")
    renderer = Renderer("en")
    with sqlite_app.db.transaction() as session:
        message = outbox.pending(session, channel=outbox.COUNSELORS)[0]
        from storage.models import Booking

        booking = session.get(Booking, message.payload["booking_id"])
        text = counselors.notification_text(
            booking, sqlite_app.vault.open(booking.details_sealed), renderer
        )
    assert text.splitlines()[-1] == f"Terms of Use version agreed to: {SHIPPED}"
    assert chat.stored().data["terms_version"] == SHIPPED


def _told_transcript(chat: ChatClient) -> str:
    exchange = [f"> (the worker tells of version {NEW})\n{chat.text}"]
    for label in ("terms.choice.next", "terms.choice.previous", "terms.choice.done_reading"):
        chat.click(label)
        exchange.append(f"> click:{label}\n{chat.text}")
    return "\n\n".join(exchange)


def test_transcript_of_a_user_told_of_the_change(sqlite_app, clock):
    chats = {
        lang: booked(sqlite_app, f"told-{lang}", lang, number)
        for lang, number in (("ja", "13010-00000005"), ("en", "13010-00000006"))
    }
    publish(sqlite_app)
    assert worker.tell_terms_changes(sqlite_app) == 2
    for lang, chat in chats.items():
        chat._collect()
        assert chat.ids[:3] == [
            "terms.changed.notice",
            "terms.changed.summary",
            "terms.changed.page",
        ]
        golden.check(TRANSCRIPTS, f"[{lang}]\n{_told_transcript(chat)}")
        assert chat.position()[0] == "booked"


def test_the_job_leaves_a_user_confirming_a_held_place_alone(app, clock):
    chat = walk_to(ChatClient(app, user="holding"), "en", State.CHOOSING_DAY)
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    assert chat.position()[0] == "confirming_booking"
    publish(app)
    assert worker.tell_terms_changes(app) == 0
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids and "terms.changed.notice" in chat.ids
    assert worker.tell_terms_changes(app) == 0 and notices_to(app, "holding") == 1


def test_a_reading_stored_without_its_details_still_answers(sqlite_app, clock):
    from storage import conversations, offices

    chat = walk_to(ChatClient(sqlite_app, user="odd"), "en", State.CHOOSING_DAY)
    with sqlite_app.db.transaction() as session:
        office = offices.get_office(session, "shinagawa")
        row, conv = conversations.load_for_update(
            session,
            channel=chat.channel,
            user_ref=chat.user,
            office_id=office.id,
            vault=sqlite_app.vault,
            now=clock(),
        )
        conv.state = State.READING_NEW_TERMS
        conv.data.pop("offered", None)
        conversations.save(session, row, conv, vault=sqlite_app.vault, now=clock())
    chat.send("/help")
    assert chat.ids == ["common.help", "terms.changed.page"]
    assert chat.sees("terms.changed.page", number=1, total=15, effective=date(2022, 4, 1))
    chat.send("3")  # "I have read it": nowhere stored to go back to, so the terms again
    assert chat.position()[0] == State.REVIEWING_TERMS
