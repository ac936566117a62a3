"""The intake machine: every state's spec in one table, checked at import, and `step()`.

`step()` is the only entry point: commands that work everywhere (/help, /restart,
/language, /cancel, /start), bad input and stale buttons are handled here once, so the step
modules only see answers that belong to their question.
"""

from __future__ import annotations

from collections import deque

from flows import (
    accommodations,
    booking,
    conditions,
    eligibility,
    environment,
    language,
    languages,
    my_booking,
    terms,
)
from flows.dialog import PREVIOUS, StateSpec, ask, choice, goto, register, say, specs, stay
from flows.model import (
    BookingRefused,
    CancelledByOffice,
    Conversation,
    Event,
    IntakePorts,
    Outcome,
    PlaceOffered,
    ReleaseHold,
    Reply,
    SlotTaken,
    State,
    StoppedByOffice,
)

STEP_MODULES = (
    language, terms, eligibility, environment, conditions, accommodations, booking, my_booking
)
COMMANDS = ("start", "help", "mybooking", "restart", "language", "cancel")
INITIAL = State.CHOOSING_LANGUAGE

# Where a resumed intake goes back to, when the interrupted state held a slot.
_RESUME_AT = {
    State.CONFIRMING_BOOKING: State.CHOOSING_DAY,
    State.CHOOSING_TIME: State.CHOOSING_DAY,
}


def prompt_stopped(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Say the intake is stopped, answers kept, and offer to continue or start over."""
    return [
        ask(
            "session.stopped",
            choice("session:resume", "session.choice.resume"),
            choice("session:restart", "session.choice.restart"),
        )
    ]


def answer_stopped(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Continue where the user stopped, or start over."""
    if event.value == "session:restart":
        return _restart(conv, ports)
    back_to = State(conv.data.pop("return_to", State.REVIEWING_TERMS))
    return goto(conv, back_to, ports)


register(
    StateSpec(
        State.STOPPED,
        prompt=prompt_stopped,
        answer=answer_stopped,
        transitions={"session": (PREVIOUS, State.CHOOSING_LANGUAGE)},
        summary="stopped by /cancel",
    )
)

GLOBAL_TRANSITIONS = {
    "/restart": State.CHOOSING_LANGUAGE,
    "/language": State.CHOOSING_LANGUAGE,
    "/cancel": State.STOPPED,
    "/mybooking": State.MANAGING_BOOKING,
    "office cancelled a booking": State.BOOKING_CANCELLED,
    "office stopped the service": State.SERVICE_STOPPED,
}
"""Commands that move from any state; shown in the diagram, not repeated per state."""


def _validate() -> None:
    """Refuse an invalid graph at import: unknown targets, dead ends, unreachable states."""
    table = specs()
    missing = set(State) - set(table)
    if missing:
        raise RuntimeError(f"states without a spec: {sorted(missing)}")
    seen, queue = {INITIAL}, deque([INITIAL])
    while queue:
        spec = table[queue.popleft()]
        if not spec.transitions:
            raise RuntimeError(f"dead end: {spec.state}")
        for targets in spec.transitions.values():
            for target in targets:
                if target != PREVIOUS and target not in table:
                    raise RuntimeError(f"{spec.state} leads to unknown {target}")
                if target != PREVIOUS and target not in seen:
                    seen.add(State(target))
                    queue.append(State(target))
    seen.update(GLOBAL_TRANSITIONS.values())
    unreachable = set(State) - seen
    if unreachable:
        raise RuntimeError(f"unreachable states: {sorted(unreachable)}")


_validate()


def current_prompt(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Return the question the conversation is waiting on."""
    return specs()[conv.state].prompt(conv, ports)


def current_choice_ids(conv: Conversation, ports: IntakePorts) -> list[str]:
    """Return the ids of the choices the current question offers, in order."""
    return [c.id for reply in current_prompt(conv, ports) for c in reply.choices]


def _restart(conv: Conversation, ports: IntakePorts) -> Outcome:
    effects = [ReleaseHold(conv.data["hold"]["key"])] if "hold" in conv.data else []
    fresh = Conversation(state=INITIAL, language=conv.language, turn=conv.turn)
    return goto(fresh, INITIAL, ports, effects=effects)


def _command(conv: Conversation, name: str, ports: IntakePorts) -> Outcome:
    if name == "help":
        return stay(conv, ports, before=[say("common.help")])
    if name == "restart":
        return _restart(conv, ports)
    if name == "language":
        if conv.state != State.CHOOSING_LANGUAGE:
            conv.data["return_to"] = conv.state.value
        return goto(conv, State.CHOOSING_LANGUAGE, ports, refresh=False)
    if name == "mybooking":
        effects = [ReleaseHold(conv.data.pop("hold")["key"])] if "hold" in conv.data else []
        if effects:  # leaving a held slot to look at the booking gives the place back
            conv.state = _RESUME_AT[conv.state]
        outcome = my_booking.open_my_booking(conv, ports)
        outcome.effects[:0] = effects
        return outcome
    if name == "cancel":
        if conv.state in (State.BOOKED, State.STOPPED, State.DECLINED, *my_booking.MANAGE_STATES):
            return stay(conv, ports, before=[say("session.nothing_to_stop")])
        effects = [ReleaseHold(conv.data.pop("hold")["key"])] if "hold" in conv.data else []
        conv.data["return_to"] = _RESUME_AT.get(conv.state, conv.state).value
        return goto(conv, State.STOPPED, ports, effects=effects)
    # start: greet and ask the current question again
    if conv.turn == 0 and conv.state == INITIAL:
        return stay(conv, ports, before=[Reply(say("common.welcome").body, all_languages=True)])
    return stay(conv, ports, before=[say("common.welcome_back")])


_SYSTEM_TRIGGERS = {
    SlotTaken: "slot_taken",
    PlaceOffered: "place_offered",
    CancelledByOffice: "cancelled_by_office",
    StoppedByOffice: "stopped_by_office",
}


def _trigger(event: Event) -> str:
    if event.kind == "text":
        return "text"
    if event.kind == "system":
        if isinstance(event.system, BookingRefused):
            return "booking_limit" if event.system.reason == "limit" else "service_stopped"
        return _SYSTEM_TRIGGERS[type(event.system)]
    return event.value.split(":", 1)[0]


def _check(before: State, outcome: Outcome, trigger: str, spec: StateSpec) -> None:
    """Fail loudly when a step moves somewhere its table does not declare."""
    allowed = spec.transitions.get(trigger, ())
    after = outcome.conversation.state
    if after not in allowed and not (PREVIOUS in allowed) and not outcome.rejected:
        raise RuntimeError(f"{before} --{trigger}--> {after} is not declared")


def _resolve_number(conv: Conversation, event: Event, ports: IntakePorts) -> Event:
    """Turn a typed option number into the choice it names (LINE and the terminal type)."""
    if event.kind != "text":
        return event
    typed = event.value.strip()
    if typed.isdigit() and len(typed) <= 3:
        ids = current_choice_ids(conv, ports)
        if 1 <= int(typed) <= len(ids):
            return Event("choice", ids[int(typed) - 1], conv.turn)
    return event


def step(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Apply one event to a conversation; the input conversation is left unchanged."""
    conv = conv.copy()
    if conv.turn == 0 and conv.language is None and event.language_hint:
        suggestion = languages.match(event.language_hint)
        if suggestion:
            conv.data["suggested_language"] = suggestion
    event = _resolve_number(conv, event, ports)
    spec = specs()[conv.state]
    confirming = event.kind == "choice" and event.value == "book:confirm"
    keeps_hold = event.kind == "command" and event.value.lower() in ("help", "language")
    if booking.hold_lapsed(conv, ports) and not (confirming or keeps_hold):
        if event.kind != "command" or event.value.lower() == "start":
            outcome = booking.expire_hold(conv, ports)
            _check(conv.state, outcome, "hold_expired", spec)
            outcome.conversation.turn = conv.turn + 1
            return outcome
    if event.kind == "command":
        name = event.value.lower()
        if name not in COMMANDS:
            return stay(conv, ports, before=[say("common.hint.unknown_command")])
        outcome = _command(conv, name, ports)
        if outcome.conversation.state != conv.state or name == "restart":
            outcome.conversation.turn = conv.turn + 1
        return outcome

    if isinstance(event.system, CancelledByOffice):
        outcome = my_booking.office_cancelled(conv, event.system.reference, ports)
        outcome.conversation.turn = conv.turn + 1
        return outcome
    if isinstance(event.system, StoppedByOffice):
        outcome = my_booking.office_stopped_service(conv, ports)
        outcome.conversation.turn = conv.turn + 1
        return outcome
    if event.kind == "system":
        handler = spec.extra.get("system")
        if handler is None:
            return stay(conv, ports)
        outcome = handler(conv, event, ports)  # type: ignore[operator]
    else:
        if event.kind == "text" and not spec.accepts_text:
            if conv.turn == 0 and conv.state == INITIAL:
                return _command(conv, "start", ports)
            return stay(conv, ports, before=[say("common.hint.choose")])
        if event.kind == "choice":
            stale = event.turn is not None and event.turn != conv.turn
            if stale or event.value not in current_choice_ids(conv, ports):
                return stay(conv, ports, before=[say("common.hint.stale")])
        outcome = spec.answer(conv, event, ports)
    _check(conv.state, outcome, _trigger(event), spec)
    if not outcome.rejected:
        outcome.conversation.turn = conv.turn + 1
    return outcome


def diagram() -> str:
    """Return the transition table as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL.value}"]
    for state, spec in specs().items():
        for trigger, targets in spec.transitions.items():
            for target in targets:
                name = "[*]" if target == PREVIOUS else State(target).value
                label = trigger if target != PREVIOUS else f"{trigger} (back to previous step)"
                lines.append(f"    {state.value} --> {name}: {label}")
    for command, target in GLOBAL_TRANSITIONS.items():
        lines.append(f"    note right of {target.value}: {command} (from any state)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(diagram(), end="")
