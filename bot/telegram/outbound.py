"""Outbound, pure part: an outbox payload → the Bot API calls that show it to the user.

Rendering splits text within 4,096 characters at paragraph (article) boundaries and lays
out choices as an inline keyboard. Planning keeps a step to as few calls as the chat stays
readable with: a button press edits the pressed message in place into the next question
(headed by the chosen answer); anything longer goes out as new messages; the previous
keyboard is taken off so old buttons do not pile up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import choice_data, splitting
from bot.calendar_file import booking_ics
from bot.rendering import Renderer
from flows import languages
from flows.codec import reply_from_json
from flows.model import Reply

TEXT_LIMIT = 4096
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


def callback_data(turn: int, choice_id: str) -> str:
    """Return the callback data of a choice: the turn it was offered in, and its id."""
    data = choice_data.encode(turn, choice_id)
    if len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {choice_id!r}")
    return data


def parse_callback_data(data: str) -> tuple[int | None, str]:
    """Return (turn, choice id) of callback data; a malformed one has turn None."""
    return choice_data.decode(data)


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


def _calendar(reply: Reply, renderer: Renderer) -> Part:
    params = reply.body.params
    reference = str(params["reference"])
    at = params["at"]
    assert isinstance(at, datetime)
    data = booking_ics(
        reference=reference,
        starts_at=at,
        minutes=int(params.get("minutes", 30)),  # type: ignore[call-overload]
        summary=renderer.text("calendar.summary", reference=reference),
        description=renderer.text("calendar.description", link=str(params["link"])),
        url=str(params["link"]),
        now=datetime.now(UTC),
    )
    return Part(text=renderer.text("calendar.caption"), document=data, filename=f"{reference}.ics")


def render(payload: dict[str, Any]) -> list[Part]:
    """Render an outbox payload into messages: text merged, keyboard on the last one."""
    renderer = Renderer(payload.get("language") or languages.default_code())
    turn = int(payload.get("turn", 0))
    blocks: list[str] = []
    buttons: list[Button] = []
    documents: list[Part] = []
    for raw in payload["replies"]:
        reply = reply_from_json(raw)
        blocks += renderer.blocks(reply)
        if reply.choices:
            buttons = [
                Button(renderer.choice_label(c.label), callback_data(turn, c.id))
                for c in reply.choices
            ]
        if reply.document and reply.document.kind == "calendar":
            documents.append(_calendar(reply, renderer))
    chunks = pack(blocks)
    if documents:  # a booking confirmation stays as sent: its buttons go in their own message
        parts = [Part(chunk) for chunk in chunks] + documents
        if buttons:
            parts.append(Part(renderer.text("common.what_next"), _layout(buttons)))
        return parts
    parts = [Part(chunk) for chunk in chunks[:-1]]
    parts.append(Part(chunks[-1], _layout(buttons)))
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


def plan(payload: dict[str, Any], parts: list[Part], *, keyboard_message_id: str | None) -> list[Call]:
    """Return the Bot API calls that show `parts`, given where the live keyboard is."""
    pressed = payload.get("pressed")
    calls: list[Call] = []
    if pressed and len(parts) == 1 and parts[0].document is None:
        header = f"✓ {pressed['label']}\n\n" if pressed.get("label") else ""
        text = header + parts[0].text
        if len(text) <= TEXT_LIMIT:
            if keyboard_message_id and keyboard_message_id != str(pressed["message_id"]):
                calls.append(Call("editMessageReplyMarkup", {"message_id": int(keyboard_message_id)}))
            calls.append(
                Call(
                    "editMessageText",
                    {"message_id": int(pressed["message_id"]), "text": text},
                    part=Part(text, parts[0].keyboard),
                    sets_keyboard=True,
                )
            )
            return calls
    if pressed:
        old = str(pressed.get("text") or "")
        label = pressed.get("label")
        closing = f"{old}\n\n✓ {label}" if label and old else old
        if closing and len(closing) <= TEXT_LIMIT:
            calls.append(Call("editMessageText", {"message_id": int(pressed["message_id"]), "text": closing}))
        else:
            calls.append(Call("editMessageReplyMarkup", {"message_id": int(pressed["message_id"])}))
        if keyboard_message_id and keyboard_message_id != str(pressed["message_id"]):
            calls.append(Call("editMessageReplyMarkup", {"message_id": int(keyboard_message_id)}))
    elif keyboard_message_id and not payload.get("keep_keyboard"):
        calls.append(Call("editMessageReplyMarkup", {"message_id": int(keyboard_message_id)}))
    for part in parts:
        if part.document is not None:
            calls.append(Call("sendDocument", part=part))
        else:
            calls.append(Call("sendMessage", part=part, sets_keyboard=bool(part.keyboard)))
    return calls
