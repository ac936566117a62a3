"""Step one stored conversation and save it with its replies, inside the caller's transaction.

What every part of the service shares: the scope of one transaction and the turn of one
conversation. It never opens or commits a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.service import usage
from flows.codec import reply_to_json
from flows.machine import step
from flows.model import Conversation, Event, Outcome, SystemEvent
from storage import conversations, outbox
from storage.models import Booking, Office
from storage.models import Conversation as ConversationRow
from storage.ports import StoredIntakePorts
from storage.vault import Vault


@dataclass(frozen=True)
class Scope:
    """What one transaction works with: the session, the office, the vault and its time."""

    session: Session
    office: Office
    vault: Vault
    now: datetime


def jobseeker_key(scope: Scope, conv: Conversation) -> str | None:
    """Return the lookup key of the jobseeker number given in this conversation, if any."""
    number = conv.data.get("jobseeker_number")
    return scope.vault.lookup_key(number) if number else None


def ports_for(scope: Scope, row: ConversationRow, key: str | None) -> StoredIntakePorts:
    """Return the flow's read side for this conversation's jobseeker."""
    return StoredIntakePorts(
        scope.session,
        scope.office,
        scope.now,
        pseudonym=row.pseudonym,
        jobseeker_key=key,
        chat=(row.channel, row.user_ref),
        vault=scope.vault,
    )


def load(
    scope: Scope, channel: str, user_ref: str, locked: ConversationRow | None = None
) -> tuple[ConversationRow, Conversation]:
    """Return one user's conversation, locked for this transaction (created when new), with
    its usage record. `locked`: its row, when already read and locked in this transaction."""
    row, conv = conversations.load_for_update(
        scope.session,
        channel=channel,
        user_ref=user_ref,
        office_id=scope.office.id,
        vault=scope.vault,
        now=scope.now,
        locked=locked,
    )
    usage.ensure(scope, row)
    return row, conv


def save(
    scope: Scope, row: ConversationRow, outcome: Outcome, delivery: dict[str, Any] | None
) -> None:
    """Save the new state, record the step for the statistics and queue the replies in the
    outbox."""
    new = outcome.conversation
    usage.step(scope, row, row.state, str(new.state), new.language)
    conversations.save(scope.session, row, new, vault=scope.vault, now=scope.now)
    _queue(scope, row.channel, row.user_ref, outcome, delivery)


def queue_last(
    scope: Scope,
    channel: str,
    user_ref: str,
    outcome: Outcome,
    delivery: dict[str, Any] | None,
) -> None:
    """Queue the replies to a user whose conversation was just erased.

    Queued after the erasure, so it is the one row left that names the chat; once
    delivered (or given up), the row and the sender's memory of the chat are dropped too
    (`storage.outbox.FORGET`).
    """
    _queue(scope, channel, user_ref, outcome, {**(delivery or {}), outbox.FORGET: True})


def _queue(
    scope: Scope,
    channel: str,
    user_ref: str,
    outcome: Outcome,
    delivery: dict[str, Any] | None,
) -> None:
    new = outcome.conversation
    outbox.enqueue_later(
        scope.session,
        channel=channel,
        recipient=user_ref,
        payload={
            "language": new.language or new.data.get("suggested_language"),
            "turn": new.turn,
            "replies": [reply_to_json(r) for r in outcome.replies],
            **(delivery or {}),
        },
        now=scope.now,
    )


def tell(
    scope: Scope, row: ConversationRow, conv: Conversation, event: Event, key: str | None
) -> None:
    """Step a system event into a conversation and save it with its replies.

    Only the new state and the replies are kept: what happened was already applied by the
    caller (a cancellation, a stop, a held place).
    """
    outcome = step(conv, event, ports_for(scope, row, key))
    save(scope, row, outcome, None)


def tell_owner(scope: Scope, booking: Booking, what: SystemEvent) -> None:
    """Move the conversation that made `booking` on by `what` and tell its user, in their
    language."""
    row, conv = load(scope, booking.channel, booking.user_ref)
    if conv.language is None:
        conv.language = booking.language
    tell(scope, row, conv, Event.happened(what), booking.jobseeker_key)
