"""Every command at every state: each gets a sensible answer in the user's language and
loses nothing (DESIGN.md check 16; issue: /mybooking and every command at every state).

Each state is reached the way a user would reach it; then one command is sent, and the
answer must be the command's own (help, the language question, the stop, the booking...).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import App
from bot.worker import expire_holds
from flows.intake import State
from flows.machine import COMMANDS
from storage import offices
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to
from tests.terms_change import published_once

_numbers: dict[str, str] = {}


def _number(chat: ChatClient) -> str:
    """Return this user's own jobseeker number (one booking per jobseeker)."""
    return _numbers.setdefault(chat.user, f"13010-{len(_numbers) + 1:08d}")


def go(chat: ChatClient, state: State) -> None:
    """Walk the scripted path to `state` with this user's own number."""
    walk_to(chat, "en", state, asking_jobseeker_number=_number(chat))


def _booked(chat: ChatClient) -> None:
    chat.walk("en", answers={State.ASKING_JOBSEEKER_NUMBER: _number(chat)})


def _full_calendar(app: App) -> None:
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        offices.update_office(s, office, "horizon_days", "1")
        offices.update_office(s, office, "min_notice_hours", "200")


REACH: dict[State, Callable[[ChatClient], None]] = {
    State.CHOOSING_LANGUAGE: lambda c: c.send("/start"),
    State.READING_TERMS: lambda c: (go(c, State.REVIEWING_TERMS), c.click("terms.choice.read")),
    State.DECLINED: lambda c: (
        go(c, State.REVIEWING_TERMS),
        c.click("terms.choice.decline_terms"),
    ),
    State.NOT_REGISTERED: lambda c: (
        go(c, State.ASKING_REGISTRATION),
        c.click("eligibility.registration.not_yet"),
    ),
    State.NO_DEVICE: lambda c: (go(c, State.ASKING_DEVICE), c.click("eligibility.device.no")),
    State.FIXING_ENVIRONMENT: lambda c: (
        go(c, State.CHECKING_ENVIRONMENT),
        c.click("environment.malware.no"),
    ),
    State.ENVIRONMENT_PAUSED: lambda c: (
        go(c, State.CHECKING_ENVIRONMENT),
        c.click("environment.malware.no"),
        c.click("environment.choice.later"),
    ),
    State.CONDITIONS_UNMET: lambda c: (
        go(c, State.CONFIRMING_CONDITIONS),
        c.click("conditions.private_room.cannot"),
    ),
    State.ASKING_INTERPRETER_LANGUAGE: lambda c: (
        go(c, State.CHOOSING_ACCOMMODATION),
        c.click("accommodation.kind.interpreter"),
    ),
    State.ASKING_ASSISTANT_RELATIONSHIP: lambda c: (
        go(c, State.CHOOSING_ACCOMMODATION),
        c.click("accommodation.kind.assistant"),
    ),
    State.CHOOSING_ANSWER_TO_CHANGE: lambda c: (
        go(c, State.CONFIRMING_BOOKING),
        c.click("booking.choice.change_answer"),
    ),
    State.BOOKED: _booked,
    State.MANAGING_BOOKING: lambda c: (_booked(c), c.send("/mybooking")),
    # Agreed to the old version while a new one waits: told right after (terms art. 13).
    State.READING_NEW_TERMS: lambda c: (published_once(c.app), go(c, State.READING_NEW_TERMS)),
    State.CONFIRMING_CANCEL: lambda c: (
        _booked(c),
        c.send("/mybooking"),
        c.click("mybooking.choice.cancel"),
    ),
    State.BOOKING_CANCELLED: lambda c: (
        _booked(c),
        c.send("/mybooking"),
        c.click("mybooking.choice.cancel"),
        c.click("mybooking.choice.cancel_yes"),
    ),
    State.WAITLISTED: lambda c: (
        _full_calendar(c.app),
        go(c, State.CHOOSING_DAY),
        c.click("booking.choice.waitlist"),
    ),
    State.STOPPED: lambda c: (go(c, State.ASKING_DEVICE), c.send("/cancel")),
    State.SHOWING_MY_DATA: lambda c: (go(c, State.ASKING_DEVICE), c.send("/mydata")),
    State.SERVICE_STOPPED: lambda c: (
        _booked(c),
        c.app.intake.office_action(_reference(c), "stop_service", counselor="U1", reason="r"),
        c._collect(),
    ),
}


def _reference(chat: ChatClient) -> str:
    return str(chat.stored().data["booking"]["reference"])


def reach(chat: ChatClient, state: State) -> None:
    """Bring the user to `state` as a user would."""
    REACH.get(state, lambda c: go(c, state))(chat)
    assert chat.position()[0] == state


EXPECTED_FIRST = {
    "help": {"common.help"},
    "language": {"language.ask"},
    "restart": {"language.ask"},
    "cancel": {"session.stopped", "session.nothing_to_stop"},
    "mybooking": {"mybooking.summary", "mybooking.none", "mybooking.too_late"},
    "mydata": {"mydata.summary", "mydata.none"},
    "start": {"common.welcome_back", "common.welcome"},  # welcome: before any answer
}


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_every_command_answers_sensibly_at_every_state(sqlite_app, clock, state):
    for command in COMMANDS:
        chat = ChatClient(sqlite_app, user=f"{state.value}-{command}")
        reach(chat, state)
        before_state, _ = chat.position()
        chat.send(f"/{command}")
        assert chat.ids and chat.ids[0] in EXPECTED_FIRST[command], (command, chat.ids)
        after, offered = chat.position()
        assert after in State.__members__.values()
        if command in ("help", "start"):
            assert after == before_state  # the same question again, nothing lost
        if command == "mybooking" and chat.ids[0] == "mybooking.none":
            assert after == before_state
        if command == "mydata":  # a look aside: the same place, or the data with the way back
            assert after == (before_state if chat.ids[0] == "mydata.none" else "showing_my_data")
        assert chat.text  # rendered in the user's language, choices numbered
        assert len(offered) == len(chat.choice_ids)
    expire_holds(sqlite_app)  # holds the users left behind give their places back
