"""The reason modals: a cancellation tells the jobseeker in their language and offers to
book again; a stop of service (terms art. 12(1)) refuses future bookings and drops reminders."""

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
