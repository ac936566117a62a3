"""What `/cancel` leads to: the intake stopped with its answers kept, to resume or restart."""

from __future__ import annotations

from flows.dialog import Move, ask, choice, move
from flows.model import Conversation, Event, IntakePorts, Reply


def prompt_stopped(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say the intake is stopped, answers kept, and offer to continue or start over."""
    return [
        ask(
            "session.stopped",
            choice("session:resume", "session.choice.resume"),
            choice("session:restart", "session.choice.restart"),
        )
    ]


def answer_stopped(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Continue where the user stopped, or start over."""
    if event.value == "session:restart":
        conv.data = {}
        return move("restart")
    return move("resume", back_to=conv.data.pop("return_to", None))
