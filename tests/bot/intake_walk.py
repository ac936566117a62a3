"""The intake as a messenger user walks it, pressing buttons by their label; shared by the
channel tests. `user` is any simulated user with `click`, `send`, `sees`, `press_index`
and a `language` attribute (tests/bot/telegram/harness.py, tests/bot/line/harness.py,
tests/chat_client.py)."""

from __future__ import annotations

from typing import Any

from flows.environment import ENVIRONMENT_ITEMS


def walk_to_day(user: Any, lang: str) -> None:
    """From the language question to the choice of a day, agreeing to everything."""
    user.click(f"language.native.{lang}")
    user.language = lang
    assert user.sees("terms.summary", version="2022-04-01", meeting_app="Zoom")
    user.click("terms.choice.agree")
    user.click("meeting_app.choice.agree")
    user.click("eligibility.registration.office")
    user.send("１３０１０ー１２３４５６７８")
    assert user.sees("eligibility.device.ask", meeting_app="Zoom")
    user.click("common.yes")
    for _ in ENVIRONMENT_ITEMS:
        user.click("environment.choice.yes")
    for _ in range(3):
        user.click("conditions.choice.agree")
    user.click("accommodation.kind.none")
    user.click("accommodation.note.skip")


def walk_to_booking(user: Any, lang: str) -> None:
    """From the language question to a booked consultation at the first free time."""
    walk_to_day(user, lang)
    user.press_index(0)  # first day
    user.press_index(0)  # first time
    user.click("booking.choice.confirm")
