"""`/madoguchi`: today, week, find <reference>, and the changes of the command line (close,
open, places, set) — the same operations and limits (`bot.operations`), answered to the
counselor; a closure's summary carries a button to tell the jobseekers booked inside it."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import operations
from bot.counselors import consultation_line
from bot.slack.blocks import closure_summary, schedule_blocks
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


def _section(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def run(ctx: SlackContext, text: str, user: str = "") -> tuple[str, list[dict[str, Any]]]:
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
                return answer, _section(answer)
            if verb == "set" and len(words) >= 3:
                field, raw = words[1], " ".join(words[2:])
                setting = operations.change_office(
                    session, office, app.vault, field, raw, now=app.clock()
                )
                answer = r.text("operator.setting.changed", field=field)
                if setting.holds:
                    answer += "\n" + r.text(
                        "operator.calendar.holds_withdrawn", count=len(setting.holds)
                    )
                return answer, _section(answer)
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
                change = operations.change_calendar(
                    session,
                    office,
                    app.vault,
                    kind=kind,
                    day=day,
                    now=app.clock(),
                    start=start,
                    end=end,
                    places=places,
                    actor=("counselor", user),
                )
                return closure_summary(change, r, tz)
        except offices.SettingRefused as refused:
            answer = r.msg(refused.msg)
            return answer, _section(answer)
        except ValueError:
            pass
    usage = r.text("slack.command.usage")
    return usage, _section(usage)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Register `/madoguchi`."""

    @app.command("/madoguchi")
    async def madoguchi(ack, command, respond) -> None:  # type: ignore[no-untyped-def]
        await ack()
        if not await ctx.is_counselor(command["user_id"]):
            await respond(text=ctx.renderer.text("slack.refused"), response_type="ephemeral")
            return
        text, blocks = await ctx.in_thread(run, ctx, command.get("text", ""), command["user_id"])
        await respond(text=text, blocks=blocks, response_type="ephemeral")
