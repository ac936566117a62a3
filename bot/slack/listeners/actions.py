"""Buttons on a booking's message: Claim and No-show act at once; Cancel and Stop service
open a modal for the reason, Erase one to confirm. Only counselors may act; a repeat answers
"already handled"."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.blocks import booking_message, erase_modal, reason_modal
from bot.slack.context import SlackContext
from storage import bookings
from storage.models import Booking


async def refuse(respond: Any, ctx: SlackContext, message_id: str) -> None:
    """Answer only the user who pressed (through the interaction's response URL)."""
    await respond(
        text=ctx.renderer.text(message_id), response_type="ephemeral", replace_original=False
    )


def refresh_message(
    ctx: SlackContext, reference: str
) -> tuple[str, list[dict[str, Any]], str | None, str | None]:
    """Return the booking's message rebuilt from the database, and where it was posted."""
    with ctx.app.db.transaction() as session:
        booking = bookings.by_reference(session, reference)
        assert booking is not None
        text, blocks = booking_message(session, booking, ctx.app.vault, ctx.renderer)
        return text, blocks, booking.counselor_channel, booking.counselor_message_ts


async def update_message(ctx: SlackContext, reference: str, channel: str, ts: str) -> None:
    """Show on the booking's message who did what."""
    text, blocks, stored_channel, stored_ts = await ctx.in_thread(refresh_message, ctx, reference)
    await ctx.client.chat_update(
        channel=stored_channel or channel, ts=stored_ts or ts, text=text, blocks=blocks
    )


def _is_open(ctx: SlackContext, reference: str) -> bool:
    with ctx.app.db.transaction() as session:
        booking: Booking | None = bookings.by_reference(session, reference)
        return booking is not None and booking.status == "booked"


async def allowed(ctx: SlackContext, body: dict[str, Any], respond: Any) -> bool:
    """Return True for a counselor; refuse anyone else (only they see the refusal)."""
    if await ctx.is_counselor(body["user"]["id"]):
        return True
    await refuse(respond, ctx, "slack.refused")
    return False


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Register the booking buttons."""

    @app.action(re.compile(r"^booking_(claim|no_show)$"))
    async def act_now(ack, body, action, respond) -> None:  # type: ignore[no-untyped-def]
        await ack()
        if not await allowed(ctx, body, respond):
            return
        user = body["user"]["id"]
        kind = action["action_id"].removeprefix("booking_")
        reference = action["value"]
        key = f"{action['action_id']}:{action['action_ts']}:{user}"
        result = await ctx.in_thread(
            ctx.app.intake.office_action, reference, kind, counselor=user, event_key=key
        )
        if result.outcome != "done":
            await refuse(respond, ctx, f"slack.outcome.{result.outcome}")
            return
        await update_message(ctx, reference, body["channel"]["id"], body["message"]["ts"])

    @app.action(re.compile(r"^booking_(cancel|stop_service)$"))
    async def ask_reason(ack, body, action, respond) -> None:  # type: ignore[no-untyped-def]
        await ack()
        if not await allowed(ctx, body, respond):
            return
        kind = action["action_id"].removeprefix("booking_")
        reference = action["value"]
        if kind == "cancel" and not await ctx.in_thread(_is_open, ctx, reference):
            await refuse(respond, ctx, "slack.outcome.already")
            return
        view = reason_modal(
            kind, reference, body["channel"]["id"], body["message"]["ts"], ctx.renderer
        )
        await ctx.client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("booking_erase")
    async def confirm_erase(ack, body, action, respond) -> None:  # type: ignore[no-untyped-def]
        await ack()
        if not await allowed(ctx, body, respond):
            return
        view = erase_modal(
            action["value"], body["channel"]["id"], body["message"]["ts"], ctx.renderer
        )
        await ctx.client.views_open(trigger_id=body["trigger_id"], view=view)
