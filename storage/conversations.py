"""Conversation state per (channel, user): loaded locked for one event, saved with it.

PostgreSQL locks the row (SELECT ... FOR UPDATE); SQLite's BEGIN IMMEDIATE already holds the
database write lock. The version column refuses a lost update on any backend: the save is
conditional on the version the row was loaded at.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from flows.model import Conversation as FlowConversation
from storage import offices
from storage.db import changed, later
from storage.models import Conversation, Office
from storage.vault import Vault

_LOCKED = (
    select(Conversation)
    .where(Conversation.channel == bindparam("channel"), Conversation.user_ref == bindparam("ref"))
    .with_for_update()
)
"""Built once: every event loads its conversation (see storage/db.py)."""
_LOCKED_WITH_OFFICE = (
    select(Conversation, Office)
    .join(Office, Office.code == bindparam("code"))
    .where(Conversation.channel == bindparam("channel"), Conversation.user_ref == bindparam("ref"))
    .with_for_update(of=Conversation)
)


def office_and_locked(
    session: Session, *, office_code: str, channel: str, user_ref: str
) -> tuple[Office, Conversation | None]:
    """Return the office with `office_code` and the user's conversation row, locked for this
    transaction (None for a user without one yet).

    Every event needs both: one statement, one round trip, when the conversation exists
    (all but a user's first event); LookupError when there is no such office.
    """
    who = {"code": office_code, "channel": channel, "ref": user_ref}
    found = session.execute(_LOCKED_WITH_OFFICE, who).first()
    if found is not None:
        return found[1], found[0]
    return offices.get_office(session, office_code), None


def load_for_update(
    session: Session,
    *,
    channel: str,
    user_ref: str,
    office_id: int,
    vault: Vault,
    now: datetime,
    locked: Conversation | None = None,
) -> tuple[Conversation, FlowConversation]:
    """Return the stored row and its flow conversation, creating a new one if needed.

    `locked`: the row already read and locked in this transaction (`office_and_locked`).
    """
    who = {"channel": channel, "ref": user_ref}
    row = locked if locked is not None else session.scalar(_LOCKED, who)
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


_SAVE = (
    update(Conversation)
    .where(Conversation.id == bindparam("p_id"), Conversation.version == bindparam("p_version"))
    .values(
        {
            column: bindparam(f"p_{column}")
            for column in ("state", "language", "turn", "data_sealed", "updated_at")
        }
        | {"version": bindparam("p_version") + 1}
    )
)
# PostgreSQL: sent with the step's other writes (storage.db.later), where no row count comes
# back; a row that was not there at its version fails the statement instead (1 / 0 rows).
_SAVED = _SAVE.returning(Conversation.id).cte("saved")
_SAVE_CHECKED = select(literal(1) / func.count()).select_from(_SAVED)


def save(
    session: Session, row: Conversation, conv: FlowConversation, *, vault: Vault, now: datetime
) -> None:
    """Write the flow conversation back into its row (committed by the caller).

    One Core UPDATE conditional on the row's version, not an ORM flush: on PostgreSQL it
    goes in the one round trip of the step's other writes. The row object is told the new
    values as already stored, so the ORM does not write them again.
    """
    values = {
        "state": str(conv.state),
        "language": conv.language,
        "turn": conv.turn,
        "data_sealed": vault.seal(conv.data),
        "updated_at": now,
    }
    params = {f"p_{column}": value for column, value in values.items()}
    params |= {"p_id": row.id, "p_version": row.version}
    values["version"] = row.version + 1
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        later(session, _SAVE_CHECKED, params)
    elif changed(conn.execute(_SAVE, params)) != 1:
        raise StaleDataError(f"conversation {row.id} changed since it was loaded")
    for key, value in values.items():
        set_committed_value(row, key, value)
