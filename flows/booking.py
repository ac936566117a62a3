"""Book a slot: days with free places, then times; a hold while the user confirms.

If the chosen place was just taken, the storage layer reports it as a `slot_taken` system
event and this module offers the nearest free alternatives.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flows.conditions import CONDITIONS
from flows.dialog import StateSpec, ask, choice, goto, register, say
from flows.environment import declaration_complete
from flows.my_booking import open_my_booking
from flows.model import (
    BookingRefused,
    ConfirmBooking,
    Conversation,
    Document,
    Event,
    HoldSlot,
    IntakePorts,
    JoinWaitlist,
    LeaveWaitlist,
    Msg,
    Outcome,
    PlaceOffered,
    ReleaseHold,
    Reply,
    SlotTaken,
    State,
    Time,
)
from flows.text_input import mask_jobseeker_number

DAYS_OFFERED = 10
ALTERNATIVES_OFFERED = 4
_NEW_APPLICATION = choice("booked:new", "booked.choice.new")


def enter_day(conv: Conversation, ports: IntakePorts) -> None:
    """Look up the days that still have a free place (unless the booking limit is reached)."""
    conv.data["service_stopped"] = ports.service_stopped()
    conv.data["limit_reached"] = not conv.data.get("replaces") and ports.booking_limit_reached()
    conv.data["offered_days"] = [d.isoformat() for d in ports.open_days(limit=DAYS_OFFERED)]


def prompt_day(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for a day among those with free places; offer the waitlist when all are full."""
    if conv.data.get("service_stopped"):
        return [ask("service.stopped", choice("limit:manage", "booking.choice.manage"))]
    if conv.data.get("limit_reached"):
        return [ask("booking.limit_reached", choice("limit:manage", "booking.choice.manage"))]
    days = [date.fromisoformat(d) for d in conv.data.get("offered_days", [])]
    if not days:
        return [
            ask(
                "booking.day.none",
                choice("days:again", "booking.choice.check_again"),
                choice("days:waitlist", "booking.choice.waitlist"),
            )
        ]
    return [
        ask(
            "booking.day.ask",
            *(choice(f"day:{d.isoformat()}", "booking.day.label", date=d) for d in days),
        )
    ]


def answer_day(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Show the free times of the chosen day, look again, or join the waitlist."""
    if event.value == "limit:manage":
        return open_my_booking(conv, ports)
    if event.value == "days:waitlist":
        return goto(conv, State.WAITLISTED, ports, effects=[JoinWaitlist()])
    if event.value == "days:again":
        return goto(conv, State.CHOOSING_DAY, ports)
    conv.data["day"] = event.value.split(":", 1)[1]
    return goto(conv, State.CHOOSING_TIME, ports)


def enter_time(conv: Conversation, ports: IntakePorts) -> None:
    """Look up the free times of the chosen day."""
    day = date.fromisoformat(conv.data["day"])
    conv.data["offered_times"] = [t.isoformat() for t in ports.free_times(day)]
    conv.data["alternatives"] = False


def prompt_time(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for a time of the chosen day, or among the nearest alternatives."""
    times = [datetime.fromisoformat(t) for t in conv.data.get("offered_times", [])]
    other_day = choice("times:other_day", "booking.choice.other_day")
    if not times:
        return [ask("booking.time.none", other_day)]
    if conv.data.get("alternatives"):
        labels = [choice(f"time:{t.isoformat()}", "booking.datetime.label", at=t) for t in times]
        return [ask("booking.time.ask_alternatives", *labels, other_day)]
    labels = [choice(f"time:{t.isoformat()}", "booking.time.label", time=Time(t)) for t in times]
    return [ask("booking.time.ask", *labels, other_day, date=date.fromisoformat(conv.data["day"]))]


def _release(conv: Conversation) -> list:
    hold = conv.data.pop("hold", None)
    return [ReleaseHold(hold["key"])] if hold else []


def answer_time(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Hold the chosen slot for a few minutes and ask for confirmation."""
    if event.value == "times:other_day":
        return goto(conv, State.CHOOSING_DAY, ports)
    starts_at = datetime.fromisoformat(event.value.split(":", 1)[1])
    effects = _release(conv)
    expires_at = ports.now() + timedelta(minutes=ports.office().hold_minutes)
    key = ports.new_secret()
    conv.data["hold"] = {
        "key": key,
        "starts_at": starts_at.isoformat(),
        "expires_at": expires_at.isoformat(),
    }
    effects.append(HoldSlot(key, starts_at, expires_at))
    return goto(conv, State.CONFIRMING_BOOKING, ports, effects=effects)


def on_system(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """React to what storage reported: a place taken, or the booking limit reached."""
    if isinstance(event.system, BookingRefused):
        conv.data.pop("hold", None)
        return goto(conv, State.CHOOSING_DAY, ports)
    assert isinstance(event.system, SlotTaken)
    return slot_taken(conv, event.system, ports)


def slot_taken(conv: Conversation, taken: SlotTaken, ports: IntakePorts) -> Outcome:
    """Say the slot was just taken and offer the nearest free alternatives."""
    wanted = taken.starts_at
    conv.data.pop("hold", None)
    nearest = ports.nearest_free(wanted, limit=ALTERNATIVES_OFFERED)
    conv.data["day"] = conv.data.get("day") or wanted.date().isoformat()
    conv.data["offered_times"] = [t.isoformat() for t in nearest]
    conv.data["alternatives"] = True
    return goto(
        conv, State.CHOOSING_TIME, ports, before=[say("booking.taken", at=wanted)], refresh=False
    )


def summary_params(data: dict) -> dict:
    """Return the parameters that describe the intake answers in a summary."""
    acc = data.get("accommodation") or {"kind": "none"}
    number = data.get("jobseeker_number")
    return {
        "registration": Msg(f"booking.summary.registration.{data.get('registration', 'office')}"),
        "number": mask_jobseeker_number(number) if number else Msg("booking.summary.number_unknown"),
        "accommodation": Msg(
            f"accommodation.summary.{acc['kind']}",
            {k: v for k, v in acc.items() if k != "kind"},
        ),
        "note": data.get("note") or Msg("booking.summary.no_note"),
    }


def prompt_confirm(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show the summary of the held slot and the answers; ask to confirm."""
    hold = conv.data["hold"]
    return [
        ask(
            "booking.confirm.ask",
            choice("book:confirm", "booking.choice.confirm"),
            choice("book:other", "booking.choice.other_time"),
            at=datetime.fromisoformat(hold["starts_at"]),
            until=Time(datetime.fromisoformat(hold["expires_at"])),
            **summary_params(conv.data),
        )
    ]


def _answers(conv: Conversation) -> dict:
    keys = ("registration", "jobseeker_number", "accommodation", "note", "terms_version")
    return {k: conv.data.get(k) for k in keys}


def answer_confirm(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Book the held slot, or release it and choose another time."""
    if event.value == "book:other":
        return goto(conv, State.CHOOSING_DAY, ports, effects=_release(conv))
    ready = declaration_complete(conv.data) and all(
        conv.data.get("conditions", {}).get(key) for key in CONDITIONS
    )
    if not ready:  # a booking needs every environment item and condition (art. 5, 12)
        conv.data["env_index"] = 0
        return goto(conv, State.CHECKING_ENVIRONMENT, ports, effects=_release(conv))
    office = ports.office()
    lapsed = hold_lapsed(conv, ports)
    hold = conv.data.pop("hold")
    replaces = conv.data.pop("replaces", None)
    reference = ports.new_reference()
    token = ports.new_secret()
    url = office.meeting_link_template.format(token=token, reference=reference, office=office.code)
    effect = ConfirmBooking(
        hold_key=hold["key"],
        reference=reference,
        meeting_token=token,
        meeting_url=url,
        language=conv.language or "",
        answers=_answers(conv),
        replaces=replaces,
    )
    conv.data["booking"] = {"reference": reference, "starts_at": hold["starts_at"], "url": url}
    starts_at = datetime.fromisoformat(hold["starts_at"])
    conv.state = State.BOOKED
    booked = Reply(
        Msg(
            "booking.booked",
            {
                "reference": reference,
                "at": starts_at,
                "link": url,
                "meeting_app": office.meeting_app,
                "minutes": office.slot_minutes,
            },
        ),
        (_NEW_APPLICATION,),
        document=Document("calendar"),
    )
    notes = [say("booking.hold_expired_but_free")] if lapsed else []
    if replaces:
        notes.append(say("mybooking.rescheduled", old=replaces))
    return Outcome(conv, [*notes, booked], [effect])


def hold_lapsed(conv: Conversation, ports: IntakePorts) -> bool:
    """Return True when the user is confirming a hold whose time ran out."""
    hold = conv.data.get("hold")
    if conv.state != State.CONFIRMING_BOOKING or not hold:
        return False
    return ports.now() >= datetime.fromisoformat(hold["expires_at"])


def expire_hold(conv: Conversation, ports: IntakePorts) -> Outcome:
    """Tell the user their hold ran out and show the free times again."""
    effects = _release(conv)
    return goto(
        conv, State.CHOOSING_TIME, ports, before=[say("booking.hold_expired")], effects=effects
    )


def prompt_waitlisted(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say the user will be told when a place opens."""
    return [
        ask(
            "waitlist.waiting",
            choice("waitlist:check", "waitlist.choice.check"),
            choice("waitlist:leave", "waitlist.choice.leave"),
        )
    ]


def answer_waitlisted(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Look at the days again, or leave the waitlist."""
    if event.value == "waitlist:leave":
        before = [say("waitlist.left")]
        return goto(conv, State.CHOOSING_DAY, ports, before=before, effects=[LeaveWaitlist()])
    return goto(conv, State.CHOOSING_DAY, ports)


def place_offered(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """A place opened and is held for this waiting user: ask them to confirm it."""
    offer = event.system
    assert isinstance(offer, PlaceOffered)
    conv.data["hold"] = {
        "key": offer.hold_key,
        "starts_at": offer.starts_at.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
    }
    conv.data["day"] = offer.starts_at.date().isoformat()
    before = [say("waitlist.offer")]
    return goto(conv, State.CONFIRMING_BOOKING, ports, before=before)


def prompt_booked(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Remind the user of their booking."""
    booking = conv.data.get("booking", {})
    return [
        ask(
            "booked.summary",
            _NEW_APPLICATION,
            reference=booking.get("reference", ""),
            at=datetime.fromisoformat(booking["starts_at"]),
            link=booking.get("url", ""),
        )
    ]


def answer_booked(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Start another application from the terms."""
    conv.data = {}
    return goto(conv, State.REVIEWING_TERMS, ports)


register(
    StateSpec(
        State.CHOOSING_DAY,
        prompt=prompt_day,
        answer=answer_day,
        enter=enter_day,
        transitions={
            "day": (State.CHOOSING_TIME,),
            "days": (State.CHOOSING_DAY, State.WAITLISTED),
            "limit": (State.MANAGING_BOOKING, State.CHOOSING_DAY),
        },
        summary="day with free places",
    ),
    StateSpec(
        State.WAITLISTED,
        prompt=prompt_waitlisted,
        answer=answer_waitlisted,
        transitions={
            "waitlist": (State.CHOOSING_DAY,),
            "place_offered": (State.CONFIRMING_BOOKING,),
        },
        summary="waiting for a place to open",
        extra={"system": place_offered},
    ),
    StateSpec(
        State.CHOOSING_TIME,
        prompt=prompt_time,
        answer=answer_time,
        enter=enter_time,
        transitions={
            "time": (State.CONFIRMING_BOOKING,),
            "times": (State.CHOOSING_DAY,),
            "slot_taken": (State.CHOOSING_TIME,),
            "booking_limit": (State.CHOOSING_DAY,),
            "service_stopped": (State.CHOOSING_DAY,),
        },
        summary="time (holds the slot)",
        extra={"system": on_system},
    ),
    StateSpec(
        State.CONFIRMING_BOOKING,
        prompt=prompt_confirm,
        answer=answer_confirm,
        transitions={
            "book": (State.BOOKED, State.CHOOSING_DAY, State.CHECKING_ENVIRONMENT),
            "slot_taken": (State.CHOOSING_TIME,),
            "booking_limit": (State.CHOOSING_DAY,),
            "service_stopped": (State.CHOOSING_DAY,),
            "hold_expired": (State.CHOOSING_TIME,),
        },
        summary="confirm the held slot",
        extra={"system": on_system},
    ),
    StateSpec(
        State.BOOKED,
        prompt=prompt_booked,
        answer=answer_booked,
        transitions={"booked": (State.REVIEWING_TERMS,)},
        summary="booked: reference and link",
    ),
)
