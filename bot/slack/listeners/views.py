"""The modals: a cancellation tells the jobseeker in their language and offers to book
again; a stop of service (terms art. 12(1)) refuses future bookings and drops reminders; an
erasure, once confirmed, erases the booking's person and shows the counselor the receipt."""

from __future__ import annotations

import json
import re

from slack_bolt.async_app import AsyncApp

from bot.slack.context import SlackContext
from bot.slack.listeners.actions import update_message


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Register the modal submissions."""

    @app.view(re.compile(r"^reason_(cancel|stop_service)$"))
    async def submitted(ack, body, view) -> None:  # type: ignore[no-untyped-def]
        reason = (view["state"]["values"]["reason"]["text"].get("value") or "").strip()
        if not reason:
            await ack(
                response_action="errors",
                errors={"reason": ctx.renderer.text("slack.modal.reason_required")},
            )
            return
        await ack()
        user = body["user"]["id"]
        if not await ctx.is_counselor(user):
            return
        meta = json.loads(view["private_metadata"])
        action = view["callback_id"].removeprefix("reason_")
        result = await ctx.in_thread(
            ctx.app.intake.office_action,
            meta["reference"],
            action,
            counselor=user,
            reason=reason,
            event_key=f"view:{view['id']}:{view.get('hash', '')}",
        )
        if result.outcome == "done":
            await update_message(ctx, meta["reference"], meta["channel"], meta["ts"])
        else:
            await ctx.client.chat_postEphemeral(
                channel=meta["channel"],
                user=user,
                text=ctx.renderer.text(f"slack.outcome.{result.outcome}"),
            )

    @app.view("confirm_erase")
    async def erase_confirmed(ack, body, view) -> None:  # type: ignore[no-untyped-def]
        await ack()
        user = body["user"]["id"]
        if not await ctx.is_counselor(user):
            return
        meta = json.loads(view["private_metadata"])
        result = await ctx.in_thread(
            ctx.app.intake.erase_person,
            meta["reference"],
            counselor=user,
            event_key=f"view:{view['id']}:{view.get('hash', '')}",
        )
        if result.outcome == "done":
            text = ctx.renderer.text(
                "slack.erased",
                reference=meta["reference"],
                receipt=result.receipt,
                cancelled=result.cancelled,
            )
            await update_message(ctx, meta["reference"], meta["channel"], meta["ts"])
        else:
            text = ctx.renderer.text(f"slack.outcome.{result.outcome}")
        await ctx.client.chat_postEphemeral(channel=meta["channel"], user=user, text=text)
