"""Inbound: a LINE webhook event → an event for the intake, and what the sender must know.

Only one-to-one chats with a user are served. A postback carries the turn its button was
offered in, so a stale or doubled tap is recognised by the flow. A follow starts (or resumes)
the intake and makes the user reachable again; an unfollow only makes them unreachable.
The reply token travels with the replies so the sender can use it while it is fresh.
Nothing here logs message content or user ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from linebot.v3.webhooks import (
    Event as LineEvent,
)
from linebot.v3.webhooks import (
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from bot import choice_data
from flows.model import Event

MAX_TEXT = 5000
MAX_ID = 128
"""The longest user or event id kept (LINE's are 33 and 26 characters)."""


class Unreadable(ValueError):
    """An event the SDK read, but whose ids cannot be ours (e.g. far too long)."""


@dataclass(frozen=True)
class Inbound:
    """One LINE event, translated.

    `event` is None when the intake has nothing to do (an unfollow); `reachable` is True
    after a follow, False after an unfollow, None otherwise.
    """

    user_ref: str
    event: Event | None
    event_key: str
    delivery: dict[str, Any] = field(default_factory=dict)
    reachable: bool | None = None


def _delivery(event: Any, received_at: datetime) -> dict[str, Any]:
    """Return what the sender needs to answer with the reply token while it is valid."""
    token = getattr(event, "reply_token", None)
    if not token:
        return {}
    context = getattr(event, "delivery_context", None)
    return {
        "reply_token": token,
        "received_at": received_at.isoformat(),
        "redelivered": bool(context and context.is_redelivery),
    }


def _text_event(text: str) -> Event:
    if text.startswith("/") and len(text) > 1 and " " not in text.strip():
        return Event("command", text.strip()[1:].lower())
    return Event("text", text)


def translate(event: LineEvent, *, received_at: datetime) -> Inbound | None:
    """Return the translation of a webhook event, or None for events the intake ignores."""
    source = getattr(event, "source", None)
    if not isinstance(source, UserSource) or not source.user_id:
        return None  # groups and rooms are not served
    mode = getattr(event, "mode", None)
    if mode is not None and str(getattr(mode, "value", mode)) == "standby":
        return None  # another channel holds the chat (module mode); it answers
    key = getattr(event, "webhook_event_id", None) or ""
    if not key:
        return None  # every current webhook event has an id; without one it cannot be deduplicated
    user = source.user_id
    if len(key) > MAX_ID or len(user) > MAX_ID:
        raise Unreadable("id too long")
    delivery = _delivery(event, received_at)
    if isinstance(event, FollowEvent):
        return Inbound(user, Event("command", "start"), key, delivery, reachable=True)
    if isinstance(event, UnfollowEvent):
        return Inbound(user, None, key, reachable=False)
    if isinstance(event, PostbackEvent):
        turn, choice_id = choice_data.decode(event.postback.data or "")
        choice = Event("choice", choice_id, turn if turn is not None else -1)
        return Inbound(user, choice, key, delivery)
    if isinstance(event, MessageEvent):
        message = event.message
        text = message.text[:MAX_TEXT] if isinstance(message, TextMessageContent) else ""
        return Inbound(user, _text_event(text), key, delivery)  # a sticker is empty text
    return None
