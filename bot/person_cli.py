"""`madoguchi person show|erase REFERENCE|NUMBER`: what is kept about a person, and their
erasure on request (storage/erasure.py). Output from the catalogs, in the counselors'
language; never a chat id, number or note."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import App
from bot.operator_out import Out
from storage import erasure, offices


def add_parser(sub: Any) -> None:
    """Add the `person` sub-command to the command line's sub-parsers."""
    person = sub.add_parser("person", help="what is kept about a person; erase it on request")
    actions = person.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="their bookings and how many rows each table keeps")
    show.add_argument("who", metavar="REFERENCE|NUMBER")
    erase = actions.add_parser(
        "erase", help="cancel their bookings ahead (counselors told) and erase every trace"
    )
    erase.add_argument("who", metavar="REFERENCE|NUMBER")
    erase.add_argument("--by", required=True, help="who asked (kept in the receipt)")


def run(app: App, args: argparse.Namespace) -> int:
    """Run `person show` or `person erase`; return the exit status."""
    out = Out(app.settings.counselor_language)
    with app.db.transaction() as session:
        tz = offices.calendar(session, offices.get_office(session, app.settings.office)).tz
        person = erasure.find(session, app.vault, args.who)
        if person is None:
            out.say("operator.person.none")
            return 1
        if args.action == "show":
            found, counts = erasure.show(session, person)
            out.table(
                [
                    [f"{b.starts_at.astimezone(tz):%Y-%m-%d %H:%M}", b.reference or "", b.status]
                    for b in found
                ]
            )
            out.say("operator.person.shown", pseudonym=person.pseudonym, rows=_rows(counts))
            return 0
        erased, cancelled = erasure.erase(
            session, app.vault, person, now=app.clock(), requested_by=args.by
        )
    out.say(
        "operator.person.erased",
        pseudonym=person.pseudonym,
        rows=_rows(erased),
        cancelled=len(cancelled),
    )
    return 0


def _rows(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {count}" for table, count in sorted(counts.items()) if count)
