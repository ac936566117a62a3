"""The consultation conditions (terms art. 12(2), 12(3), 3 and 12(5)): room, recording, costs."""

from __future__ import annotations

from typing import Any

from flows.dialog import Move, ask, choice, move, short
from flows.model import Conversation, Event, IntakePorts, Reply

CONDITIONS: tuple[str, ...] = (
    "private_room",  # art. 12(3)
    "no_recording",  # art. 12(2)
    "data_charges",  # art. 3, 12(5)
)
"""Condition keys; each has catalog messages `conditions.<key>.ask|unmet` and the labels of
its answers, `conditions.<key>.agree|cannot` (each says what it agrees to, read alone)."""


def _current(conv: Conversation) -> str:
    index = conv.data.get("condition_index", 0)
    return CONDITIONS[index if 0 <= index < len(CONDITIONS) else 0]


def prompt_condition(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask the user to accept the current condition."""
    key = _current(conv)
    return [
        ask(
            f"conditions.{key}.ask",
            choice("cond:agree", f"conditions.{key}.agree"),
            choice("cond:cannot", f"conditions.{key}.cannot"),
        )
    ]


def answer_condition(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Move to the next condition, or explain why it matters."""
    if event.value == "cond:cannot":
        return move("cannot")
    key = _current(conv)
    conv.data.setdefault("conditions", {})[key] = True
    index = CONDITIONS.index(key) + 1
    if index < len(CONDITIONS):
        conv.data["condition_index"] = index
        return move("next_condition")
    return move("all_agreed")


def prompt_unmet(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Explain the condition and offer to continue once it can be met."""
    unmet = ask(
        f"conditions.{_current(conv)}.unmet", choice("cond_ready:yes", "conditions.choice.ready")
    )
    return [short(unmet, "conditions.unmet.question")]


def answer_unmet(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Ask the same condition again."""
    return move("ready")


def conditions_met(data: dict[str, Any]) -> bool:
    """Return True when every condition was accepted."""
    accepted = data.get("conditions", {})
    return all(accepted.get(key) is True for key in CONDITIONS)
