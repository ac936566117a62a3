"""The intake machine: `step()` moves a conversation by the table in `flows/intake.py`.

Commands that work everywhere (/help, /restart, /language, /cancel, /mybooking, /mydata,
/start),
bad input, typed option numbers and stale buttons are handled here once, so the step
modules only see answers that belong to their question. The table is checked at import.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from flows import booking, language, languages, my_booking, my_data, terms
from flows.codec import msg_to_json
from flows.dialog import PREVIOUS, STAY, Move, React, StateSpec, say
from flows.intake import INITIAL, SPECS, TABLE, State, asked_at, stored_answers
from flows.model import (
    CancelledByOffice,
    Conversation,
    Effect,
    Event,
    IntakePorts,
    Outcome,
    Reply,
    StoppedByOffice,
    SystemEvent,
    TermsChanged,
)

COMMANDS = ("start", "help", "mybooking", "mydata", "restart", "language", "cancel")

COMMAND_TARGETS: dict[str, State] = {
    "restart": State.CHOOSING_LANGUAGE,
    "language": State.CHOOSING_LANGUAGE,
    "cancel": State.STOPPED,
    "mybooking": State.MANAGING_BOOKING,
    "mydata": State.SHOWING_MY_DATA,
}
"""Commands that move from any state (/help and /start ask the same question again)."""

OFFICE_EVENTS: dict[type, tuple[React, State]] = {
    CancelledByOffice: (my_booking.react_office_cancelled, State.BOOKING_CANCELLED),
    StoppedByOffice: (my_booking.react_office_stopped, State.SERVICE_STOPPED),
}
"""What the office does to a booking moves the conversation from any state."""

NOTICES: dict[type, tuple[React, State]] = {
    TermsChanged: (terms.react_terms_changed, State.READING_NEW_TERMS),
}
"""What the office tells every user moves the conversation from any state; the user goes
back where they were afterwards, a held place kept."""

NOTHING_TO_STOP = (
    State.BOOKED,
    State.STOPPED,
    State.DECLINED,
    State.MANAGING_BOOKING,
    State.CONFIRMING_CANCEL,
)
LANGUAGE_RETURN_TO = language.RETURN_TO
RESUME_AFTER_HOLD = State.CHOOSING_DAY
"""Where a conversation that gave its held place back (by /cancel, /mybooking) resumes."""


class UndeclaredMove(RuntimeError):
    """A step returned an outcome its state does not declare."""


def validate(specs: Sequence[StateSpec]) -> None:
    """Refuse an invalid table: missing or doubled states, unknown targets, dead ends,
    unreachable states."""
    table = {spec.state: spec for spec in specs}
    if len(table) != len(specs):
        raise RuntimeError("a state is declared twice")
    missing = set(State) - set(table)
    if missing:
        raise RuntimeError(f"states without a spec: {sorted(missing)}")
    seen, queue = {INITIAL}, deque([INITIAL])
    while queue:
        spec = table[queue.popleft()]
        if not spec.outcomes:
            raise RuntimeError(f"dead end: {spec.state}")
        for outcome, target in spec.outcomes.items():
            if outcome == STAY:
                raise RuntimeError(f"{spec.state} declares {STAY!r}, which is never a move")
            if target == PREVIOUS:
                continue
            if target not in table:
                raise RuntimeError(f"{spec.state} --{outcome}--> unknown {target}")
            if target not in seen:
                seen.add(State(target))
                queue.append(State(target))
    seen.update(COMMAND_TARGETS.values())
    seen.update(target for _, target in OFFICE_EVENTS.values())
    seen.update(target for _, target in NOTICES.values())
    unreachable = set(State) - seen
    if unreachable:
        raise RuntimeError(f"unreachable states: {sorted(unreachable)}")


validate(SPECS)


def _spec(conv: Conversation) -> StateSpec:
    return TABLE[State(conv.state)]


def _ask(conv: Conversation, replies: list[Reply]) -> list[Reply]:
    """Remember the choices the replies offer (what a typed number, a typed label or a button
    may pick), with their labels."""
    choices = [c for reply in replies for c in reply.choices]
    conv.data["offered"] = [c.id for c in choices]
    conv.data["offered_labels"] = [msg_to_json(c.label) for c in choices]
    return replies


def offered(conv: Conversation, ports: IntakePorts) -> list[str]:
    """Return the ids of the choices the current question offers, in order."""
    if "offered" not in conv.data:  # a conversation saved before choices were stored
        _ask(conv, _spec(conv).prompt(conv, ports))
    return list(conv.data["offered"])


def current_prompt(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Return the question the conversation is waiting on."""
    return _spec(conv).prompt(conv, ports)


def _enter(
    conv: Conversation,
    target: str,
    ports: IntakePorts,
    *,
    before: Sequence[Reply] = (),
    effects: Sequence[Effect] = (),
    refresh: bool = True,
    asked: bool = False,
) -> Outcome:
    """Move to `target`, refresh what it offers, and ask its question."""
    conv.state = State(target)
    spec = TABLE[conv.state]
    if refresh and spec.enter is not None:
        spec.enter(conv, ports)
    replies = list(before) if asked else [*before, *spec.prompt(conv, ports)]
    return Outcome(conv, _ask(conv, replies), list(effects))


def _stay(conv: Conversation, ports: IntakePorts, *before: Reply, brief: bool = False) -> Outcome:
    """Ask the current question again after `before`; `brief`: only the question itself."""
    prompt = _spec(conv).prompt(conv, ports)
    return Outcome(conv, _ask(conv, [*before, *(question_only(prompt) if brief else prompt)]))


def question_only(prompt: Sequence[Reply]) -> list[Reply]:
    """Return a question without what explains it (after a wrong answer: a screen reader
    should not read a long block again): the replies that offer choices (or the last one),
    each in its short form, without attached documents."""
    asking = [reply for reply in prompt if reply.choices] or list(prompt[-1:])
    return [
        Reply(reply.short or reply.body, reply.choices, all_languages=reply.all_languages)
        for reply in asking
    ]


def _fallback(conv: Conversation) -> State:
    return State.REVIEWING_TERMS if conv.language else INITIAL


def _follow(spec: StateSpec, conv: Conversation, move: Move, ports: IntakePorts) -> Outcome:
    """Carry out a step's move by the table: stay, or go where its outcome leads."""
    if move.outcome == STAY:
        outcome = _stay(conv, ports, *move.before, brief=move.rejected or move.brief)
        outcome.effects = list(move.effects)
        outcome.rejected = move.rejected
        return outcome
    if move.outcome not in spec.outcomes:
        raise UndeclaredMove(f"{spec.state} --{move.outcome}--> is not declared")
    target = spec.outcomes[move.outcome]
    if target == PREVIOUS:
        target = move.back_to if move.back_to in TABLE else _fallback(conv)
    if "changing" in conv.data and not _still_changing(conv, target):
        conv.data.pop("changing")  # the changed answer is complete: back to the confirmation
        target = State.CONFIRMING_BOOKING if "hold" in conv.data else State.CHOOSING_DAY
    return _enter(
        conv,
        target,
        ports,
        before=move.before,
        effects=move.effects,
        refresh=move.refresh,
        asked=move.asked,
    )


def _still_changing(conv: Conversation, target: str) -> bool:
    """Return True while the user is still answering the question they chose to change."""
    if conv.state in (State.CHOOSING_ANSWER_TO_CHANGE, State.SHOWING_MY_DATA):
        return True  # (the data shown aside: back to the answer being changed)
    return target == asked_at(conv.data["changing"]) or TABLE[State(target)].follow_up


def _release_hold(conv: Conversation) -> list[Effect]:
    """Give a held place back and note where the intake resumes."""
    effects = booking.release(conv)
    if effects and _spec(conv).holds_slot:
        conv.state = RESUME_AFTER_HOLD
    return effects


def _restart(conv: Conversation, ports: IntakePorts) -> Outcome:
    effects = booking.release(conv)
    fresh = Conversation(state=INITIAL, language=conv.language, turn=conv.turn)
    return _enter(fresh, INITIAL, ports, effects=effects)


def _command(conv: Conversation, name: str, ports: IntakePorts) -> Outcome:
    if name == "help":
        return _stay(conv, ports, say("common.help"))
    if name == "restart":
        return _restart(conv, ports)
    if name == "language":
        if conv.state != INITIAL:  # its own key: /cancel's return_to is an answer kept too
            conv.data[LANGUAGE_RETURN_TO] = conv.state
        return _enter(conv, COMMAND_TARGETS[name], ports, refresh=False)
    if name == "mybooking":
        if not ports.active_bookings():  # nothing to show: keep what the user was doing
            return _stay(conv, ports, say("mybooking.none"))
        effects = _release_hold(conv)
        move = my_booking.open_my_booking(conv, ports)
        if move.outcome == STAY:
            outcome = _stay(conv, ports, *move.before)
        else:
            outcome = _enter(conv, COMMAND_TARGETS[name], ports)
        outcome.effects[:0] = effects
        return outcome
    if name == "mydata":  # a look aside: a held place stays held, nothing is lost
        move = my_data.open_my_data(conv, ports, stored=stored_answers)
        if move.outcome == STAY:
            return _stay(conv, ports, *move.before)
        return _enter(conv, COMMAND_TARGETS[name], ports)
    if name == "cancel":
        if conv.state in NOTHING_TO_STOP:
            return _stay(conv, ports, say("session.nothing_to_stop"))
        effects = _release_hold(conv)
        conv.data["return_to"] = conv.state
        return _enter(conv, COMMAND_TARGETS[name], ports, effects=effects)
    # start: greet and ask the current question again
    if conv.turn == 0 and conv.state == INITIAL:
        conv.data["greeted"] = True
        welcome = say("common.welcome")
        return _stay(conv, ports, Reply(welcome.body, all_languages=True))
    return _stay(conv, ports, say("common.welcome_back"))


def _react(conv: Conversation, what: SystemEvent | None, ports: IntakePorts) -> Outcome:
    """Apply what happened outside the conversation (the office, the booking service)."""
    if what is None:
        return _stay(conv, ports)
    if type(what) in OFFICE_EVENTS:
        react, target = OFFICE_EVENTS[type(what)]
        effects = booking.release(conv)  # a new hold in progress gives its place back
        move = react(conv, what, ports)
        return _enter(conv, target, ports, before=move.before, effects=[*effects, *move.effects])
    if type(what) in NOTICES:
        react, target = NOTICES[type(what)]
        if conv.state != target:
            conv.data["terms_return_to"] = conv.state
        move = react(conv, what, ports)
        return _enter(conv, target, ports, before=move.before, effects=move.effects)
    spec = _spec(conv)
    if spec.react is None:
        return _stay(conv, ports)
    return _follow(spec, conv, spec.react(conv, what, ports), ports)


def _resolve_number(conv: Conversation, event: Event, ports: IntakePorts) -> Event:
    """Turn a typed option number into the choice it names (LINE and the terminal type)."""
    if event.kind != "text":
        return event
    typed = event.value.strip()
    if typed.isascii() and typed.isdigit() and len(typed) <= 3:
        ids = offered(conv, ports)
        if 1 <= int(typed) <= len(ids):
            return Event("choice", ids[int(typed) - 1], conv.turn)
    return event


def _keeps_hold(event: Event) -> bool:
    """Return True for events that leave a lapsed hold alone (to confirm, or look at help)."""
    if event.kind == "choice":
        return event.value == "book:confirm"
    if event.kind == "command":
        return event.value.lower() not in ("start",)
    return event.kind == "system"


def step(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Apply one event to a conversation; the input conversation is left unchanged."""
    conv = conv.copy()
    if conv.state not in TABLE:  # a stored state this code no longer has: start over
        conv = Conversation(state=INITIAL, language=conv.language, turn=conv.turn)
    if conv.turn == 0 and conv.language is None and event.language_hint:
        suggestion = languages.match(event.language_hint)
        if suggestion:
            conv.data["suggested_language"] = suggestion
    event = _resolve_number(conv, event, ports)
    spec = _spec(conv)
    turn = conv.turn
    if spec.holds_slot and booking.hold_lapsed(conv, ports) and not _keeps_hold(event):
        outcome = _follow(spec, conv, booking.expire_hold(conv, ports), ports)
        outcome.conversation.turn = turn + 1
        return outcome
    if event.kind == "command":
        name = event.value.lower()
        if name not in COMMANDS:
            return _stay(conv, ports, say("common.hint.unknown_command"), brief=True)
        outcome = _command(conv, name, ports)
        if outcome.conversation.state != spec.state or name == "restart":
            outcome.conversation.turn = turn + 1
        return outcome
    if event.kind == "system":
        outcome = _react(conv, event.system, ports)
        outcome.conversation.turn = turn + 1
        return outcome
    if event.kind == "text" and not spec.accepts_text:
        if conv.state == INITIAL and not conv.data.get("greeted"):
            return _command(conv, "start", ports)  # the first message, whatever it says
        hint = say("common.hint.choose")
        if conv.language is None:  # no language yet: say it in every language
            hint = Reply(hint.body, all_languages=True)
        return _stay(conv, ports, hint, brief=True)
    if event.kind == "choice":
        stale = event.turn is not None and event.turn != turn
        if stale or event.value not in offered(conv, ports):
            return _stay(conv, ports, say("common.hint.stale"), brief=True)
    outcome = _follow(spec, conv, spec.answer(conv, event, ports), ports)
    if not outcome.rejected:
        outcome.conversation.turn = turn + 1
    return outcome


def diagram() -> str:
    """Return the transition table as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL.value}"]
    for spec in SPECS:
        for outcome, target in spec.outcomes.items():
            if target == PREVIOUS:
                lines.append(f"    {spec.state} --> [*]: {outcome} (back to previous step)")
            else:
                lines.append(f"    {spec.state} --> {State(target).value}: {outcome}")
    for command, target in COMMAND_TARGETS.items():
        lines.append(f"    note right of {target.value}: /{command} (from any state)")
    for event_type, (_, target) in (*OFFICE_EVENTS.items(), *NOTICES.items()):
        lines.append(f"    note right of {target.value}: {event_type.__name__} (from any state)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(diagram(), end="")
