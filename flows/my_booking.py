"""`/mybooking`: show the user's booking with Cancel and Reschedule, until the cut-off.

After the cut-off (by default one hour before the start) changes go through the office.
A reschedule keeps the intake answers; the old place is given back only when the new one
is booked (storage does both in one transaction).
"""

from __future__ import annotations

from datetime import timedelta

from flows.dialog import PREVIOUS, StateSpec, ask, choice, goto, register, say
from flows.environment import declaration_complete
from flows.model import (
    BookingInfo,
    CancelBooking,
    Conversation,
    Event,
    IntakePorts,
    Outcome,
    Reply,
    State,
)

MANAGE_STATES = (State.MANAGING_BOOKING, State.CONFIRMING_CANCEL)


def _booking(conv: Conversation, ports: IntakePorts) -> BookingInfo | None:
    reference = conv.data.get("managing")
    for booking in ports.active_bookings():
        if booking.reference == reference:
            return booking
    return None


def _too_late(booking: BookingInfo, ports: IntakePorts) -> bool:
    cutoff = timedelta(minutes=ports.office().change_cutoff_minutes)
    return ports.now() >= booking.starts_at - cutoff


def open_my_booking(conv: Conversation, ports: IntakePorts) -> Outcome:
    """Show the user's next booking (the /mybooking command)."""
    bookings = ports.active_bookings()
    if not bookings:
        outcome = goto(conv, conv.state, ports, before=[say("mybooking.none")], refresh=False)
        return outcome
    if conv.state not in MANAGE_STATES:
        conv.data["manage_return_to"] = conv.state.value
    conv.data["managing"] = bookings[0].reference
    return goto(conv, State.MANAGING_BOOKING, ports)


def prompt_manage(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show the booking and what can still be done with it."""
    booking = _booking(conv, ports)
    back = choice("manage:back", "mybooking.choice.back")
    if booking is None:
        return [ask("mybooking.gone", back)]
    params = {"reference": booking.reference, "at": booking.starts_at, "link": booking.meeting_url}
    if _too_late(booking, ports):
        return [ask("mybooking.too_late", back, **params)]
    return [
        ask(
            "mybooking.summary",
            choice("manage:reschedule", "mybooking.choice.reschedule"),
            choice("manage:cancel", "mybooking.choice.cancel"),
            back,
            **params,
        )
    ]


def _back(conv: Conversation, ports: IntakePorts) -> Outcome:
    back_to = State(conv.data.pop("manage_return_to", State.BOOKED.value))
    if back_to == State.BOOKED and "booking" not in conv.data:
        back_to = State.REVIEWING_TERMS
    return goto(conv, back_to, ports)


def answer_manage(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Reschedule, ask to confirm a cancellation, or go back."""
    action = event.value.split(":", 1)[1]
    booking = _booking(conv, ports)
    if action == "back" or booking is None:
        return _back(conv, ports)
    if _too_late(booking, ports):  # time passed while the question was open
        return goto(conv, State.MANAGING_BOOKING, ports)
    if action == "cancel":
        return goto(conv, State.CONFIRMING_CANCEL, ports)
    conv.data["replaces"] = booking.reference
    return goto(conv, State.CHOOSING_DAY, ports, before=[say("mybooking.reschedule_intro")])


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


def answer_cancel(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Cancel the booking, or keep it."""
    booking = _booking(conv, ports)
    if event.value == "cancel:no" or booking is None:
        return goto(conv, State.MANAGING_BOOKING, ports)
    if _too_late(booking, ports):
        return goto(conv, State.MANAGING_BOOKING, ports)
    conv.data.pop("managing", None)
    conv.data.pop("manage_return_to", None)
    if conv.data.get("booking", {}).get("reference") == booking.reference:
        conv.data.pop("booking")
    before = [say("mybooking.cancelled", reference=booking.reference)]
    return goto(
        conv, State.BOOKING_CANCELLED, ports, before=before, effects=[CancelBooking(booking.reference)]
    )


def prompt_cancelled(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Offer to book again."""
    return [ask("mybooking.book_again", choice("again:book", "mybooking.choice.book_again"))]


def answer_cancelled(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Book again with the answers given, or go through the intake if they are gone."""
    if declaration_complete(conv.data) and conv.data.get("conditions"):
        return goto(conv, State.CHOOSING_DAY, ports)
    conv.data = {}
    return goto(conv, State.REVIEWING_TERMS, ports)


register(
    StateSpec(
        State.MANAGING_BOOKING,
        prompt=prompt_manage,
        answer=answer_manage,
        transitions={
            "manage": (
                State.CHOOSING_DAY,
                State.CONFIRMING_CANCEL,
                State.MANAGING_BOOKING,
                State.REVIEWING_TERMS,
                PREVIOUS,
            )
        },
        summary="/mybooking: reschedule or cancel before the cut-off",
    ),
    StateSpec(
        State.CONFIRMING_CANCEL,
        prompt=prompt_cancel,
        answer=answer_cancel,
        transitions={"cancel": (State.BOOKING_CANCELLED, State.MANAGING_BOOKING)},
        summary="confirm the cancellation",
    ),
    StateSpec(
        State.BOOKING_CANCELLED,
        prompt=prompt_cancelled,
        answer=answer_cancelled,
        transitions={"again": (State.CHOOSING_DAY, State.REVIEWING_TERMS)},
        summary="cancelled: book again",
    ),
)


def office_cancelled(conv: Conversation, reference: str, ports: IntakePorts) -> Outcome:
    """The office cancelled a booking: tell the user and offer to book again."""
    conv.data.pop("hold", None)
    conv.data.pop("replaces", None)
    if conv.data.get("booking", {}).get("reference") == reference:
        conv.data.pop("booking")
    before = [say("booking.cancelled_by_office", reference=reference)]
    return goto(conv, State.BOOKING_CANCELLED, ports, before=before)


def office_stopped_service(conv: Conversation, ports: IntakePorts) -> Outcome:
    """The office stopped the service for this person (terms art. 12(1))."""
    conv.data.pop("hold", None)
    return goto(conv, State.SERVICE_STOPPED, ports)


def prompt_service_stopped(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say politely that online consultations are not available, and how to reach the office."""
    return [ask("service.stopped", choice("stopped:ok", "mybooking.choice.back"))]


def answer_service_stopped(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Stay: nothing can be booked online."""
    return goto(conv, State.SERVICE_STOPPED, ports)


register(
    StateSpec(
        State.SERVICE_STOPPED,
        prompt=prompt_service_stopped,
        answer=answer_service_stopped,
        transitions={"stopped": (State.SERVICE_STOPPED,)},
        summary="service stopped by the office (art. 12(1))",
    )
)
