"""Book a slot: days with free places (a page at a time), then times; a hold while the
user confirms.

If the chosen place was just taken, the service reports it as a `SlotTaken` system event;
if the office closed the held time, as `HoldWithdrawn`. Either way this module offers the
nearest free alternatives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from flows.conditions import conditions_met
from flows.dialog import STAY, Move, StoredAnswer, ask, choice, move, say, short, summary_lines
from flows.environment import declaration_complete
from flows.model import (
    ConfirmBooking,
    Conversation,
    Document,
    Effect,
    Event,
    HoldSlot,
    HoldWithdrawn,
    IntakePorts,
    JoinWaitlist,
    LeaveWaitlist,
    Msg,
    PlaceOffered,
    ReleaseHold,
    Reply,
    SlotTaken,
    SystemEvent,
    Time,
)
from flows.my_booking import open_my_booking
from flows.office_contact import contact

DAYS_OFFERED = 10
"""Days per page of the day question; "later dates" turns the page (the whole horizon)."""
ALTERNATIVES_OFFERED = 4
_NEW_APPLICATION = choice("booked:new", "booked.choice.new")

Stored = Callable[[], tuple[StoredAnswer, ...]]


def enter_day(conv: Conversation, ports: IntakePorts) -> None:
    """Look up the days that still have a free place (unless the booking limit is reached)."""
    conv.data["service_stopped"] = ports.service_stopped()
    conv.data["limit_reached"] = not conv.data.get("replaces") and ports.booking_limit_reached()
    horizon = ports.office().horizon_days + 1  # today and every day of the horizon
    conv.data["offered_days"] = [d.isoformat() for d in ports.open_days(limit=horizon)]
    conv.data["days_page"] = 0


def prompt_day(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for a day among those with free places; offer the waitlist when all are full."""
    if conv.data.get("service_stopped"):
        stopped = ask(
            "service.stopped",
            choice("limit:manage", "booking.choice.manage"),
            contact=contact(ports.office()),
        )
        return [short(stopped, "common.what_next")]
    if conv.data.get("limit_reached"):
        limit = ask("booking.limit_reached", choice("limit:manage", "booking.choice.manage"))
        return [short(limit, "common.what_next")]
    days = [date.fromisoformat(d) for d in conv.data.get("offered_days", [])]
    if not days:
        none = ask(
            "booking.day.none",
            choice("days:again", "booking.choice.check_again"),
            choice("days:waitlist", "booking.choice.waitlist"),
            contact=contact(ports.office()),
        )
        return [short(none, "common.what_next")]
    page = min(conv.data.get("days_page", 0), (len(days) - 1) // DAYS_OFFERED)
    shown = days[page * DAYS_OFFERED : (page + 1) * DAYS_OFFERED]
    turns = []
    if len(days) > (page + 1) * DAYS_OFFERED:
        turns.append(choice("days:later", "booking.choice.later_days"))
    if page > 0:
        turns.append(choice("days:earlier", "booking.choice.earlier_days"))
    return [
        ask(
            "booking.day.ask",
            *(choice(f"day:{d.isoformat()}", "booking.day.label", date=d) for d in shown),
            *turns,
        )
    ]


def answer_day(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Show the free times of the chosen day, look again, or join the waitlist."""
    if event.value == "limit:manage":
        return open_my_booking(conv, ports)
    if event.value == "days:waitlist":
        return move("waitlist", effects=[JoinWaitlist()])
    if event.value == "days:again":
        return move("look_again")
    if event.value in ("days:later", "days:earlier"):
        turn = 1 if event.value == "days:later" else -1
        conv.data["days_page"] = max(0, conv.data.get("days_page", 0) + turn)
        return Move(STAY)
    conv.data["day"] = event.value.split(":", 1)[1]
    return move("day_chosen")


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
    day = date.fromisoformat(conv.data["day"])
    return [ask("booking.time.ask", *labels, other_day, date=day)]


def release(conv: Conversation) -> list[Effect]:
    """Forget the held place and return the effect that gives it back (if any)."""
    hold = conv.data.pop("hold", None)
    return [ReleaseHold(hold["key"])] if hold else []


def answer_time(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Hold the chosen slot for a few minutes and ask for confirmation."""
    if event.value == "times:other_day":
        return move("other_day")
    starts_at = datetime.fromisoformat(event.value.split(":", 1)[1])
    effects = release(conv)
    expires_at = ports.now() + timedelta(minutes=ports.office().hold_minutes)
    key = ports.new_secret()
    conv.data["hold"] = {
        "key": key,
        "starts_at": starts_at.isoformat(),
        "expires_at": expires_at.isoformat(),
    }
    effects.append(HoldSlot(key, starts_at, expires_at))
    return move("held", effects=effects)


def react_refused_or_taken(conv: Conversation, what: SystemEvent, ports: IntakePorts) -> Move:
    """React to what storage or the office reported: a place taken, the held time closed,
    or the booking refused."""
    if isinstance(what, SlotTaken):
        return offer_nearest(conv, what.starts_at, ports, said="booking.taken")
    if isinstance(what, HoldWithdrawn):
        conv.data.pop("changing", None)  # the answers stay; a new time comes first
        return offer_nearest(conv, what.starts_at, ports, said="booking.withdrawn")
    conv.data.pop("hold", None)  # storage rolled the hold back with the refused booking
    return move("refused")


def offer_nearest(
    conv: Conversation, starts_at: datetime, ports: IntakePorts, *, said: str
) -> Move:
    """Say why the time at `starts_at` cannot be had and offer the nearest free ones."""
    conv.data.pop("hold", None)
    nearest = ports.nearest_free(starts_at, limit=ALTERNATIVES_OFFERED)
    conv.data["day"] = conv.data.get("day") or starts_at.date().isoformat()
    conv.data["offered_times"] = [t.isoformat() for t in nearest]
    conv.data["alternatives"] = True
    return move("taken", say(said, at=starts_at), refresh=False)


def prompt_confirm(conv: Conversation, ports: IntakePorts, *, stored: Stored) -> list[Reply]:
    """Show the summary of the held slot and the answers; ask to confirm."""
    hold = conv.data["hold"]
    at = datetime.fromisoformat(hold["starts_at"])
    summary = ask(
        "booking.confirm.ask",
        choice("book:confirm", "booking.choice.confirm"),
        choice("book:change", "booking.choice.change_answer"),
        choice("book:other", "booking.choice.other_time"),
        at=at,
        until=Time(datetime.fromisoformat(hold["expires_at"])),
        answers=summary_lines(stored(), conv.data),
    )
    return [short(summary, "booking.confirm.question", at=at)]


def answer_confirm(
    conv: Conversation, event: Event, ports: IntakePorts, *, stored: Stored
) -> Move:
    """Book the held slot, or release it and choose another time."""
    if event.value == "book:other":
        return move("other_time", effects=release(conv))
    if event.value == "book:change":
        return move("change")
    if not (declaration_complete(conv.data) and conditions_met(conv.data)):
        conv.data["env_index"] = 0  # a booking needs every item and condition (art. 5, 12)
        return move("incomplete", effects=release(conv))
    office = ports.office()
    lapsed = hold_lapsed(conv, ports)
    hold = conv.data.pop("hold")
    replaces = conv.data.pop("replaces", None)
    reference = ports.new_reference()
    token = ports.new_secret()
    url = office.meeting_link_template.format(token=token, reference=reference, office=office.code)
    answers = {a.key: conv.data.get(a.key) for a in stored()}
    answers["terms_version"] = conv.data.get("terms_version")
    effect = ConfirmBooking(
        hold_key=hold["key"],
        reference=reference,
        meeting_token=token,
        meeting_url=url,
        language=conv.language or "",
        answers=answers,
        replaces=replaces,
    )
    conv.data["booking"] = {"reference": reference, "starts_at": hold["starts_at"], "url": url}
    booked = Reply(
        Msg(
            "booking.booked",
            {
                "reference": reference,
                "at": datetime.fromisoformat(hold["starts_at"]),
                "link": url,
                "meeting_app": office.meeting_app,
                "minutes": office.slot_minutes,
                "office": office.display_name,
            },
        ),
        (_NEW_APPLICATION,),
        document=Document("calendar"),
    )
    notes = [say("booking.hold_expired_but_free")] if lapsed else []
    if replaces:
        notes.append(say("mybooking.rescheduled", old=replaces))
    return Move("booked", (*notes, booked), (effect,), asked=True)


def prompt_change(conv: Conversation, ports: IntakePorts, *, stored: Stored) -> list[Reply]:
    """Ask which answer to change (the held place stays held meanwhile)."""
    return [
        ask(
            "booking.change.ask",
            *(choice(f"change:{answer.key}", answer.label) for answer in stored()),
            choice("change:none", "booking.choice.keep_answers"),
        )
    ]


def answer_change(
    conv: Conversation, event: Event, ports: IntakePorts, *, asked_at: Callable[[str], str]
) -> Move:
    """Go to the question of the chosen answer; the machine brings the user back here."""
    key = event.value.split(":", 1)[1]
    if key == "none":
        return move("keep", refresh=False)
    conv.data["changing"] = key
    conv.data.pop(key, None)  # asked afresh, as the first time
    return move("change", back_to=asked_at(key))


def hold_lapsed(conv: Conversation, ports: IntakePorts) -> bool:
    """Return True when the place held for this user ran out of time."""
    hold = conv.data.get("hold")
    if not hold:
        return False
    return ports.now() >= datetime.fromisoformat(hold["expires_at"])


def expire_hold(conv: Conversation, ports: IntakePorts) -> Move:
    """Tell the user their hold ran out and show the free times again."""
    effects = release(conv)
    return move("hold_expired", say("booking.hold_expired"), effects=effects)


def prompt_waitlisted(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say the user will be told when a place opens."""
    return [
        ask(
            "waitlist.waiting",
            choice("waitlist:check", "waitlist.choice.check"),
            choice("waitlist:leave", "waitlist.choice.leave"),
        )
    ]


def answer_waitlisted(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Look at the days again, or leave the waitlist."""
    if event.value == "waitlist:leave":
        return move("left", say("waitlist.left"), effects=[LeaveWaitlist()])
    return move("check")


def react_place_offered(conv: Conversation, what: SystemEvent, ports: IntakePorts) -> Move:
    """A place opened and is held for this waiting user: ask them to confirm it."""
    if not isinstance(what, PlaceOffered):
        return Move(STAY)
    conv.data["hold"] = {
        "key": what.hold_key,
        "starts_at": what.starts_at.isoformat(),
        "expires_at": what.expires_at.isoformat(),
    }
    conv.data["day"] = what.starts_at.date().isoformat()
    return move("offered", say("waitlist.offer"))


def prompt_booked(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Remind the user of their booking."""
    booking = conv.data.get("booking")
    if not booking:  # the booking ended meanwhile: only a new application remains
        return [ask("mybooking.none", _NEW_APPLICATION)]
    summary = ask(
        "booked.summary",
        _NEW_APPLICATION,
        reference=booking.get("reference", ""),
        at=datetime.fromisoformat(booking["starts_at"]),
        link=booking.get("url", ""),
    )
    return [short(summary, "common.what_next")]


def answer_booked(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Start another application from the terms, or show the booking when no other may be
    made (the limit of active bookings)."""
    if ports.booking_limit_reached():
        return open_my_booking(conv, ports, note="mybooking.already_booked")
    conv.data = {}
    return move("new_application")
