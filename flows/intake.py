"""The intake as data: its states, in the order a jobseeker meets them, and where each
answer leads. This table is the one place that says the order; the diagram
(`flows/intake.mmd`), the scripted path of tests, bench and README all derive from it.

Step modules (`flows/terms.py`, `eligibility.py`, ...) ask and take answers; they return
outcome keys and never name a state. The machine (`flows/machine.py`) checks this table at
import and moves by it.
"""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from typing import Any

from flows import (
    accommodations,
    booking,
    conditions,
    eligibility,
    environment,
    language,
    my_booking,
    my_data,
    session,
    terms,
)
from flows.dialog import PREVIOUS, Scripted, StateSpec, StoredAnswer, summary_lines
from flows.model import Lines


class State(StrEnum):
    """Where a conversation stands; the values are stored in the database (a contract)."""

    CHOOSING_LANGUAGE = "choosing_language"
    REVIEWING_TERMS = "reviewing_terms"
    READING_TERMS = "reading_terms"
    CONFIRMING_MEETING_APP = "confirming_meeting_app"
    DECLINED = "declined"
    ASKING_REGISTRATION = "asking_registration"
    NOT_REGISTERED = "not_registered"
    ASKING_JOBSEEKER_NUMBER = "asking_jobseeker_number"
    ASKING_DEVICE = "asking_device"
    NO_DEVICE = "no_device"
    CHECKING_ENVIRONMENT = "checking_environment"
    FIXING_ENVIRONMENT = "fixing_environment"
    ENVIRONMENT_PAUSED = "environment_paused"
    CONFIRMING_CONDITIONS = "confirming_conditions"
    CONDITIONS_UNMET = "conditions_unmet"
    CHOOSING_ACCOMMODATION = "choosing_accommodation"
    ASKING_INTERPRETER_LANGUAGE = "asking_interpreter_language"
    ASKING_ASSISTANT_RELATIONSHIP = "asking_assistant_relationship"
    ASKING_NOTE = "asking_note"
    CHOOSING_DAY = "choosing_day"
    CHOOSING_TIME = "choosing_time"
    CONFIRMING_BOOKING = "confirming_booking"
    BOOKED = "booked"
    STOPPED = "stopped"
    MANAGING_BOOKING = "managing_booking"
    CONFIRMING_CANCEL = "confirming_cancel"
    BOOKING_CANCELLED = "booking_cancelled"
    WAITLISTED = "waitlisted"
    SERVICE_STOPPED = "service_stopped"
    CHOOSING_ANSWER_TO_CHANGE = "choosing_answer_to_change"
    SHOWING_MY_DATA = my_data.SHOWING
    READING_NEW_TERMS = "reading_new_terms"


S = State
INITIAL = S.CHOOSING_LANGUAGE
SCRIPTED_JOBSEEKER_NUMBER = "13010-12345678"


def stored_answers() -> tuple[StoredAnswer, ...]:
    """Return every answer the intake keeps for a booking, in the order it asks them."""
    return tuple(answer for spec in SPECS for answer in spec.stores)


def asked_at(key: str) -> str:
    """Return the state that asks the stored answer `key`."""
    return next(spec.state for spec in SPECS if any(a.key == key for a in spec.stores))


def answers_summary(details: dict[str, Any]) -> Lines:
    """Return the stored answers of a booking as "name: value" lines (numbers masked)."""
    return summary_lines(stored_answers(), details)


SPECS: tuple[StateSpec, ...] = (
    # 1. language and the terms of use (art. 1, 4, 13)
    StateSpec(
        S.CHOOSING_LANGUAGE,
        prompt=language.prompt_language,
        answer=language.answer_language,
        outcomes={"chosen": S.REVIEWING_TERMS, "back": PREVIOUS, "manage": S.MANAGING_BOOKING},
        script=Scripted(choice="lang:{language}"),
    ),
    StateSpec(
        S.REVIEWING_TERMS,
        prompt=terms.prompt_summary,
        answer=terms.answer_summary,
        outcomes={
            "agreed": S.CONFIRMING_MEETING_APP,
            "read": S.READING_TERMS,
            "declined": S.DECLINED,
        },
        script=Scripted(choice="terms:agree"),
    ),
    StateSpec(
        S.READING_TERMS,
        prompt=terms.prompt_page,
        answer=terms.answer_page,
        outcomes={
            "turned": S.READING_TERMS,
            "agreed": S.CONFIRMING_MEETING_APP,
            "read": S.READING_TERMS,
            "declined": S.DECLINED,
        },
        script=Scripted(choice="terms:agree"),
    ),
    StateSpec(
        S.READING_NEW_TERMS,
        prompt=terms.prompt_new_page,
        answer=terms.answer_new_page,
        outcomes={"turned": S.READING_NEW_TERMS, "done": PREVIOUS},
        script=Scripted(choice="new:done"),
        doc="a change of the terms told (art. 13): the new version page by page",
    ),
    StateSpec(
        S.CONFIRMING_MEETING_APP,
        prompt=terms.prompt_meeting_app,
        answer=terms.answer_meeting_app,
        outcomes={"agreed": S.ASKING_REGISTRATION, "declined": S.DECLINED},
        script=Scripted(choice="app:agree"),
    ),
    StateSpec(
        S.DECLINED,
        prompt=terms.prompt_declined,
        answer=terms.answer_declined,
        outcomes={"review": S.REVIEWING_TERMS},
        script=Scripted(choice="declined:review"),
    ),
    # 2. eligibility (art. 2)
    StateSpec(
        S.ASKING_REGISTRATION,
        prompt=eligibility.prompt_registration,
        answer=eligibility.answer_registration,
        outcomes={"registered": S.ASKING_JOBSEEKER_NUMBER, "not_registered": S.NOT_REGISTERED},
        stores=(eligibility.REGISTRATION,),
        script=Scripted(choice="reg:office"),
    ),
    StateSpec(
        S.NOT_REGISTERED,
        prompt=eligibility.prompt_not_registered,
        answer=eligibility.answer_not_registered,
        outcomes={"registered": S.ASKING_REGISTRATION},
        script=Scripted(choice="registered:now"),
        follow_up=True,
    ),
    StateSpec(
        S.ASKING_JOBSEEKER_NUMBER,
        prompt=eligibility.prompt_number,
        answer=eligibility.answer_number,
        outcomes={"given": S.ASKING_DEVICE},
        accepts_text=True,
        stores=(eligibility.JOBSEEKER_NUMBER,),
        script=Scripted(text=SCRIPTED_JOBSEEKER_NUMBER),
    ),
    StateSpec(
        S.ASKING_DEVICE,
        prompt=eligibility.prompt_device,
        answer=eligibility.answer_device,
        outcomes={"has_device": S.CHECKING_ENVIRONMENT, "no_device": S.NO_DEVICE},
        script=Scripted(choice="device:yes"),
    ),
    StateSpec(
        S.NO_DEVICE,
        prompt=eligibility.prompt_no_device,
        answer=eligibility.answer_no_device,
        outcomes={"ready": S.ASKING_DEVICE},
        script=Scripted(choice="device_ready:yes"),
    ),
    # 3. the environment self-declaration (art. 5, 12(4))
    StateSpec(
        S.CHECKING_ENVIRONMENT,
        prompt=environment.prompt_item,
        answer=environment.answer_item,
        outcomes={
            "explained": S.CHECKING_ENVIRONMENT,
            "next_item": S.CHECKING_ENVIRONMENT,
            "not_met": S.FIXING_ENVIRONMENT,
            "all_met": S.CONFIRMING_CONDITIONS,
        },
        script=Scripted(choice="env:yes"),
    ),
    StateSpec(
        S.FIXING_ENVIRONMENT,
        prompt=environment.prompt_fix,
        answer=environment.answer_fix,
        outcomes={"fixed": S.CHECKING_ENVIRONMENT, "later": S.ENVIRONMENT_PAUSED},
        script=Scripted(choice="fix:fixed"),
    ),
    StateSpec(
        S.ENVIRONMENT_PAUSED,
        prompt=environment.prompt_paused,
        answer=environment.answer_paused,
        outcomes={"resume": S.CHECKING_ENVIRONMENT},
        script=Scripted(choice="resume:env"),
    ),
    # 4. the consultation conditions (art. 3, 12)
    StateSpec(
        S.CONFIRMING_CONDITIONS,
        prompt=conditions.prompt_condition,
        answer=conditions.answer_condition,
        outcomes={
            "next_condition": S.CONFIRMING_CONDITIONS,
            "cannot": S.CONDITIONS_UNMET,
            "all_agreed": S.CHOOSING_ACCOMMODATION,
        },
        script=Scripted(choice="cond:agree"),
    ),
    StateSpec(
        S.CONDITIONS_UNMET,
        prompt=conditions.prompt_unmet,
        answer=conditions.answer_unmet,
        outcomes={"ready": S.CONFIRMING_CONDITIONS},
        script=Scripted(choice="cond_ready:yes"),
    ),
    # 5. interpreter or assistant (art. 12(3)), a note for the counselor
    StateSpec(
        S.CHOOSING_ACCOMMODATION,
        prompt=accommodations.prompt_accommodation,
        answer=accommodations.answer_accommodation,
        outcomes={
            "interpreter": S.ASKING_INTERPRETER_LANGUAGE,
            "assistant": S.ASKING_ASSISTANT_RELATIONSHIP,
            "added": S.CHOOSING_ACCOMMODATION,
            "chosen": S.ASKING_NOTE,
        },
        stores=(accommodations.ACCOMMODATION,),
        script=Scripted(choice="acc:done"),
    ),
    StateSpec(
        S.ASKING_INTERPRETER_LANGUAGE,
        prompt=accommodations.prompt_interpreter,
        answer=accommodations.answer_interpreter,
        outcomes={"given": S.CHOOSING_ACCOMMODATION},
        accepts_text=True,
        script=Scripted(text="English"),
        follow_up=True,
    ),
    StateSpec(
        S.ASKING_ASSISTANT_RELATIONSHIP,
        prompt=accommodations.prompt_assistant,
        answer=accommodations.answer_assistant,
        outcomes={"given": S.CHOOSING_ACCOMMODATION},
        accepts_text=True,
        script=Scripted(text="parent"),
        follow_up=True,
    ),
    StateSpec(
        S.ASKING_NOTE,
        prompt=accommodations.prompt_note,
        answer=accommodations.answer_note,
        outcomes={"given": S.CHOOSING_DAY},
        accepts_text=True,
        stores=(accommodations.NOTE,),
        script=Scripted(choice="note:skip"),
    ),
    # 6. booking a slot
    StateSpec(
        S.CHOOSING_DAY,
        prompt=booking.prompt_day,
        answer=booking.answer_day,
        enter=booking.enter_day,
        outcomes={
            "day_chosen": S.CHOOSING_TIME,
            "look_again": S.CHOOSING_DAY,
            "waitlist": S.WAITLISTED,
            "manage": S.MANAGING_BOOKING,
        },
        script=Scripted(choice=""),
    ),
    StateSpec(
        S.CHOOSING_TIME,
        prompt=booking.prompt_time,
        answer=booking.answer_time,
        enter=booking.enter_time,
        react=booking.react_refused_or_taken,
        outcomes={
            "held": S.CONFIRMING_BOOKING,
            "other_day": S.CHOOSING_DAY,
            "taken": S.CHOOSING_TIME,
            "refused": S.CHOOSING_DAY,
        },
        script=Scripted(choice=""),
    ),
    StateSpec(
        S.CONFIRMING_BOOKING,
        prompt=partial(booking.prompt_confirm, stored=stored_answers),
        answer=partial(booking.answer_confirm, stored=stored_answers),
        react=booking.react_refused_or_taken,
        outcomes={
            "booked": S.BOOKED,
            "change": S.CHOOSING_ANSWER_TO_CHANGE,
            "other_time": S.CHOOSING_DAY,
            "incomplete": S.CHECKING_ENVIRONMENT,
            "taken": S.CHOOSING_TIME,
            "refused": S.CHOOSING_DAY,
            "hold_expired": S.CHOOSING_TIME,
        },
        script=Scripted(choice="book:confirm"),
        holds_slot=True,
    ),
    StateSpec(
        S.CHOOSING_ANSWER_TO_CHANGE,
        prompt=partial(booking.prompt_change, stored=stored_answers),
        answer=partial(booking.answer_change, asked_at=asked_at),
        react=booking.react_refused_or_taken,
        outcomes={
            "change": PREVIOUS,
            "keep": S.CONFIRMING_BOOKING,
            "taken": S.CHOOSING_TIME,
            "refused": S.CHOOSING_DAY,
        },
    ),
    StateSpec(
        S.BOOKED,
        prompt=booking.prompt_booked,
        answer=booking.answer_booked,
        outcomes={"new_application": S.REVIEWING_TERMS, "manage": S.MANAGING_BOOKING},
    ),
    # after the intake: waiting list, the user's booking, stops
    StateSpec(
        S.WAITLISTED,
        prompt=booking.prompt_waitlisted,
        answer=booking.answer_waitlisted,
        react=booking.react_place_offered,
        outcomes={
            "check": S.CHOOSING_DAY,
            "left": S.CHOOSING_DAY,
            "offered": S.CONFIRMING_BOOKING,
        },
    ),
    StateSpec(
        S.MANAGING_BOOKING,
        prompt=my_booking.prompt_manage,
        answer=my_booking.answer_manage,
        outcomes={
            "back": PREVIOUS,
            "new_application": S.REVIEWING_TERMS,
            "too_late": S.MANAGING_BOOKING,
            "cancel": S.CONFIRMING_CANCEL,
            "reschedule": S.CHOOSING_DAY,
        },
    ),
    StateSpec(
        S.CONFIRMING_CANCEL,
        prompt=my_booking.prompt_cancel,
        answer=my_booking.answer_cancel,
        outcomes={"kept": S.MANAGING_BOOKING, "cancelled": S.BOOKING_CANCELLED},
    ),
    StateSpec(
        S.BOOKING_CANCELLED,
        prompt=my_booking.prompt_cancelled,
        answer=my_booking.answer_cancelled,
        outcomes={"book_again": S.CHOOSING_DAY, "new_application": S.REVIEWING_TERMS},
    ),
    StateSpec(
        S.SERVICE_STOPPED,
        prompt=my_booking.prompt_service_stopped,
        answer=my_booking.answer_service_stopped,
        outcomes={"acknowledged": S.SERVICE_STOPPED},
    ),
    StateSpec(
        S.SHOWING_MY_DATA,
        prompt=partial(my_data.prompt_my_data, stored=stored_answers),
        answer=my_data.answer_my_data,
        outcomes={"back": PREVIOUS, "erased": S.CHOOSING_LANGUAGE},
    ),
    StateSpec(
        S.STOPPED,
        prompt=session.prompt_stopped,
        answer=session.answer_stopped,
        outcomes={"resume": PREVIOUS, "restart": S.CHOOSING_LANGUAGE},
    ),
)

TABLE = {spec.state: spec for spec in SPECS}
