"""The data a choice button carries back: the turn it was offered in, and the choice id.

Every messenger adapter encodes it the same way, `"<turn>|<choice id>"`, within its own
platform limit; the flow uses the turn to recognise a stale or doubled press. Never put
personal data in it: platforms echo it back and may log it.
"""

from __future__ import annotations


def encode(turn: int, choice_id: str) -> str:
    """Return the button data of a choice offered at `turn`."""
    return f"{turn}|{choice_id}"


def decode(data: str) -> tuple[int | None, str]:
    """Return (turn, choice id) of button data; malformed data has turn None."""
    turn, sep, choice_id = data.partition("|")
    if not sep or not (turn.isascii() and turn.isdigit()):
        return None, ""
    return int(turn), choice_id
