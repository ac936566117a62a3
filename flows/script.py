"""The scripted jobseeker: what to answer at each state, read from the intake table.

Tests, the benchmark and the README's demo all walk the intake with it, so none of them
copies the order of the questions: a new question with a `script` is walked by all.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.intake import TABLE, State
from flows.model import Event


def scripted_event(
    state: str, offered: Sequence[str], *, turn: int, language: str
) -> Event | None:
    """Return what the scripted jobseeker does at `state`; None where the script ends."""
    if state not in TABLE:
        return None
    script = TABLE[State(state)].script
    if script is None:
        return None
    if script.text is not None:
        return Event("text", script.text)
    wanted = (script.choice or "").format(language=language)
    if not offered:
        return None
    return Event("choice", wanted or offered[0], turn)


def typed_line(state: str, offered: Sequence[str], *, language: str) -> str | None:
    """Return the line the scripted jobseeker types at `state` (an option's number, or text)."""
    event = scripted_event(state, offered, turn=0, language=language)
    if event is None:
        return None
    if event.kind == "text":
        return event.value
    return str(list(offered).index(event.value) + 1)
