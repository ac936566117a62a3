"""Ask which language to use; `/language` comes back here and returns to where the user was."""

from __future__ import annotations

from flows import languages
from flows.dialog import Move, choice, move, say
from flows.model import Choice, Conversation, Event, IntakePorts, Msg, Reply
from flows.my_booking import open_my_booking

RETURN_TO = "language_return_to"
"""Where `/language` came from; apart from /cancel's `return_to`, which the step keeps."""


def language_choices() -> tuple[Choice, ...]:
    """Return one choice per offered language, each in its own name, always in one order
    (people who read the list in another order pick the wrong one)."""
    return tuple(choice(f"lang:{code}", f"language.native.{code}") for code in languages.codes())


def prompt_language(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for the language in every offered language."""
    return [Reply(Msg("language.ask"), language_choices(), all_languages=True)]


def answer_language(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Set the language, then go on with the terms or back to the interrupted step."""
    conv.language = event.value.split(":", 1)[1]
    back_to = conv.data.pop(RETURN_TO, None)
    if back_to is None:  # a conversation saved before RETURN_TO had its own key
        back_to = conv.data.pop("return_to", None)
    if back_to:
        return move("back", say("language.changed"), back_to=back_to, refresh=False)
    if ports.booking_limit_reached():  # starting again with a booking: show it first
        return open_my_booking(conv, ports, note="mybooking.already_booked")
    return move("chosen")
