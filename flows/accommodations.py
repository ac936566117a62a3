"""Interpreter or assistant requests (terms art. 12(3)) and a short note for the counselor.

A sign-language or assistance request can reveal a disability: only the kind, the language
or the relationship is kept, and only counselors see it.
"""

from __future__ import annotations

from flows.dialog import Move, StoredAnswer, again, ask, choice, move
from flows.model import Conversation, Event, IntakePorts, Msg, Param, Reply
from flows.text_input import short_answer

ACCOMMODATIONS = ("none", "interpreter", "sign_language", "assistant")
SHORT_ANSWER_MAX = 40
NOTE_MAX = 200


def _accommodation_shown(value: object) -> Param:
    acc = value if isinstance(value, dict) else {"kind": "none"}
    details = {k: str(v) for k, v in acc.items() if k != "kind"}
    return Msg(f"accommodation.summary.{acc.get('kind', 'none')}", dict(details))


def _note_shown(note: object) -> Param:
    return note if isinstance(note, str) and note else Msg("booking.summary.no_note")


ACCOMMODATION = StoredAnswer("accommodation", "answer.accommodation", _accommodation_shown)
NOTE = StoredAnswer("note", "answer.note", _note_shown)


def prompt_accommodation(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask whether an interpreter or an assistant will attend (art. 12(3))."""
    return [
        ask(
            "accommodation.ask",
            *(choice(f"acc:{kind}", f"accommodation.kind.{kind}") for kind in ACCOMMODATIONS),
        )
    ]


def answer_accommodation(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Remember the kind; ask the detail it needs."""
    kind = event.value.split(":", 1)[1]
    conv.data["accommodation"] = {"kind": kind}
    if kind in ("interpreter", "assistant"):
        return move(kind)
    return move("chosen")


def _detail(conv: Conversation, event: Event, key: str) -> Move:
    text = short_answer(event.value, max_chars=SHORT_ANSWER_MAX)
    if text is None:
        return again("common.hint.too_long", max=SHORT_ANSWER_MAX)
    conv.data.setdefault("accommodation", {"kind": "none"})[key] = text
    return move("given")


def prompt_interpreter(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask which language the interpreter is for."""
    return [ask("accommodation.interpreter.ask")]


def answer_interpreter(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Keep the interpreter language."""
    return _detail(conv, event, "language")


def prompt_assistant(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask how the assistant or caregiver is related to the user."""
    return [ask("accommodation.assistant.ask")]


def answer_assistant(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Keep the assistant's relationship."""
    return _detail(conv, event, "relationship")


def prompt_note(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Offer an optional short note for the counselor."""
    return [
        ask("accommodation.note.ask", choice("note:skip", "accommodation.note.skip"), max=NOTE_MAX)
    ]


def answer_note(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Keep the note (or none) and go on to the booking."""
    if event.kind == "choice":
        conv.data["note"] = ""
        return move("given")
    text = short_answer(event.value, max_chars=NOTE_MAX)
    if text is None:
        return again("common.hint.too_long", max=NOTE_MAX)
    conv.data["note"] = text
    return move("given")
