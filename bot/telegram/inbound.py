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
    """Return the event of an update, or None for updates the intake ignores."""
    key = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if not isinstance(message, Message) or message.chat.type != "private":
            return None
        turn, choice_id = choice_data.decode(query.data or "")
        label = ""
        if message.reply_markup is not None:  # the pressed button's own text
            for row in message.reply_markup.inline_keyboard:
                for button in row:
                    if button.callback_data == query.data:
                        label = button.text
        pressed = {
            "message_id": message.message_id,
            "label": label,
            "text": (getattr(message, "text", None) or "")[:MAX_TEXT],
            "media": message.text is None,  # a file with a caption: never edited in place
        }
        event = Event(
            "choice",
            choice_id,
            turn if turn is not None else -1,
            language_hint=query.from_user.language_code if query.from_user else None,
        )
        return Inbound(str(message.chat.id), event, key, {"pressed": pressed}, query.id)
    message = update.message
    if message is None or message.chat.type != "private":
        return None
    hint = message.from_user.language_code if message.from_user else None
    text = (message.text or "")[:MAX_TEXT]
    command = _command(text)
    if command is not None:
        event = Event("command", command, language_hint=hint)
    else:
        event = Event("text", text, language_hint=hint)  # a photo or sticker is empty text
    return Inbound(str(message.chat.id), event, key, {})
