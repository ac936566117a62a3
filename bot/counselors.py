"""Counselor notifications on the embedded default: rendered from the outbox and printed.

Slack replaces this sink when configured. A notification shows what a counselor needs to
prepare (time, reference, language, channel, registration path, masked number,
accommodations, note) and nothing more.
"""

from __future__ import annotations

import logging
from typing import TextIO

from bot.operations import Consultation
from bot.rendering import Renderer
from flows import languages
from flows.intake import answers_summary
from flows.model import Lines, Msg, Param
from storage import offices, outbox
from storage.db import Database
from storage.models import Booking
from storage.vault import Vault

log = logging.getLogger("madoguchi.counselors")


def answers(details: dict) -> Lines:
    """Return a booking's intake answers, then the version of the terms it was made under."""
    version = details.get("terms_version") or "-"
    line = Msg("answer.line", {"label": Msg("counselor.terms_version"), "value": version})
    return Lines((*answers_summary(details).items, line))


def links(meeting_url: str, host_url: str) -> Param:
    """Return the jobseeker's meeting link, with the counselors' host link beside it when the
    office set a template for one (it is never shown to the jobseeker)."""
    if not host_url:
        return meeting_url
    return Msg("counselor.meeting_links", {"link": meeting_url, "host": host_url})


def notification_text(
    booking: Booking,
    details: dict,
    renderer: Renderer,
    *,
    kind: str = "booked",
    old: Booking | None = None,
    host_link: str = "",
) -> str:
    """Return the text of a notification: booked, cancelled or rescheduled."""
    params: dict[str, Param] = {
        "reference": booking.reference or "",
        "at": booking.starts_at,
        "language": languages.name(booking.language),
        "channel": Msg(f"channel.{booking.channel}"),
        "link": links(booking.meeting_url or "", host_link),
    }
    if kind == "cancelled":
        return renderer.text("counselor.cancelled", **params)
    params["answers"] = answers(details)
    if kind == "rescheduled" and old is not None:
        return renderer.text(
            "counselor.rescheduled", old=old.reference or "", old_at=old.starts_at, **params
        )
    return renderer.text("counselor.booked", **params)


def consultation_line(c: Consultation, renderer: Renderer) -> str:
    """Return one consultation: time, reference, language, owner, then the intake answers."""
    return renderer.text(
        "slack.schedule.line",
        at=c.starts_at,
        reference=c.reference,
        language=languages.name(c.language),
        channel=Msg(f"channel.{c.channel}"),
        answers=answers(c.details),
        link=links(c.meeting_url, c.host_url),
        owner=f"<@{c.claimed_by}>" if c.claimed_by else Msg("slack.schedule.unclaimed"),
    )


def digest_text(session, payload: dict, vault: Vault, renderer: Renderer) -> str:  # type: ignore[no-untyped-def]
    """Return the morning digest as text (the day's consultations)."""
    from datetime import date

    from bot import operations

    office = offices.get_office(session, payload.get("office", offices.DEFAULT_OFFICE))
    day = date.fromisoformat(payload["day"])
    rows = operations.schedule(session, office, vault, day, 1)
    lines = [renderer.text("slack.digest.title", date=day)]
    lines += [consultation_line(c, renderer) for c in rows] or [
        renderer.text("slack.schedule.none")
    ]
    return "\n".join(lines)


def weekly_text(session, payload: dict, renderer: Renderer) -> str:  # type: ignore[no-untyped-def]
    """Return the weekly usage figures as text (figures only)."""
    from datetime import date

    from bot import usage_report

    office = offices.get_office(session, payload["office"])
    start, end = date.fromisoformat(payload["start"]), date.fromisoformat(payload["end"])
    found = usage_report.figures(session, office, start, end)
    heading = renderer.text("slack.weekly.title", start=str(start), end=str(end))
    return "\n".join([heading, *usage_report.text_lines(found, renderer, office.code)[1:]])


def deliver(db: Database, vault: Vault, *, language: str, out: TextIO, now) -> int:  # type: ignore[no-untyped-def]
    """Print every pending counselor notification once; return how many were printed."""
    renderer = Renderer(language)
    count = 0
    with db.transaction() as session:
        for message in outbox.pending(session, channel=outbox.COUNSELORS):
            if message.payload.get("kind") == "digest":
                if outbox.mark_sent(session, message.id, now()):
                    out.write(
                        f"\n{renderer.text('counselor.header')}\n"
                        f"{digest_text(session, message.payload, vault, renderer)}\n"
                    )
                    count += 1
                continue
            if message.payload.get("kind") == "usage_weekly":  # queued with Slack, then off
                if outbox.mark_sent(session, message.id, now()):
                    out.write(f"\n{weekly_text(session, message.payload, renderer)}\n")
                    count += 1
                continue
            booking = session.get(Booking, message.payload["booking_id"])
            if booking is None or not outbox.mark_sent(session, message.id, now()):
                continue
            old_id = message.payload.get("replaces_id")
            text = notification_text(
                booking,
                vault.open(booking.details_sealed),
                renderer,
                kind=message.payload.get("kind", "booked"),
                old=session.get(Booking, old_id) if old_id else None,
                host_link=offices.host_link(offices.office_of(session, booking), booking),
            )
            out.write(f"\n{renderer.text('counselor.header')}\n{text}\n")
            out.flush()
            log.info("counselor notification %s delivered (%s)", message.id, booking.reference)
            count += 1
    return count
