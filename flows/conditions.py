"""The consultation conditions (terms art. 12(2), 12(3), 3 and 12(5)): room, recording, costs."""

from __future__ import annotations

from flows.dialog import StateSpec, ask, choice, goto, register
from flows.model import Conversation, Event, IntakePorts, Outcome, Reply, State

CONDITIONS: tuple[str, ...] = (
    "private_room",  # art. 12(3)
    "no_recording",  # art. 12(2)
    "data_charges",  # art. 3, 12(5)
)
"""Condition keys; each has catalog messages `conditions.<key>.ask|unmet`."""


def _current(conv: Conversation) -> str:
    return CONDITIONS[conv.data.get("condition_index", 0)]


def prompt_condition(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask the user to accept the current condition."""
    return [
        ask(
            f"conditions.{_current(conv)}.ask",
            choice("cond:agree", "conditions.choice.agree"),
            choice("cond:cannot", "conditions.choice.cannot"),
        )
    ]


def answer_condition(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Move to the next condition, or explain why it matters."""
    if event.value == "cond:cannot":
        return goto(conv, State.CONDITIONS_UNMET, ports)
    conv.data.setdefault("conditions", {})[_current(conv)] = True
    index = conv.data.get("condition_index", 0) + 1
    if index < len(CONDITIONS):
        conv.data["condition_index"] = index
        return goto(conv, State.CONFIRMING_CONDITIONS, ports)
    return goto(conv, State.CHOOSING_ACCOMMODATION, ports)


def prompt_unmet(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Explain the condition and offer to continue once it can be met."""
    return [
        ask(
            f"conditions.{_current(conv)}.unmet",
            choice("cond_ready:yes", "conditions.choice.ready"),
        )
    ]


def answer_unmet(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Ask the same condition again."""
    return goto(conv, State.CONFIRMING_CONDITIONS, ports)


register(
    StateSpec(
        State.CONFIRMING_CONDITIONS,
        prompt=prompt_condition,
        answer=answer_condition,
        transitions={
            "cond": (
                State.CONFIRMING_CONDITIONS,
                State.CONDITIONS_UNMET,
                State.CHOOSING_ACCOMMODATION,
            )
        },
        summary="room, recording, costs (art. 12, 3)",
    ),
    StateSpec(
        State.CONDITIONS_UNMET,
        prompt=prompt_unmet,
        answer=answer_unmet,
        transitions={"cond_ready": (State.CONFIRMING_CONDITIONS,)},
        summary="condition not met: explain",
    ),
)
