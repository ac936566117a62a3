"""`/madoguchi`: today, week, find <reference>, and the calendar changes of the command line
(close, open, places) — the same operations (`bot.operations`), answered to the counselor."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import operations
from bot.counselors import consultation_line
from bot.slack.blocks import schedule_blocks
from bot.slack.context import SlackContext
from storage import offices


class Usage(ValueError):
    """The command's words are off."""


def _span(raw: str) -> tuple[time, time]:
    try:
        a, b = raw.split("-")
        return time.fromisoformat(a), time.fromisoformat(b)
    except ValueError as exc:
        raise Usage(raw) from exc


def run(ctx: SlackContext, text: str) -> tuple[str, list[dict[str, Any]]]:
    """Carry out one `/madoguchi` command; return the answer's text and blocks."""
    r = ctx.renderer
    words = text.split()
    verb = words[0].lower() if words else "help"
    app = ctx.app
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        tz = offices.calendar(session, office).tz
        today = app.clock().astimezone(tz).date()
        try:
            if verb in ("today", "week"):
                days = 1 if verb == "today" else 7
                rows = operations.schedule(session, office, app.vault, today, days)
                title = r.text(f"slack.schedule.{verb}", date=today)
                return title, schedule_blocks(title, rows, r)
            if verb == "find" and len(words) == 2:
                found = operations.find(session, app.vault, words[1])
                answer = (
                    consultation_line(found, r) if found else r.text("slack.outcome.not_found")
                )
                return answer, [{"type": "section", "text": {"type": "mrkdwn", "text": answer}}]
            if verb in ("close", "open", "places") and len(words) >= 2:
                day = date.fromisoformat(words[1])
                kind = {"close": "closed", "open": "open", "places": "places"}[verb]
                start = end = None
                places = None
                if verb == "close" and len(words) == 3:
                    start, end = _span(words[2])
                elif verb == "open" and len(words) in (3, 4):
                    start, end = _span(words[2])
                    places = int(words[3]) if len(words) == 4 else None
                elif verb == "places" and len(words) in (3, 4):
                    places = int(words[2])
                    start = time.fromisoformat(words[3]) if len(words) == 4 else None
                elif verb != "close":
                    raise Usage(text)
                rule_id, affected = operations.change_calendar(
                    session,
                    office,
                    kind=kind,
                    day=day,
                    now=app.clock(),
                    start=start,
                    end=end,
                    places=places,
                )
                answer = r.text("slack.calendar.changed", rule=rule_id, day=day)
                if affected:
                    answer += "\n" + r.text(
                        "slack.calendar.affected", references=", ".join(affected)
                    )
                return answer, [{"type": "section", "text": {"type": "mrkdwn", "text": answer}}]
        except ValueError:
            pass
    usage = r.text("slack.command.usage")
    return usage, [{"type": "section", "text": {"type": "mrkdwn", "text": usage}}]


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Register `/madoguchi`."""

    @app.command("/madoguchi")
    async def madoguchi(ack, command, respond) -> None:  # type: ignore[no-untyped-def]
        await ack()
        if not await ctx.is_counselor(command["user_id"]):
            await respond(text=ctx.renderer.text("slack.refused"), response_type="ephemeral")
            return
        text, blocks = await ctx.in_thread(run, ctx, command.get("text", ""))
        await respond(text=text, blocks=blocks, response_type="ephemeral")
