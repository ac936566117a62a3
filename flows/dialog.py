"""The building blocks of the intake: a state's spec, the answer's `Move`, stored answers.

A step function never names the state it goes to: it returns a `Move` with an outcome key,
and the state's spec (declared in `flows/intake.py`) says where that outcome leads. Nothing
here may import an SDK, SQLAlchemy, `storage` or `bot`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flows.model import (
    Choice,
    Conversation,
    Effect,
    Event,
    IntakePorts,
    Lines,
    Msg,
    Param,
    Reply,
    SystemEvent,
)

PREVIOUS = "previous"
"""A declared target meaning "the state the user came from"; the `Move` names it."""

STAY = "stay"
"""The outcome that keeps the current state and asks its question again (never declared)."""


@dataclass(frozen=True)
class Move:
    """What an answer decided: an outcome of its state, what to say first, what to do."""

    outcome: str
    before: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
    back_to: str | None = None  # the state to return to, for an outcome declared PREVIOUS
    refresh: bool = True  # run the target's `enter` (look up what it offers) first
    rejected: bool = False  # the answer did not count: same question, same turn
    asked: bool = False  # `before` already asks the next question: do not prompt again
    brief: bool = False  # stay, asking only the question (no explanation, no document)


Prompt = Callable[[Conversation, IntakePorts], list[Reply]]
Enter = Callable[[Conversation, IntakePorts], None]
Answer = Callable[[Conversation, Event, IntakePorts], Move]
React = Callable[[Conversation, SystemEvent, IntakePorts], Move]


@dataclass(frozen=True)
class StoredAnswer:
    """One answer the intake keeps for the booking, declared once with the state asking it.

    `label` is the catalog id of its name; `shown` turns the stored value into what the
    jobseeker (confirmation), the counselors (notification, digest) and the operators
    (listings) read, masked where it is personal.
    """

    key: str
    label: str
    shown: Callable[[Any], Param]


@dataclass(frozen=True)
class Scripted:
    """What a scripted jobseeker answers at a state (tests, bench, the README's demo).

    `choice`: the id of the choice to press ("" presses the first one offered);
    `text`: a line to type instead.
    """

    choice: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class StateSpec:
    """One state of the intake, declared as data: how it asks, how it takes an answer, and
    where each outcome of the answer leads."""

    state: str
    prompt: Prompt
    answer: Answer
    outcomes: Mapping[str, str]
    enter: Enter | None = None
    accepts_text: bool = False
    react: React | None = None  # what a typed system event does here (outcomes as above)
    stores: tuple[StoredAnswer, ...] = ()
    script: Scripted | None = None
    holds_slot: bool = False  # the state keeps a held place while it waits
    follow_up: bool = False  # asks a detail of the answer before it (kept when changing it)
    doc: str = field(default="", compare=False)


def move(
    outcome: str,
    *before: Reply,
    effects: tuple[Effect, ...] | list[Effect] = (),
    back_to: str | None = None,
    refresh: bool = True,
) -> Move:
    """Return the move of an answer with this outcome."""
    return Move(outcome, tuple(before), tuple(effects), back_to, refresh)


def summary_lines(stored: tuple[StoredAnswer, ...], data: Mapping[str, Any]) -> Lines:
    """Return each stored answer as a "name: value" line, as everyone who reads it sees it."""
    return Lines(
        tuple(
            Msg("answer.line", {"label": Msg(a.label), "value": a.shown(data.get(a.key))})
            for a in stored
        )
    )


def again(hint_id: str, **params: Param) -> Move:
    """Return a rejected answer: give a hint and ask the same question again."""
    return Move(STAY, (say(hint_id, **params),), rejected=True)


def msg(message_id: str, **params: Param) -> Msg:
    """Return a catalog message reference."""
    return Msg(message_id, dict(params))


def choice(choice_id: str, label_id: str, **params: Param) -> Choice:
    """Return a choice whose label comes from the catalog."""
    return Choice(choice_id, Msg(label_id, dict(params)))


def ask(message_id: str, *choices: Choice, **params: Param) -> Reply:
    """Return a question with its choices."""
    return Reply(Msg(message_id, dict(params)), tuple(choices))


def short(reply: Reply, message_id: str, **params: Param) -> Reply:
    """Return `reply` with the question alone (`message_id`), asked again after a wrong
    answer instead of its body when the body also explains (a long block is not read twice)."""
    return replace(reply, short=Msg(message_id, dict(params)))


def say(message_id: str, **params: Param) -> Reply:
    """Return a plain statement."""
    return Reply(Msg(message_id, dict(params)))


def yes_no(
    state: str,
    message_id: str,
    *,
    yes: str,
    no: str,
    yes_label: str,
    no_label: str,
    key: str | None = None,
    label: str = "",
    doc: str = "",
) -> StateSpec:
    """Return the spec of a plain yes/no question that leads to `yes` or `no`.

    `yes_label` and `no_label` are its own label ids, each saying what it answers ("I have
    a device with a camera", not a bare "Yes"): a screen reader reads a label alone.

    With `key`, the answer is kept (True/False) and shown in summaries under `label`.
    """
    prefix = state

    def prompt(conv: Conversation, ports: IntakePorts) -> list[Reply]:
        return [
            ask(message_id, choice(f"{prefix}:yes", yes_label), choice(f"{prefix}:no", no_label))
        ]

    def answer(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
        agreed = event.value.endswith(":yes")
        if key is not None:
            conv.data[key] = agreed
        return move("yes" if agreed else "no")

    stores = (
        (StoredAnswer(key, label, lambda v: Msg(yes_label if v else no_label)),) if key else ()
    )
    return StateSpec(
        state,
        prompt=prompt,
        answer=answer,
        outcomes={"yes": yes, "no": no},
        stores=stores,
        script=Scripted(choice=f"{prefix}:yes"),
        doc=doc or f"yes/no: {message_id}",
    )
