"""Interpreter or assistant requests (terms art. 12(3)) and a short note for the counselor.

A sign-language or assistance request can reveal a disability: only the kind, the language
or the relationship is kept, and only counselors see it.
"""

from __future__ import annotations

from flows.dialog import StateSpec, ask, choice, goto, register, reject
from flows.model import Conversation, Event, IntakePorts, Outcome, Reply, State
from flows.text_input import short_answer

ACCOMMODATIONS = ("none", "interpreter", "sign_language", "assistant")
SHORT_ANSWER_MAX = 40
NOTE_MAX = 200


def prompt_accommodation(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask whether an interpreter or an assistant will attend (art. 12(3))."""
    return [
        ask(
            "accommodation.ask",
            *(choice(f"acc:{kind}", f"accommodation.kind.{kind}") for kind in ACCOMMODATIONS),
        )
    ]


def answer_accommodation(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Remember the kind; ask the detail it needs."""
    kind = event.value.split(":", 1)[1]
    conv.data["accommodation"] = {"kind": kind}
    if kind == "interpreter":
        return goto(conv, State.ASKING_INTERPRETER_LANGUAGE, ports)
    if kind == "assistant":
        return goto(conv, State.ASKING_ASSISTANT_RELATIONSHIP, ports)
    return goto(conv, State.ASKING_NOTE, ports)


def _detail_answer(conv: Conversation, event: Event, ports: IntakePorts, key: str) -> Outcome:
    text = short_answer(event.value, max_chars=SHORT_ANSWER_MAX)
    if text is None:
        return reject(conv, ports, "common.hint.too_long", max=SHORT_ANSWER_MAX)
    conv.data.setdefault("accommodation", {})[key] = text
    return goto(conv, State.ASKING_NOTE, ports)


def prompt_interpreter(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask which language the interpreter is for."""
    return [ask("accommodation.interpreter.ask", expects_text=True)]


def answer_interpreter(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Keep the interpreter language."""
    return _detail_answer(conv, event, ports, "language")


def prompt_assistant(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask how the assistant or caregiver is related to the user."""
    return [ask("accommodation.assistant.ask", expects_text=True)]


def answer_assistant(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Keep the assistant's relationship."""
    return _detail_answer(conv, event, ports, "relationship")


def prompt_note(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Offer an optional short note for the counselor."""
    return [
        ask(
            "accommodation.note.ask",
            choice("note:skip", "accommodation.note.skip"),
            expects_text=True,
            max=NOTE_MAX,
        )
    ]


def answer_note(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Keep the note (or none) and go on to the booking."""
    if event.kind == "choice":
        conv.data["note"] = ""
        return goto(conv, State.CHOOSING_DAY, ports)
    text = short_answer(event.value, max_chars=NOTE_MAX)
    if text is None:
        return reject(conv, ports, "common.hint.too_long", max=NOTE_MAX)
    conv.data["note"] = text
    return goto(conv, State.CHOOSING_DAY, ports)


register(
    StateSpec(
        State.CHOOSING_ACCOMMODATION,
        prompt=prompt_accommodation,
        answer=answer_accommodation,
        transitions={
            "acc": (
                State.ASKING_INTERPRETER_LANGUAGE,
                State.ASKING_ASSISTANT_RELATIONSHIP,
                State.ASKING_NOTE,
            )
        },
        summary="interpreter / assistant (art. 12(3))",
    ),
    StateSpec(
        State.ASKING_INTERPRETER_LANGUAGE,
        prompt=prompt_interpreter,
        answer=answer_interpreter,
        transitions={"text": (State.ASKING_NOTE, State.ASKING_INTERPRETER_LANGUAGE)},
        accepts_text=True,
        summary="interpreter language",
    ),
    StateSpec(
        State.ASKING_ASSISTANT_RELATIONSHIP,
        prompt=prompt_assistant,
        answer=answer_assistant,
        transitions={"text": (State.ASKING_NOTE, State.ASKING_ASSISTANT_RELATIONSHIP)},
        accepts_text=True,
        summary="assistant relationship",
    ),
    StateSpec(
        State.ASKING_NOTE,
        prompt=prompt_note,
        answer=answer_note,
        transitions={
            "note": (State.CHOOSING_DAY,),
            "text": (State.CHOOSING_DAY, State.ASKING_NOTE),
        },
        accepts_text=True,
        summary="note for the counselor",
    ),
)
