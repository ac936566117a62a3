"""The machine as data: the import rule, the graph check, the diagram, and what every
state shares (commands, bad input, stale buttons, double taps)."""

from __future__ import annotations

import ast
import pathlib

import pytest

from flows import intake, languages, machine
from flows.dialog import StateSpec
from flows.intake import State
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import start, verify_dialog, walk_to

FLOWS = pathlib.Path(machine.__file__).parent
FORBIDDEN = {"telegram", "linebot", "slack_bolt", "slack_sdk", "sqlalchemy", "storage", "bot"}


def test_flows_imports_no_sdk_and_no_database():
    for path in FLOWS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_diagram_file_matches_the_transition_table():
    assert (FLOWS / "intake.mmd").read_text() == machine.diagram()


def test_every_state_is_declared_once_in_the_table():
    assert sorted(spec.state for spec in intake.SPECS) == sorted(State)


def _replaced(state: State, **changes: object) -> list[StateSpec]:
    specs = list(intake.SPECS)
    index = [spec.state for spec in specs].index(state)
    old = specs[index]
    fields = {"prompt": old.prompt, "answer": old.answer, "outcomes": old.outcomes, **changes}
    specs[index] = StateSpec(state, **fields)  # type: ignore[arg-type]
    return specs


@pytest.mark.parametrize(
    ("specs", "refusal"),
    [
        (_replaced(State.NO_DEVICE, outcomes={}), "dead end"),
        (_replaced(State.NO_DEVICE, outcomes={"ready": "nowhere"}), "unknown nowhere"),
        (
            [s for s in intake.SPECS if s.state != State.DECLINED],
            "states without a spec",
        ),
        (list(intake.SPECS) + [intake.SPECS[0]], "declared twice"),
        (
            _replaced(
                State.ASKING_REGISTRATION, outcomes={"registered": State.ASKING_JOBSEEKER_NUMBER}
            ),
            "unreachable states: .*not_registered",
        ),
    ],
)
def test_an_invalid_table_is_refused(specs, refusal):
    with pytest.raises(RuntimeError, match=refusal):
        machine.validate(specs)


STORED_STATES = {
    "choosing_language", "reviewing_terms", "reading_terms", "confirming_meeting_app",
    "declined", "asking_registration", "not_registered", "asking_jobseeker_number",
    "asking_device", "no_device", "checking_environment", "fixing_environment",
    "environment_paused", "confirming_conditions", "conditions_unmet", "choosing_accommodation",
    "asking_interpreter_language", "asking_assistant_relationship", "asking_note",
    "choosing_day", "choosing_time", "confirming_booking", "booked", "stopped",
    "managing_booking", "confirming_cancel", "booking_cancelled", "waitlisted",
    "service_stopped",
}  # fmt: skip


def test_state_values_are_the_stored_contract():
    # Conversations in the database hold these values: renaming or removing one needs a
    # migration of conversations.state (and this set changes with it); adding one does not.
    assert STORED_STATES <= {state.value for state in State}


@pytest.mark.parametrize("lang", languages.codes())
def test_free_text_where_a_button_is_expected_keeps_the_question(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.ASKING_REGISTRATION)
    before = chat.turn
    for junk in ["はい", "🙂" * 2500, "\x00\x1b[31mred\x07", "99", "0", "-1"]:
        chat.send(junk)
        assert chat.ids == ["common.hint.choose", "eligibility.registration.ask"]
        assert chat.turn == before
    chat.click("eligibility.registration.office")
    assert "eligibility.number.ask" in chat.ids


@pytest.mark.parametrize("lang", languages.codes())
def test_malformed_jobseeker_numbers_explain_the_format(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.ASKING_JOBSEEKER_NUMBER)
    for bad in [
        "1301-12345678",
        "13010-1234567",
        "abcde-12345678",
        "🙂" * 2500,
        "13010 12345678 9",
    ]:
        chat.send(bad)
        assert chat.ids == ["eligibility.number.invalid", "eligibility.number.ask"]
    chat.send("１３０１０－１２３４５６７８")
    assert "eligibility.device.ask" in chat.ids


def test_a_stale_button_gets_the_current_question(sqlite_app):
    chat = ChatClient(sqlite_app)
    verify_dialog(chat, start("en"))
    old_turn = chat.turn
    chat.click("terms.choice.agree_terms")
    # yesterday's "I agree" pressed again, and a button of a step that never was shown
    chat.press("terms:agree", turn=old_turn)
    assert chat.ids == ["common.hint.stale", "meeting_app.question"]  # the question alone
    chat.press("book:confirm")
    assert chat.ids == ["common.hint.stale", "meeting_app.question"]  # the question alone


def test_two_quick_taps_on_one_button_make_one_transition(sqlite_app):
    chat = ChatClient(sqlite_app)
    walk_to(chat, "en", State.CHECKING_ENVIRONMENT)
    turn = chat.turn
    chat.press("env:yes", turn=turn)
    chat.press("env:yes", turn=turn)  # the second tap of the same message
    assert chat.ids == ["common.hint.stale", "environment.question", "environment.network.ask"]
    assert chat.replies[-1].body.params["number"] == 2


@pytest.mark.parametrize("lang", languages.codes())
def test_commands_work_at_every_step(sqlite_app, lang):
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CHECKING_ENVIRONMENT)
    chat.send("/help")
    assert chat.ids[0] == "common.help" and "environment.question" in chat.ids
    chat.send("/nonsense")
    assert chat.ids[0] == "common.hint.unknown_command"
    other = next(code for code in languages.codes() if code != lang)
    chat.send("/language")
    assert chat.ids == ["language.ask"]
    chat.click(f"language.native.{other}")
    assert chat.ids[:2] == ["language.changed", "environment.question"]
    assert chat.language == other
    chat.send("/cancel")
    assert chat.ids == ["session.stopped"]
    chat.click("session.choice.resume")
    assert "environment.question" in chat.ids
    chat.send("/restart")
    assert chat.ids == ["language.ask"]


def test_first_message_of_any_kind_greets_and_offers_languages(sqlite_app):
    chat = ChatClient(sqlite_app)
    chat.send("こんにちは")
    assert chat.ids == ["common.welcome", "language.ask"]
    assert "日本語" in chat.text and "English" in chat.text
