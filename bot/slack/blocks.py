"""Block Kit for counselors, built from the database: a booking's message (what to prepare,
who did what, the buttons), the modals that ask for a reason, and schedule lists.

Within Slack's limits: at most 50 blocks, section text at most 3,000 characters. Shows a
masked jobseeker number and nothing more personal than a counselor needs.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.counselors import consultation_line, notification_text
from bot.operations import CalendarChange, Consultation, booking_line
from bot.rendering import Renderer
from flows.model import Msg
from storage import offices
from storage.models import AuditEntry, Booking
from storage.vault import Vault

MAX_BLOCKS = 50
MAX_SECTION = 3000
ACTIONS = ("claim", "cancel", "no_show", "stop_service")
ERASE = "erase"
"""The button that erases the booking's person (a confirmation modal first; no history
line: the receipt is the audit log's, not the booking's)."""


def _section(text: str) -> dict[str, Any]:
    if len(text) > MAX_SECTION:
        text = text[: MAX_SECTION - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def history(session: Session, booking_id: int, renderer: Renderer) -> list[str]:
    """Return who did what to a booking, from the audit log."""
    lines = []
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.booking_id == booking_id, AuditEntry.actor_kind == "counselor")
        .order_by(AuditEntry.id)
    )
    for entry in entries:
        reason = entry.detail.get("reason", "")
        lines.append(
            renderer.text(
                f"slack.history.{entry.action}",
                user=f"<@{entry.actor}>",
                at=entry.at,
                reason=reason or Msg("booking.summary.no_note"),
            )
        )
    return lines


def booking_message(
    session: Session,
    booking: Booking,
    vault: Vault,
    renderer: Renderer,
    *,
    kind: str = "booked",
    old: Booking | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """Return the fallback text and the blocks of a booking's message in the channel."""
    text = notification_text(
        booking,
        vault.open(booking.details_sealed),
        renderer,
        kind=kind,
        old=old,
        host_link=offices.host_link(offices.office_of(session, booking), booking),
    )
    blocks: list[dict[str, Any]] = [_section(text)]
    done = history(session, booking.id, renderer)
    status = renderer.text(f"slack.status.{booking.status}")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": status}]})
    for line in done[-20:]:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    if kind != "cancelled" and booking.status in ("booked", "no_show"):
        buttons = []
        for action in ACTIONS:
            button: dict[str, Any] = {
                "type": "button",
                "action_id": f"booking_{action}",
                "value": booking.reference or "",
                "text": {"type": "plain_text", "text": renderer.text(f"slack.button.{action}")},
            }
            if action in ("cancel", "stop_service"):
                button["style"] = "danger"
            buttons.append(button)
        buttons.append(
            {
                "type": "button",
                "action_id": f"booking_{ERASE}",
                "value": booking.reference or "",
                "style": "danger",
                "text": {"type": "plain_text", "text": renderer.text("slack.button.erase")},
            }
        )
        blocks.append({"type": "actions", "block_id": "booking_actions", "elements": buttons})
    return text[:3000], blocks[:MAX_BLOCKS]


def reason_modal(
    action: str, reference: str, channel: str, ts: str, renderer: Renderer
) -> dict[str, Any]:
    """Return the modal that asks the reason for a cancellation or a stop of service."""
    return {
        "type": "modal",
        "callback_id": f"reason_{action}",
        "private_metadata": json.dumps({"reference": reference, "channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": renderer.text(f"slack.modal.{action}.title")[:24]},
        "submit": {"type": "plain_text", "text": renderer.text("slack.modal.submit")},
        "close": {"type": "plain_text", "text": renderer.text("slack.modal.close")},
        "blocks": [
            _section(renderer.text(f"slack.modal.{action}.explain", reference=reference)),
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": renderer.text("slack.modal.reason")},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 500,
                },
            },
        ],
    }


def erase_modal(reference: str, channel: str, ts: str, renderer: Renderer) -> dict[str, Any]:
    """Return the modal that asks a counselor to confirm erasing a booking's person."""
    return {
        "type": "modal",
        "callback_id": f"confirm_{ERASE}",
        "private_metadata": json.dumps({"reference": reference, "channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": renderer.text("slack.modal.erase.title")[:24]},
        "submit": {"type": "plain_text", "text": renderer.text("slack.modal.erase.submit")},
        "close": {"type": "plain_text", "text": renderer.text("slack.modal.close")},
        "blocks": [_section(renderer.text("slack.modal.erase.explain", reference=reference))],
    }


def schedule_blocks(
    title: str, rows: list[Consultation], renderer: Renderer
) -> list[dict[str, Any]]:
    """Return a list of consultations (today, the week, the morning digest) as blocks."""
    blocks: list[dict[str, Any]] = [_section(f"*{title}*")]
    if not rows:
        blocks.append(_section(renderer.text("slack.schedule.none")))
    for c in rows[: MAX_BLOCKS - 2]:
        blocks.append(_section(consultation_line(c, renderer)))
    if len(rows) > MAX_BLOCKS - 2:
        blocks.append(
            _section(renderer.text("slack.schedule.more", count=len(rows) - (MAX_BLOCKS - 2)))
        )
    return blocks


def closure_summary(
    change: CalendarChange, renderer: Renderer, tz: ZoneInfo
) -> tuple[str, list[dict[str, Any]]]:
    """Return what a calendar change did, for counselors: the rule, the holds ended, the
    bookings at a closed time, and a button that tells those jobseekers (cancel, rebook)."""
    r = renderer
    lines = [r.text("slack.calendar.changed", rule=change.rule_id, day=change.day)]
    if change.holds:
        lines.append(r.text("operator.calendar.holds_withdrawn", count=len(change.holds)))
        lines += [r.msg(booking_line(h, tz)) for h in change.holds]
    if change.bookings:
        lines.append(r.text("slack.calendar.affected", count=len(change.bookings)))
        lines += [r.msg(booking_line(b, tz)) for b in change.bookings]
    text = "\n".join(lines)
    blocks: list[dict[str, Any]] = [_section(text)]
    if change.bookings and not change.told:
        blocks.append(
            {
                "type": "actions",
                "block_id": "closure_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "closure_tell",
                        "value": str(change.rule_id),
                        "style": "danger",
                        "text": {
                            "type": "plain_text",
                            "text": r.text("slack.button.tell_closed", count=len(change.bookings)),
                        },
                    }
                ],
            }
        )
    return text[:MAX_SECTION], blocks
