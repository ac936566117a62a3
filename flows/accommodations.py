"""Interpreter or assistant requests (terms art. 12(3)) and a short note for the counselor.

A sign-language or assistance request can reveal a disability: only the kind, the language
or the relationship is kept, and only counselors see it.
"""

from __future__ import annotations

from flows.dialog import Move, StoredAnswer, again, ask, choice, move
from flows.model import Conversation, Event, IntakePorts, Lines, Msg, Param, Reply
from flows.text_input import short_answer

ACCOMMODATIONS = ("none", "interpreter", "sign_language", "assistant")
KINDS = ACCOMMODATIONS[1:]
"""Who may attend with the jobseeker; more than one may (an interpreter and an assistant)."""
SHORT_ANSWER_MAX = 40
NOTE_MAX = 200


_NEEDS = {"interpreter": ("language",), "sign_language": (), "assistant": ("relationship",)}


def requested_kinds(value: object) -> list[str]:
    """Return the requested kinds of a stored answer (also the older one-kind form)."""
    if not isinstance(value, dict):
        return []
    if "kinds" in value:
        return [k for k in value["kinds"] if k in KINDS]
    kind = value.get("kind")
    return [kind] if kind in KINDS else []


def _accommodation_shown(value: object) -> Param:
    acc = value if isinstance(value, dict) else {}
    kinds = requested_kinds(acc)
    if not kinds:
        return Msg("accommodation.summary.none")
    details = {k: str(v) for k, v in acc.items() if k in ("language", "relationship")}
    not_given = Msg("accommodation.summary.not_given")  # shown while the detail is asked
    items = tuple(
        Msg(f"accommodation.summary.{kind}", {k: details.get(k, not_given) for k in _NEEDS[kind]})
        for kind in kinds
    )
    return Lines(items, inline=True)


def _note_shown(note: object) -> Param:
    return note if isinstance(note, str) and note else Msg("booking.summary.no_note")


ACCOMMODATION = StoredAnswer("accommodation", "answer.accommodation", _accommodation_shown)
NOTE = StoredAnswer("note", "answer.note", _note_shown)


def prompt_accommodation(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask who will attend besides the user (art. 12(3)); more than one may be added."""
    chosen = requested_kinds(conv.data.get("accommodation"))
    more = [
        choice(f"acc:{kind}", f"accommodation.kind.{kind}") for kind in KINDS if kind not in chosen
    ]
    if not chosen:
        return [ask("accommodation.ask", *more, choice("acc:done", "accommodation.kind.none"))]
    return [
        ask(
            "accommodation.ask_more",
            *more,
            choice("acc:done", "accommodation.choice.done"),
            chosen=_accommodation_shown(conv.data.get("accommodation")),
        )
    ]


def answer_accommodation(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Add a kind and ask the detail it needs, or finish the list."""
    kind = event.value.split(":", 1)[1]
    acc = conv.data.get("accommodation")
    if not isinstance(acc, dict) or "kinds" not in acc:
        acc = {"kinds": requested_kinds(acc)}
        conv.data["accommodation"] = acc
    if kind == "done":
        return move("chosen")
    if kind not in acc["kinds"]:
        acc["kinds"].append(kind)
    if kind in ("interpreter", "assistant"):
        return move(kind)
    return move("added")


def _detail(conv: Conversation, event: Event, key: str) -> Move:
    text = short_answer(event.value, max_chars=SHORT_ANSWER_MAX)
    if text is None:
        return again("common.hint.too_long", max=SHORT_ANSWER_MAX)
    conv.data.setdefault("accommodation", {"kinds": []})[key] = text
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
