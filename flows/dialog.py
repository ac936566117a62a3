"""The building blocks every step module uses: a state's spec and the move to another state.

A `StateSpec` is the data of one state: how it asks (prompt), how it refreshes what it
offers on entry, how it takes an answer, and which states each answer may lead to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flows.model import (
    Choice,
    Conversation,
    Effect,
    Event,
    IntakePorts,
    Msg,
    Outcome,
    Param,
    Reply,
    State,
)

PREVIOUS = "previous"
"""A declared target meaning "the state the user came from" (after /language or /cancel)."""

Prompt = Callable[[Conversation, IntakePorts], list[Reply]]
Enter = Callable[[Conversation, IntakePorts], None]
Answer = Callable[[Conversation, Event, IntakePorts], Outcome]


@dataclass(frozen=True)
class StateSpec:
    """One state of the intake, declared as data."""

    state: State
    prompt: Prompt
    answer: Answer
    transitions: Mapping[str, tuple[State | str, ...]]
    enter: Enter | None = None
    accepts_text: bool = False
    summary: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def msg(message_id: str, **params: Param) -> Msg:
    """Return a catalog message reference."""
    return Msg(message_id, dict(params))


def choice(choice_id: str, label_id: str, **params: Param) -> Choice:
    """Return a choice whose label comes from the catalog."""
    return Choice(choice_id, Msg(label_id, dict(params)))


def ask(message_id: str, *choices: Choice, expects_text: bool = False, **params: Param) -> Reply:
    """Return a question with its choices."""
    return Reply(Msg(message_id, dict(params)), tuple(choices), expects_text=expects_text)


def say(message_id: str, **params: Param) -> Reply:
    """Return a plain statement."""
    return Reply(Msg(message_id, dict(params)))


_registry: dict[State, StateSpec] = {}


def register(*specs: StateSpec) -> None:
    """Add state specs to the machine (each step module calls this once)."""
    for spec in specs:
        if spec.state in _registry:
            raise ValueError(f"state {spec.state} declared twice")
        _registry[spec.state] = spec


def specs() -> Mapping[State, StateSpec]:
    """Return every declared state spec."""
    return _registry


def goto(
    conv: Conversation,
    target: State,
    ports: IntakePorts,
    *,
    before: list[Reply] | None = None,
    effects: list[Effect] | None = None,
    refresh: bool = True,
) -> Outcome:
    """Move to `target`, refresh what it offers, and ask its question."""
    conv.state = target
    spec = _registry[target]
    if refresh and spec.enter is not None:
        spec.enter(conv, ports)
    return Outcome(conv, [*(before or []), *spec.prompt(conv, ports)], list(effects or []))


def stay(
    conv: Conversation,
    ports: IntakePorts,
    *,
    before: list[Reply] | None = None,
) -> Outcome:
    """Stay in the current state and ask its question again."""
    return Outcome(conv, [*(before or []), *_registry[conv.state].prompt(conv, ports)])


def reject(conv: Conversation, ports: IntakePorts, hint_id: str, **params: Param) -> Outcome:
    """Give a hint and ask the same question again; the answer is not a transition."""
    outcome = stay(conv, ports, before=[say(hint_id, **params)])
    outcome.rejected = True
    return outcome
