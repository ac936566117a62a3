"""Per-user delivery memory of a channel: the message that carries the live keyboard,
and whether the user can be reached (blocked the bot, unfollowed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ChannelContact


def get(session: Session, channel: str, user_ref: str) -> ChannelContact:
    """Return the contact row of a user, creating it when missing."""
    query = select(ChannelContact).where(
        ChannelContact.channel == channel, ChannelContact.user_ref == user_ref
    )
    contact = session.scalar(query)
    if contact is None:
        contact = ChannelContact(channel=channel, user_ref=user_ref)
        try:
            with session.begin_nested():
                session.add(contact)
        except IntegrityError:
            contact = session.scalar(query)
            assert contact is not None
    return contact


def set_keyboard_message(
    session: Session, channel: str, user_ref: str, message_id: str | None
) -> None:
    """Remember which message carries the user's live keyboard (None: no keyboard)."""
    get(session, channel, user_ref).keyboard_message_id = message_id


def mark_unreachable(session: Session, channel: str, user_ref: str, now: datetime | None) -> None:
    """Record that the user cannot be messaged (or, with None, can be again)."""
    get(session, channel, user_ref).unreachable_since = now


def keyboard_messages(session: Session, channel: str, user_refs: list[str]) -> dict[str, str]:
    """Return the live keyboard message of each of these users that has one."""
    if not user_refs:
        return {}
    rows = session.execute(
        select(ChannelContact.user_ref, ChannelContact.keyboard_message_id).where(
            ChannelContact.channel == channel,
            ChannelContact.user_ref.in_(user_refs),
            ChannelContact.keyboard_message_id.is_not(None),
        )
    ).all()
    return {user_ref: message_id for user_ref, message_id in rows if message_id is not None}


def unreachable(session: Session, channel: str, user_refs: list[str]) -> set[str]:
    """Return which of these users cannot be messaged (blocked the bot, unfollowed)."""
    if not user_refs:
        return set()
    return set(
        session.scalars(
            select(ChannelContact.user_ref).where(
                ChannelContact.channel == channel,
                ChannelContact.user_ref.in_(user_refs),
                ChannelContact.unreachable_since.is_not(None),
            )
        )
    )
