"""The environment self-declaration (terms art. 5 (1)–(6), art. 12(4)), one item at a time.

A "no" shows what to do for that item; no booking is possible until every item is "yes".
The explanation is the terms'; practical advice is shown only when the office wrote its own
(off by default), as the office's, in the reader's language only.
"""

from __future__ import annotations

from typing import Any

from flows.dialog import Move, ask, choice, move, say, short
from flows.model import Conversation, Event, IntakePorts, Msg, Reply

ENVIRONMENT_ITEMS: tuple[str, ...] = (
    "malware",  # art. 5(1)
    "network",  # art. 5(2)
    "os",  # art. 5(3), 12(4)
    "firewall",  # art. 5(4), 12(4)
    "file_sharing",  # art. 5(5)
    "antivirus",  # art. 5(6)
    "software_updated",  # art. 12(4)
)
"""Item keys; each has catalog messages `environment.<key>.ask|explain|fix` and the labels
of its answers, `environment.<key>.yes|no` (each says what it answers, read alone)."""


def _current(conv: Conversation) -> str:
    index = conv.data.get("env_index", 0)
    return ENVIRONMENT_ITEMS[index if 0 <= index < len(ENVIRONMENT_ITEMS) else 0]


def prompt_item(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask whether the device meets the current item of art. 5 / 12(4)."""
    key = _current(conv)
    return [
        ask(
            "environment.question",
            choice("env:yes", f"environment.{key}.yes"),
            choice("env:no", f"environment.{key}.no"),
            choice("env:explain", "environment.choice.explain"),
            number=ENVIRONMENT_ITEMS.index(key) + 1,
            total=len(ENVIRONMENT_ITEMS),
            question=Msg(f"environment.{key}.ask"),
        )
    ]


def answer_item(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Record yes and move on, explain the item, or show how to fix it."""
    answer = event.value.split(":", 1)[1]
    key = _current(conv)
    if answer == "explain":
        return move("explained", say(f"environment.{key}.explain"), *office_advice(conv, ports))
    if answer == "no":
        conv.data.setdefault("environment", {})[key] = False
        return move("not_met")
    conv.data.setdefault("environment", {})[key] = True
    index = ENVIRONMENT_ITEMS.index(key) + 1
    if index < len(ENVIRONMENT_ITEMS):
        conv.data["env_index"] = index
        return move("next_item")
    conv.data["env_index"] = 0
    conv.data["condition_index"] = 0
    return move("all_met", say("environment.done"))


def office_advice(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show the office's own advice on the current item, when it wrote some in the reader's
    language (never another language's text, never advice of the bot's own)."""
    office = ports.office()
    advice = office.advice_for(_current(conv), conv.language or "")
    if not advice:
        return []
    return [say("environment.office_advice", office=office.display_name, advice=advice)]


def prompt_fix(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say what to do so the current item can be answered yes."""
    fix = ask(
        f"environment.{_current(conv)}.fix",
        choice("fix:fixed", "environment.choice.fixed"),
        choice("fix:later", "environment.choice.later"),
    )
    return [short(fix, "environment.fix.question")]


def answer_fix(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Ask the item again once fixed, or pause the intake."""
    return move("later" if event.value == "fix:later" else "fixed")


def prompt_paused(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say the answers are kept and how to continue later."""
    return [ask("environment.paused", choice("resume:env", "environment.choice.resume"))]


def answer_paused(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Continue with the item that was not yet met."""
    return move("resume")


def declaration_complete(data: dict[str, Any]) -> bool:
    """Return True when every environment item was answered yes."""
    answers = data.get("environment", {})
    return all(answers.get(key) is True for key in ENVIRONMENT_ITEMS)
