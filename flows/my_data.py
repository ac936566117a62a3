"""`/mydata`: show in plain words what the office holds about the user, and erase it all
on request (bookings ahead cancelled, the counselors told), with a receipt number.

It never erases anything itself: the answer returns an `EraseMyData` effect, which the
service carries out through `storage/erasure.py`. Keeping goes back exactly where the user
was.
"""

from __future__ import annotations

from collections.abc import Callable

from flows.dialog import (
    STAY,
    Move,
    StoredAnswer,
    ask,
    choice,
    move,
    msg,
    say,
    short,
    summary_lines,
)
from flows.model import (
    Conversation,
    EraseMyData,
    Event,
    HeldData,
    IntakePorts,
    Lines,
    Msg,
    Param,
    Reply,
)

RETURN_TO = "mydata_return_to"
"""Where `/mydata` was sent from: Keep goes back there."""

SHOWING = "showing_my_data"
"""The state that shows the data (`flows.intake.State.SHOWING_MY_DATA`)."""

Stored = Callable[[], tuple[StoredAnswer, ...]]


def _answers(conv: Conversation, stored: Stored) -> tuple[StoredAnswer, ...]:
    """Return the stored answers this conversation holds."""
    return tuple(a for a in stored() if conv.data.get(a.key) not in (None, "", []))


def _holds_anything(conv: Conversation, held: HeldData, stored: Stored) -> bool:
    return bool(held.bookings or held.consents or _answers(conv, stored))


def open_my_data(conv: Conversation, ports: IntakePorts, *, stored: Stored) -> Move:
    """Show what is held (the /mydata command), or say nothing is held."""
    if not _holds_anything(conv, ports.held_data(), stored):
        none = say("mydata.none")
        if conv.language is None:  # no language yet: say it in every language
            none = Reply(none.body, all_languages=True)
        return Move(STAY, (none,), refresh=False)
    if conv.state != SHOWING or RETURN_TO not in conv.data:  # a second /mydata keeps it
        conv.data[RETURN_TO] = conv.state
    return move("show")


def _or_none(items: tuple[Msg, ...]) -> Param:
    return Lines(items) if items else msg("mydata.nothing")


def _document(document: str) -> Msg:
    kind, _, name = document.partition(":")
    if kind == "meeting_app":
        return msg("mydata.document.meeting_app", app=name)
    return msg("mydata.document.terms")


def prompt_my_data(conv: Conversation, ports: IntakePorts, *, stored: Stored) -> list[Reply]:
    """List the channel, the answers, the bookings and the consents; offer to delete or keep."""
    held = ports.held_data()
    answers = summary_lines(_answers(conv, stored), conv.data).items
    bookings = tuple(
        msg(
            "mydata.booking",
            at=b.starts_at,
            reference=b.reference,
            status=msg(f"mydata.status.{b.status}"),
        )
        for b in held.bookings
    )
    consents = tuple(
        msg("mydata.consent", document=_document(c.document), version=c.version, at=c.agreed_at)
        for c in held.consents
    )
    summary = ask(
        "mydata.summary",
        choice("mydata:delete", "mydata.choice.delete"),
        choice("mydata:keep", "mydata.choice.keep"),
        channel=msg(f"channel.{held.channel}"),
        answers=_or_none(answers),
        bookings=_or_none(bookings),
        consents=_or_none(consents),
    )
    return [short(summary, "common.what_next")]  # a wrong answer: the question alone


def answer_my_data(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Keep everything and go back, or erase it all and give the receipt number."""
    back_to = conv.data.pop(RETURN_TO, None)
    if event.value == "mydata:keep":
        return move("back", back_to=back_to, refresh=False)
    held = ports.held_data()
    receipt = ports.new_receipt()
    ahead = tuple(
        b.reference for b in held.bookings if b.status == "booked" and b.starts_at > ports.now()
    )
    erased: list[Msg] = [msg("mydata.erased.conversation")]
    if held.bookings:
        erased.append(msg("mydata.erased.bookings", count=len(held.bookings)))
    if ahead:
        erased.append(msg("mydata.erased.cancelled", references=", ".join(ahead)))
    if held.consents:
        erased.append(msg("mydata.erased.consents", count=len(held.consents)))
    conv.data = {}
    return Move(
        "erased",
        (say("mydata.erased", receipt=receipt, erased=Lines(tuple(erased))),),
        (EraseMyData(receipt),),
        asked=True,  # nothing more to ask: the next message starts a fresh conversation
    )
