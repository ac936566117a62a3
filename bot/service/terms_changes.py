"""Tell users that the terms change (art. 13): the change, the new text, the day it takes
effect, on their own channel and in their language, each user once per version.

Two ways, both writing the notice row and the message in one transaction (the row is unique
per user and version, so a restart or a second worker never tells twice): the worker's job
tells those with a booking ahead or an intake not finished, a batch per run; a user who
comes back later is told after the answer to their next message. It never renders text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.service import conversation
from bot.service.conversation import Scope
from flows import languages
from flows.intake import TABLE, State
from flows.machine import step
from flows.model import Conversation as FlowConversation
from flows.model import Event, Outcome, TermsChanged
from storage import offices, terms_versions
from storage.db import Database
from storage.models import Conversation as ConversationRow
from storage.models import TermsVersion
from storage.vault import Vault

log = logging.getLogger("madoguchi.terms")

FINISHED = frozenset(
    {
        State.CHOOSING_LANGUAGE,
        State.DECLINED,
        State.NOT_REGISTERED,
        State.NO_DEVICE,
        State.CONDITIONS_UNMET,
        State.BOOKED,
        State.STOPPED,
        State.MANAGING_BOOKING,
        State.CONFIRMING_CANCEL,
        State.BOOKING_CANCELLED,
        State.SERVICE_STOPPED,
    }
)
"""States where no intake is under way (a booking ahead is looked up on its own)."""

UNFINISHED = frozenset(s.value for s in State if s not in FINISHED and not TABLE[s].holds_slot)
"""Intakes under way that the job may interrupt: not while a place is held for the user
(they are told at their next message after it, or by a later run)."""


def _may_tell(conv: FlowConversation) -> bool:
    """Return False while the user confirms a held place or already reads a new version."""
    state = State(conv.state)
    return not TABLE[state].holds_slot and state != State.READING_NEW_TERMS


def _tell(
    scope: Scope,
    row: ConversationRow,
    conv: FlowConversation,
    version: TermsVersion,
    key: str | None,
) -> Outcome:
    """Record the notice and step it into the conversation (the caller saves both)."""
    terms_versions.record_notice(
        scope.session,
        version,
        pseudonym=row.pseudonym,
        channel=row.channel,
        language=conv.language or languages.default_code(),
        now=scope.now,
    )
    event = Event.happened(TermsChanged(terms_versions.label(version)))
    return step(conv, event, conversation.ports_for(scope, row, key))


def on_return(scope: Scope, row: ConversationRow, outcome: Outcome, key: str | None) -> Outcome:
    """After a user's own message: when they agreed to an earlier version of the terms and
    were not told of a newer one, tell them now, after the answer to their message."""
    conv = outcome.conversation
    if not _may_tell(conv):
        return outcome
    today = terms_versions.office_today(scope.office, scope.now)
    version = terms_versions.untold_for(
        scope.session, scope.office, row.pseudonym, scope.now, today
    )
    if version is None:
        return outcome
    told = _tell(scope, row, conv, version, key)
    log.info("terms version %s told to %s on return", version.number, row.pseudonym)
    return Outcome(told.conversation, [*outcome.replies, *told.replies], outcome.effects)


def tell_due(
    db: Database,
    vault: Vault,
    clock: Callable[[], datetime],
    *,
    office_code: str,
    limit: int,
) -> int:
    """Tell up to `limit` users of the versions announced (worker job); one transaction per
    user. Return how many were told."""
    with db.transaction() as session:
        now = clock()
        office = offices.get_office(session, office_code)
        today = terms_versions.office_today(office, now)
        plan = [
            (version.id, (row.channel, row.user_ref))
            for version in terms_versions.announced(session, office, now, today)
            for row in terms_versions.to_tell(
                session, office, version, now, unfinished=UNFINISHED, limit=limit
            )
        ][:limit]
    told = 0
    for version_id, (channel, user_ref) in plan:
        try:
            with db.transaction() as session:
                scope = Scope(session, offices.get_office(session, office_code), vault, clock())
                version = session.get(TermsVersion, version_id)
                assert version is not None
                row, conv = conversation.load(scope, channel, user_ref)
                if not _may_tell(conv):
                    continue
                key = conversation.jobseeker_key(scope, conv)
                conversation.save(scope, row, _tell(scope, row, conv, version, key), None)
        except IntegrityError:  # told meanwhile (their own message, another worker)
            continue
        told += 1
    if told:
        log.info("terms change told to %s users", told)
    return told
