"""`madoguchi stats --from DATE --to DATE [--office CODE] [--html FILE]`: the usage figures
of a period (terms art. 7) in the counselors' language, and optionally as an HTML page with
charts. Figures only: never a reference, a chat id or an answer."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from bot import usage_report
from bot.app import App
from bot.operator_out import Out
from flows.model import Msg
from storage import offices


def add_parser(sub: Any) -> None:
    """Add the `stats` sub-command to the command line's sub-parsers."""
    stats = sub.add_parser(
        "stats", help="usage figures of a period: steps reached, bookings, rates (no identities)"
    )
    stats.add_argument("--from", dest="start", required=True, metavar="DATE")
    stats.add_argument("--to", dest="end", required=True, metavar="DATE")
    stats.add_argument("--office", metavar="CODE", help="another office of this installation")
    stats.add_argument("--html", metavar="FILE", help="also write the charts as one HTML page")


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def run(app: App, args: argparse.Namespace) -> int:
    """Print the figures (and write the page); exit status 2 for a bad command line."""
    out = Out(app.settings.counselor_language)
    start, end = _date(args.start), _date(args.end)
    for raw, day in ((args.start, start), (args.end, end)):
        if day is None:
            return out.refuse(Msg("operator.stats.bad_date", {"value": raw}))
    assert start is not None and end is not None
    if start > end:
        return out.refuse(Msg("operator.stats.bad_range", {"start": str(start), "end": str(end)}))
    code = args.office or app.settings.office
    with app.db.transaction() as session:
        known = offices.office_codes(session)
        if code not in known:
            return out.refuse(
                Msg("operator.office.unknown", {"code": code, "known": ", ".join(known) or "-"})
            )
        office = offices.get_office(session, code)
        found = usage_report.figures(session, office, start, end)
    for line in usage_report.text_lines(found, out.r, code):
        print(line)
    if args.html:
        page = usage_report.html_page(found, out.r, code)
        try:
            Path(args.html).write_text(page, encoding="utf-8")
        except OSError as exc:
            return out.refuse(
                Msg(
                    "operator.stats.html_unwritable",
                    {"file": args.html, "error": exc.strerror or type(exc).__name__},
                )
            )
        out.say("operator.stats.html_written", file=args.html)
    return 0
