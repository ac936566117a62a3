"""The button on a closure's summary: cancel the bookings inside the closure and tell each
jobseeker in their language, with another time offered. Only counselors may press it; a
second press finds nothing left to tell."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import operations
from bot.slack.context import SlackContext
from bot.slack.listeners.actions import allowed, refuse
from storage import offices


def tell_closed(ctx: SlackContext, rule_id: int, counselor: str) -> int | None:
    """Tell the jobseekers booked inside closure `rule_id`; return how many were told now."""
    app = ctx.app
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        told = operations.tell_closed(
            session, office, app.vault, rule_id, now=app.clock(), actor=("counselor", counselor)
        )
        return None if told is None else len(told)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Register the closure summary's button."""

    @app.action("closure_tell")
    async def tell(ack, body, action, respond) -> None:  # type: ignore[no-untyped-def]
        await ack()
        if not await allowed(ctx, body, respond):
            return
        try:
            rule_id = int(action["value"])
        except ValueError:
            await refuse(respond, ctx, "slack.outcome.not_found")
            return
        told = await ctx.in_thread(tell_closed, ctx, rule_id, body["user"]["id"])
        if told is None:
            await refuse(respond, ctx, "slack.outcome.not_found")
        elif told == 0:
            await refuse(respond, ctx, "slack.outcome.already")
        else:
            text = ctx.renderer.text("operator.calendar.bookings_told", count=told)
            await respond(text=text, response_type="ephemeral", replace_original=False)
