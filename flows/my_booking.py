"""`/mybooking`: show the user's booking with Cancel and Reschedule, until the cut-off.

After the cut-off (by default one hour before the start) changes go through the office.
A reschedule keeps the intake answers; the old place is given back only when the new one
is booked (the service does both in one transaction).
"""

from __future__ import annotations

from datetime import timedelta

from flows.conditions import conditions_met
from flows.dialog import STAY, Move, ask, choice, move, say, short
from flows.environment import declaration_complete
from flows.model import (
    BookingInfo,
    CancelBooking,
    CancelledByOffice,
    Conversation,
    Event,
    IntakePorts,
    Param,
    Reply,
    SystemEvent,
)
from flows.office_contact import contact


def _booking(conv: Conversation, ports: IntakePorts) -> BookingInfo | None:
    reference = conv.data.get("managing")
    for booking in ports.active_bookings():
        if booking.reference == reference:
            return booking
    return None


def _too_late(booking: BookingInfo, ports: IntakePorts) -> bool:
    cutoff = timedelta(minutes=ports.office().change_cutoff_minutes)
    return ports.now() >= booking.starts_at - cutoff


def open_my_booking(conv: Conversation, ports: IntakePorts, *, note: str = "") -> Move:
    """Show the user's next booking (the /mybooking command), or say there is none."""
    bookings = ports.active_bookings()
    if not bookings:
        return Move(STAY, (say("mybooking.none"),), refresh=False)
    if "managing" not in conv.data:  # remember where to go back to, once
        conv.data["manage_return_to"] = conv.state
    conv.data["managing"] = bookings[0].reference
    return move("manage", *([say(note)] if note else []))


def prompt_manage(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show the booking and what can still be done with it."""
    booking = _booking(conv, ports)
    back = choice("manage:back", "mybooking.choice.back")
    if booking is None:
        return [ask("mybooking.gone", back)]
    params: dict[str, Param] = {
        "reference": booking.reference,
        "at": booking.starts_at,
        "link": booking.meeting_url,
    }
    if _too_late(booking, ports):
        late = ask("mybooking.too_late", back, contact=contact(ports.office()), **params)
        return [short(late, "common.what_next")]
    summary = ask(
        "mybooking.summary",
        choice("manage:reschedule", "mybooking.choice.reschedule"),
        choice("manage:cancel", "mybooking.choice.cancel"),
        back,
        **params,
    )
    return [short(summary, "mybooking.question", reference=booking.reference)]


def _leave(conv: Conversation) -> str | None:
    conv.data.pop("managing", None)
    return conv.data.pop("manage_return_to", None)


def answer_manage(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Reschedule, ask to confirm a cancellation, or go back."""
    action = event.value.split(":", 1)[1]
    booking = _booking(conv, ports)
    if action == "back" or booking is None:
        back_to = _leave(conv)
        if back_to is None or (back_to == "booked" and "booking" not in conv.data):
            return move("new_application")
        return move("back", back_to=back_to)
    if _too_late(booking, ports):  # time passed while the question was open
        return move("too_late")
    if action == "cancel":
        return move("cancel")
    _leave(conv)
    conv.data["replaces"] = booking.reference
    return move("reschedule", say("mybooking.reschedule_intro"))


def prompt_cancel(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask to confirm the cancellation."""
    booking = _booking(conv, ports)
    return [
        ask(
            "mybooking.cancel.ask",
            choice("cancel:yes", "mybooking.choice.cancel_yes"),
            choice("cancel:no", "mybooking.choice.cancel_no"),
            reference=booking.reference if booking else "",
        )
    ]


def answer_cancel(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Cancel the booking, or keep it."""
    booking = _booking(conv, ports)
    if event.value == "cancel:no" or booking is None or _too_late(booking, ports):
        return move("kept")
    _leave(conv)
    if conv.data.get("booking", {}).get("reference") == booking.reference:
        conv.data.pop("booking")
    return move(
        "cancelled",
        say("mybooking.cancelled", reference=booking.reference),
        effects=[CancelBooking(booking.reference)],
    )


def prompt_cancelled(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Offer to book again."""
    return [ask("mybooking.book_again", choice("again:book", "mybooking.choice.book_again"))]


def answer_cancelled(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Book again with the answers given, or go through the intake if they are gone."""
    if declaration_complete(conv.data) and conditions_met(conv.data):
        return move("book_again")
    conv.data = {}
    return move("new_application")


def react_office_cancelled(conv: Conversation, what: SystemEvent, ports: IntakePorts) -> Move:
    """The office cancelled a booking: tell the user and offer to book again."""
    reference = what.reference if isinstance(what, CancelledByOffice) else ""
    for key in ("replaces", "managing", "manage_return_to"):
        conv.data.pop(key, None)
    if conv.data.get("booking", {}).get("reference") == reference:
        conv.data.pop("booking")
    if isinstance(what, CancelledByOffice) and what.closed_at is not None:
        told = say("booking.closed_by_office", reference=reference, at=what.closed_at)
    else:
        office_contact = contact(ports.office())
        told = say("booking.cancelled_by_office", reference=reference, contact=office_contact)
    return move("cancelled_by_office", told)


def react_office_stopped(conv: Conversation, what: SystemEvent, ports: IntakePorts) -> Move:
    """The office stopped the service for this person (terms art. 12(1))."""
    for key in ("replaces", "managing", "manage_return_to"):
        conv.data.pop(key, None)
    return move("stopped_by_office")


def prompt_service_stopped(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say politely that online consultations are not available, and how to reach the office."""
    stopped = ask(
        "service.stopped",
        choice("stopped:ok", "mybooking.choice.back"),
        contact=contact(ports.office()),
    )
    return [short(stopped, "common.what_next")]


def answer_service_stopped(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Stay: nothing can be booked online."""
    return move("acknowledged")
