"""The intake as a messenger user walks it, answering as the scripted jobseeker of
`flows/script.py` (so no channel test copies the order of the questions); shared by the
channel tests. `user` is a simulated user with `async send`, `async press_index`, `sees`, a
`language` attribute and its harness `h` (tests/bot/telegram/harness.py,
tests/bot/line/harness.py); each of its actions returns once the bot has answered."""

from __future__ import annotations

from typing import Any

from flows.intake import State
from flows.script import scripted_event
from storage import conversations


def _position(user: Any) -> tuple[str, list[str], int]:
    channel, ref = (
        ("telegram", str(user.chat_id)) if hasattr(user, "chat_id") else ("line", user.user_id)
    )
    with user.h.app.db.transaction() as session:
        conv = conversations.peek(session, channel=channel, user_ref=ref, vault=user.h.app.vault)
    assert conv is not None, "the user has not written yet"
    return conv.state, list(conv.data.get("offered", [])), conv.turn


async def walk(user: Any, lang: str, *, until: State | None = None) -> None:
    """Answer every question as the scripted jobseeker until the state `until` (or the end)."""
    for _ in range(200):
        state, offered, turn = _position(user)
        if state == until:
            return
        event = scripted_event(state, offered, turn=turn, language=lang)
        if event is None:
            break
        if event.kind == "text":
            await user.send(event.value)
        else:
            await user.press_index(offered.index(event.value))
        if state == State.CHOOSING_LANGUAGE:
            user.language = lang
    assert until is None, f"the scripted path never reached {until}"


async def walk_to_day(user: Any, lang: str) -> None:
    """From the language question to the choice of a day, agreeing to everything."""
    user.language = lang
    assert user.sees("language.ask")
    await walk(user, lang, until=State.REVIEWING_TERMS)
    assert user.sees("terms.summary", version="2022-04-01", meeting_app="Zoom")
    await walk(user, lang, until=State.CHOOSING_DAY)


async def walk_to_booking(user: Any, lang: str) -> None:
    """From the language question to a booked consultation at the first free time."""
    await walk_to_day(user, lang)
    await walk(user, lang)
    assert _position(user)[0] == State.BOOKED
