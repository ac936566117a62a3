"""Inbound: a Telegram update → an event for the intake, and what the sender must know.

Only private chats are served. A button press carries the turn it was offered in, so a
stale or doubled press is recognised by the flow; its label and message are kept so the
sender can take the old keyboard off. Nothing here logs message content or chat ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Message, Update

from bot import choice_data
from flows.model import Event

MAX_TEXT = 4096
MAX_ID = 2**63
"""Above any id Telegram gives (chat ids fit in 52 bits); ids beyond are not read."""


class Unreadable(ValueError):
    """An update PTB read, but whose fields cannot be what Telegram sends."""


def _id(value: object) -> int:
    """Return an id, or raise Unreadable when it is not a plausible one."""
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_ID < value < MAX_ID:
        raise Unreadable("id")
    return value


def _text(value: object) -> str:
    """Return a text field (None is empty), or raise Unreadable when it is not text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Unreadable("text")
    return value[:MAX_TEXT]


def _hint(user: object) -> str | None:
    """Return the user's language code when it is text."""
    code = getattr(user, "language_code", None)
    return code if isinstance(code, str) else None


@dataclass(frozen=True)
class Inbound:
    """One update, translated."""

    user_ref: str
    event: Event
    event_key: str
    delivery: dict[str, Any]
    callback_query_id: str | None = None


def _command(text: str) -> str | None:
    if not text.startswith("/"):
        return None
    word = text.split()[0][1:]
    return word.split("@")[0].lower() or None


def translate(update: Update) -> Inbound | None:
    """Return the event of an update, or None for updates the intake ignores.

    Raises Unreadable (or what PTB's objects raise) for fields of the wrong type.
    """
    key = str(_id(update.update_id))
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if not isinstance(message, Message) or message.chat.type != "private":
            return None
        data = _text(query.data)
        turn, choice_id = choice_data.decode(data)
        label = ""
        if message.reply_markup is not None:  # the pressed button's own text
            for row in message.reply_markup.inline_keyboard:
                for button in row:
                    if button.callback_data == query.data:
                        label = _text(button.text)
        pressed = {
            "message_id": _id(message.message_id),
            "label": label,
            "text": _text(getattr(message, "text", None)),
            "media": message.text is None,  # a file with a caption: never edited in place
        }
        event = Event(
            "choice",
            choice_id,
            turn if turn is not None else -1,
            language_hint=_hint(query.from_user),
        )
        callback_id = _text(query.id)
        return Inbound(str(_id(message.chat.id)), event, key, {"pressed": pressed}, callback_id)
    message = update.message
    if message is None or message.chat.type != "private":
        return None
    hint = _hint(message.from_user)
    text = _text(message.text)
    command = _command(text)
    if command is not None:
        event = Event("command", command, language_hint=hint)
    else:
        event = Event("text", text, language_hint=hint)  # a photo or sticker is empty text
    return Inbound(str(_id(message.chat.id)), event, key, {})
