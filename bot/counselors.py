"""Counselor notifications on the embedded default: rendered from the outbox and printed.

Slack replaces this sink when configured. A notification shows what a counselor needs to
prepare (time, reference, language, channel, registration path, masked number,
accommodations, note) and nothing more.
"""

from __future__ import annotations

import logging
from typing import TextIO

from flows.model import Msg
from flows.text_input import mask_jobseeker_number
from bot.rendering import Renderer
from storage import outbox
from storage.db import Database
from storage.models import Booking
from storage.vault import Vault

log = logging.getLogger("madoguchi.counselors")


def notification_text(booking: Booking, details: dict, renderer: Renderer) -> str:
    """Return the text of a new-booking notification."""
    acc = details.get("accommodation") or {"kind": "none"}
    number = details.get("jobseeker_number")
    return renderer.text(
        "counselor.booked",
        reference=booking.reference or "",
        at=booking.starts_at,
        language=Msg(f"language.native.{booking.language}"),
        channel=Msg(f"channel.{booking.channel}"),
        registration=Msg(f"booking.summary.registration.{details.get('registration') or 'office'}"),
        number=mask_jobseeker_number(number) if number else Msg("booking.summary.number_unknown"),
        accommodation=Msg(
            f"accommodation.summary.{acc['kind']}", {k: v for k, v in acc.items() if k != "kind"}
        ),
        note=details.get("note") or Msg("booking.summary.no_note"),
    )


def deliver(db: Database, vault: Vault, *, language: str, out: TextIO, now) -> int:  # type: ignore[no-untyped-def]
    """Print every pending counselor notification once; return how many were printed."""
    renderer = Renderer(language)
    count = 0
    with db.transaction() as session:
        for message in outbox.pending(session, channel=outbox.COUNSELORS):
            booking = session.get(Booking, message.payload["booking_id"])
            if booking is None or not outbox.mark_sent(session, message.id, now()):
                continue
            text = notification_text(booking, vault.open(booking.details_sealed), renderer)
            out.write(f"\n{renderer.text('counselor.header')}\n{text}\n")
            out.flush()
            log.info("counselor notification %s delivered (%s)", message.id, booking.reference)
            count += 1
    return count
