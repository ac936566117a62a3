"""Conversation state per (channel, user): loaded locked for one event, saved with it.

PostgreSQL locks the row (SELECT ... FOR UPDATE); SQLite's BEGIN IMMEDIATE already holds the
database write lock. The version column refuses a lost update on any backend.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flows.model import Conversation as FlowConversation
from storage.models import Conversation
from storage.vault import Vault

_LOCKED = (
    select(Conversation)
    .where(Conversation.channel == bindparam("channel"), Conversation.user_ref == bindparam("ref"))
    .with_for_update()
)
"""Built once: every event loads its conversation (see storage/db.py)."""


def load_for_update(
    session: Session,
    *,
    channel: str,
    user_ref: str,
    office_id: int,
    vault: Vault,
    now: datetime,
) -> tuple[Conversation, FlowConversation]:
    """Return the stored row and its flow conversation, creating a new one if needed."""
    who = {"channel": channel, "ref": user_ref}
    row = session.scalar(_LOCKED, who)
    if row is None:
        row = Conversation(
            channel=channel,
            user_ref=user_ref,
            pseudonym=vault.pseudonym(channel, user_ref),
            office_id=office_id,
            state=FlowConversation().state,
            language=None,
            turn=0,
            data_sealed="",
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # created by a concurrent event of the same user
            row = session.scalar(_LOCKED, who)
            assert row is not None
    conv = FlowConversation(
        state=row.state, language=row.language, turn=row.turn, data=vault.open(row.data_sealed)
    )
    return row, conv


def peek(
    session: Session, *, channel: str, user_ref: str, vault: Vault
) -> FlowConversation | None:
    """Return a user's conversation as it stands, without locking it (None if none yet)."""
    row = session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.user_ref == user_ref
        )
    )
    if row is None:
        return None
    return FlowConversation(
        state=row.state, language=row.language, turn=row.turn, data=vault.open(row.data_sealed)
    )


def save(row: Conversation, conv: FlowConversation, *, vault: Vault, now: datetime) -> None:
    """Write the flow conversation back into its row (committed by the caller)."""
    row.state = str(conv.state)
    row.language = conv.language
    row.turn = conv.turn
    row.data_sealed = vault.seal(conv.data)
    row.updated_at = now
