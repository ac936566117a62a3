"""Outbound, pure part: a rendered message → the LINE messages that show it to the user.

Text is packed within 5,000 UTF-16 units per message at paragraph (article) boundaries;
choices become quick reply buttons (at most 13, labels within 20 characters) carrying the
turn they were offered in. Whenever a button cannot show a choice in full (a label cut short,
more than 13 choices), the message lists every choice by number, so nothing is lost: typing
the number works everywhere. LINE cannot receive .ics files, so a booking shows its link
only. Never renders replies (`bot.rendered` does) and never performs I/O.
"""

from __future__ import annotations

from typing import Any

from bot import choice_data, splitting
from bot.rendered import RenderedChoice, RenderedMessage, render_payload
from bot.rendering import Renderer

TEXT_LIMIT = 5000
MESSAGES_PER_REQUEST = 5
QUICK_REPLY_ITEMS = 13
LABEL_LIMIT = 20
POSTBACK_DATA_LIMIT = 300
DISPLAY_TEXT_LIMIT = 300

Message = dict[str, Any]


def postback_data(turn: int, choice_id: str) -> str:
    """Return the postback data of a choice: the turn it was offered in, and its id."""
    data = choice_data.encode(turn, choice_id)
    if len(data) > POSTBACK_DATA_LIMIT:
        raise ValueError(f"postback data over {POSTBACK_DATA_LIMIT} characters: {choice_id!r}")
    return data


def shorten(text: str, limit: int) -> str:
    """Return `text` within `limit` UTF-16 units, ending in "…" when it was cut."""
    if splitting.utf16_units(text) <= limit:
        return text
    return (
        splitting.split_text(text.replace("\n", " "), limit - 1, size=splitting.utf16_units)[0]
        + "…"
    )


def _buttons(choices: tuple[RenderedChoice, ...]) -> list[tuple[int, RenderedChoice]]:
    """Return the numbered choices that get a button: all, or the first 12 and the last."""
    numbered = list(enumerate(choices, 1))
    if len(numbered) <= QUICK_REPLY_ITEMS:
        return numbered
    # The last option of a long list is its way out (another day); keep it one tap away.
    return numbered[: QUICK_REPLY_ITEMS - 1] + numbered[-1:]


def choice_layout(message: RenderedMessage) -> tuple[list[dict[str, Any]], str | None]:
    """Return the quick reply items, and the numbered list of choices (None if all fit)."""
    choices = message.choices
    renderer = Renderer(message.language)
    listed = len(choices) > QUICK_REPLY_ITEMS or any(
        splitting.utf16_units(c.short_label) > LABEL_LIMIT for c in choices
    )
    items = []
    for number, option in _buttons(choices):
        label = option.short_label
        if listed:
            label = renderer.text("line.choice.item", number=number, label=label)
        items.append(
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": shorten(label, LABEL_LIMIT),
                    "data": postback_data(message.turn, option.id),
                    # shown in the chat as the user's answer, in full
                    "displayText": shorten(option.label, DISPLAY_TEXT_LIMIT),
                },
            }
        )
    if not listed:
        return items, None
    lines = [
        renderer.text("line.choice.item", number=n, label=c.label)
        for n, c in enumerate(choices, 1)
    ]
    if len(choices) > QUICK_REPLY_ITEMS:
        lines.append(renderer.text("line.choice.type_number"))
    return items, "\n".join(lines)


def render(payload: dict[str, Any]) -> list[Message]:
    """Render an outbox payload into LINE messages (the neutral step, then LINE's layout)."""
    return layout(render_payload(payload, files=False))


def layout(message: RenderedMessage) -> list[Message]:
    """Lay out a rendered message: text packed, quick replies on the last message."""
    # Documents are left out: LINE cannot receive files, and the text carries link and time.
    blocks = list(message.blocks)
    items: list[dict[str, Any]] = []
    if message.choices:
        items, listing = choice_layout(message)
        if listing:
            blocks.append(listing)
    texts = splitting.pack(blocks, TEXT_LIMIT, size=splitting.utf16_units)
    messages: list[Message] = [{"type": "text", "text": text} for text in texts]
    if items:
        messages[-1]["quickReply"] = {"items": items}
    return messages


def requests(messages: list[Message]) -> list[list[Message]]:
    """Group messages into API requests of at most five (the reply and push limit)."""
    return [
        messages[start : start + MESSAGES_PER_REQUEST]
        for start in range(0, len(messages), MESSAGES_PER_REQUEST)
    ]
