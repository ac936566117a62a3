"""Outbound, pure part: a rendered message → the Bot API calls that show it to the user.

Layout packs text within 4,096 characters at paragraph (article) boundaries and puts
choices on an inline keyboard. Planning keeps a step to as few calls as the chat stays
readable with: a button press edits the pressed message in place into the next question
(headed by the chosen answer); anything longer goes out as new messages; the previous
keyboard is taken off so old buttons do not pile up. Never renders replies (`bot.rendered`
does) and never performs I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import choice_data, splitting
from bot.rendered import RenderedMessage, render_payload
from bot.rendering import Renderer

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64


@dataclass(frozen=True)
class Button:
    """One inline keyboard button."""

    text: str
    data: str


@dataclass(frozen=True)
class Part:
    """One message to show: text with an optional keyboard, or a document."""

    text: str
    keyboard: tuple[tuple[Button, ...], ...] = ()
    document: bytes | None = None
    filename: str = ""


@dataclass(frozen=True)
class Call:
    """One Bot API call of a delivery plan."""

    method: str  # sendMessage | editMessageText | editMessageReplyMarkup | sendDocument
    params: dict[str, Any] = field(default_factory=dict)
    part: Part | None = None
    sets_keyboard: bool = False
    tidy: bool = False  # tidying up after the answer (closing a question, a keyboard off)


def callback_data(turn: int, choice_id: str) -> str:
    """Return the callback data of a choice: the turn it was offered in, and its id."""
    data = choice_data.encode(turn, choice_id)
    if len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {choice_id!r}")
    return data


def _layout(buttons: list[Button]) -> tuple[tuple[Button, ...], ...]:
    """Put short labels (times) several to a row, long labels one to a row."""
    longest = max((len(b.text) for b in buttons), default=0)
    per_row = 4 if longest <= 6 else 2 if longest <= 14 else 1
    rows, row = [], []
    for button in buttons:
        row.append(button)
        if len(row) == per_row:
            rows.append(tuple(row))
            row = []
    if row:
        rows.append(tuple(row))
    return tuple(rows)


def pack(blocks: list[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Pack blocks (articles, replies) into messages within `limit` characters."""
    return splitting.pack(blocks, limit)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a text within `limit` characters, at blank lines, then lines, then hard."""
    return splitting.split_text(text, limit)


def render(payload: dict[str, Any]) -> list[Part]:
    """Render an outbox payload into messages (the neutral step, then Telegram's layout)."""
    return layout(render_payload(payload))


def layout(message: RenderedMessage) -> list[Part]:
    """Lay out a rendered message: text packed, the keyboard on the last message.

    A message with a file (the booking confirmation and its calendar entry) is the file,
    captioned with the whole text and carrying the keyboard: one call. When the text is too
    long for a caption it goes first as messages, and the file follows with its own caption.
    """
    buttons = [Button(c.label, callback_data(message.turn, c.id)) for c in message.choices]
    keyboard = _layout(buttons)
    if message.documents:
        *first, last = message.documents
        parts = [Part(d.caption, document=d.data, filename=d.filename) for d in first]
        what_next = [Renderer(message.language).text("common.what_next")] if buttons else []
        caption = pack([*message.blocks, last.caption, *what_next], CAPTION_LIMIT)
        if len(caption) == 1:
            texts: list[str] = []
        else:
            texts = pack(list(message.blocks))
            caption = pack([last.caption, *what_next], CAPTION_LIMIT)[:1]
        parts = [Part(chunk) for chunk in texts] + parts
        parts.append(Part(caption[0], keyboard, document=last.data, filename=last.filename))
        return parts
    chunks = pack(list(message.blocks))
    parts = [Part(chunk) for chunk in chunks[:-1]]
    parts.append(Part(chunks[-1], keyboard))
    return parts


def markup(keyboard: tuple[tuple[Button, ...], ...]) -> dict[str, Any] | None:
    """Return the Bot API reply_markup of a keyboard (None when empty)."""
    if not keyboard:
        return None
    return {
        "inline_keyboard": [
            [{"text": b.text, "callback_data": b.data} for b in row] for row in keyboard
        ]
    }


def plan(
    payload: dict[str, Any], parts: list[Part], *, keyboard_message_id: str | None
) -> list[Call]:
    """Return the Bot API calls that show `parts`, given where the live keyboard is.

    The answer goes first and tidying up (closing the pressed question, taking an old
    keyboard off) after it, so the user reads the answer after one call.
    """
    pressed = payload.get("pressed")
    tidying: list[Call] = []
    other_keyboard = keyboard_message_id and keyboard_message_id != str(
        (pressed or {}).get("message_id")
    )
    # a pressed file (the confirmation) is never edited: its caption stays as it was sent
    if pressed and not pressed.get("media") and len(parts) == 1 and parts[0].document is None:
        header = f"✓ {pressed['label']}\n\n" if pressed.get("label") else ""
        text = header + parts[0].text
        if len(text) <= TEXT_LIMIT:
            edit = Call(
                "editMessageText",
                {"message_id": int(pressed["message_id"]), "text": text},
                part=Part(text, parts[0].keyboard),
                sets_keyboard=True,
            )
            if other_keyboard:
                tidying.append(_keyboard_off(keyboard_message_id))
            return [edit, *tidying]
    if pressed:
        old = str(pressed.get("text") or "")
        label = pressed.get("label")
        closing = f"{old}\n\n✓ {label}" if label and old else old
        if closing and len(closing) <= TEXT_LIMIT:
            tidying.append(
                Call(
                    "editMessageText",
                    {"message_id": int(pressed["message_id"]), "text": closing},
                    tidy=True,
                )
            )
        else:
            tidying.append(_keyboard_off(pressed["message_id"]))
        if other_keyboard:
            tidying.append(_keyboard_off(keyboard_message_id))
    elif keyboard_message_id and not payload.get("keep_keyboard"):
        tidying.append(_keyboard_off(keyboard_message_id))
    sends = [
        Call(
            "sendDocument" if part.document is not None else "sendMessage",
            part=part,
            sets_keyboard=bool(part.keyboard),
        )
        for part in parts
    ]
    return [*sends, *tidying]


def _keyboard_off(message_id: Any) -> Call:
    """Return the call that takes the keyboard off a message."""
    return Call("editMessageReplyMarkup", {"message_id": int(message_id)}, tidy=True)
