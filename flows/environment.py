"""The environment self-declaration (terms art. 5 (1)–(6), art. 12(4)), one item at a time.

A "no" shows what to do for that item; no booking is possible until every item is "yes".
"""

from __future__ import annotations

from flows.dialog import StateSpec, ask, choice, goto, register, say
from flows.model import Conversation, Event, IntakePorts, Msg, Outcome, Reply, State

ENVIRONMENT_ITEMS: tuple[str, ...] = (
    "malware",  # art. 5(1)
    "network",  # art. 5(2)
    "os",  # art. 5(3), 12(4)
    "firewall",  # art. 5(4), 12(4)
    "file_sharing",  # art. 5(5)
    "antivirus",  # art. 5(6)
    "software_updated",  # art. 12(4)
)
"""Item keys; each has catalog messages `environment.<key>.ask|explain|fix`."""

ITEM_MESSAGES = {
    key: (f"environment.{key}.ask", f"environment.{key}.explain", f"environment.{key}.fix")
    for key in ENVIRONMENT_ITEMS
}


def _current(conv: Conversation) -> str:
    return ENVIRONMENT_ITEMS[conv.data.get("env_index", 0)]


def prompt_item(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask whether the device meets the current item of art. 5 / 12(4)."""
    index = conv.data.get("env_index", 0)
    ask_id = ITEM_MESSAGES[_current(conv)][0]
    return [
        ask(
            "environment.question",
            choice("env:yes", "environment.choice.yes"),
            choice("env:no", "environment.choice.no"),
            choice("env:explain", "environment.choice.explain"),
            number=index + 1,
            total=len(ENVIRONMENT_ITEMS),
            question=Msg(ask_id),
        )
    ]


def answer_item(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Record yes and move on, explain the item, or show how to fix it."""
    answer = event.value.split(":", 1)[1]
    key = _current(conv)
    if answer == "explain":
        return goto(conv, State.CHECKING_ENVIRONMENT, ports, before=[say(ITEM_MESSAGES[key][1])])
    if answer == "no":
        conv.data.setdefault("environment", {})[key] = False
        return goto(conv, State.FIXING_ENVIRONMENT, ports)
    conv.data.setdefault("environment", {})[key] = True
    index = conv.data.get("env_index", 0) + 1
    if index < len(ENVIRONMENT_ITEMS):
        conv.data["env_index"] = index
        return goto(conv, State.CHECKING_ENVIRONMENT, ports)
    conv.data["env_index"] = 0
    conv.data["condition_index"] = 0
    return goto(conv, State.CONFIRMING_CONDITIONS, ports, before=[say("environment.done")])


def prompt_fix(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say what to do so the current item can be answered yes."""
    return [
        ask(
            ITEM_MESSAGES[_current(conv)][2],
            choice("fix:fixed", "environment.choice.fixed"),
            choice("fix:later", "environment.choice.later"),
        )
    ]


def answer_fix(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Ask the item again once fixed, or pause the intake."""
    if event.value == "fix:later":
        return goto(conv, State.ENVIRONMENT_PAUSED, ports)
    return goto(conv, State.CHECKING_ENVIRONMENT, ports)


def prompt_paused(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say the answers are kept and how to continue later."""
    return [ask("environment.paused", choice("resume:env", "environment.choice.resume"))]


def answer_paused(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Continue with the item that was not yet met."""
    return goto(conv, State.CHECKING_ENVIRONMENT, ports)


def declaration_complete(data: dict) -> bool:
    """Return True when every environment item was answered yes."""
    answers = data.get("environment", {})
    return all(answers.get(key) is True for key in ENVIRONMENT_ITEMS)


register(
    StateSpec(
        State.CHECKING_ENVIRONMENT,
        prompt=prompt_item,
        answer=answer_item,
        transitions={
            "env": (
                State.CHECKING_ENVIRONMENT,
                State.FIXING_ENVIRONMENT,
                State.CONFIRMING_CONDITIONS,
            )
        },
        summary="environment item (art. 5, 12(4))",
    ),
    StateSpec(
        State.FIXING_ENVIRONMENT,
        prompt=prompt_fix,
        answer=answer_fix,
        transitions={"fix": (State.CHECKING_ENVIRONMENT, State.ENVIRONMENT_PAUSED)},
        summary="how to fix the item",
    ),
    StateSpec(
        State.ENVIRONMENT_PAUSED,
        prompt=prompt_paused,
        answer=answer_paused,
        transitions={"resume": (State.CHECKING_ENVIRONMENT,)},
        summary="paused: continue later",
    ),
)
