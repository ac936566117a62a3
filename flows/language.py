"""Ask which language to use; `/language` comes back here and returns to where the user was."""

from __future__ import annotations

from flows import languages
from flows.dialog import Move, choice, move, say
from flows.model import Choice, Conversation, Event, IntakePorts, Msg, Reply


def language_choices(first: str | None = None) -> tuple[Choice, ...]:
    """Return one choice per offered language, labelled in that language, `first` first."""
    codes = sorted(languages.codes(), key=lambda code: code != first)
    return tuple(choice(f"lang:{code}", f"language.native.{code}") for code in codes)


def prompt_language(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for the language in every offered language, the current or suggested one first."""
    first = conv.language or conv.data.get("suggested_language")
    return [Reply(Msg("language.ask"), language_choices(first), all_languages=True)]


def answer_language(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Set the language, then go on with the terms or back to the interrupted step."""
    conv.language = event.value.split(":", 1)[1]
    back_to = conv.data.pop("return_to", None)
    if back_to:
        return move("back", say("language.changed"), back_to=back_to, refresh=False)
    return move("chosen")
