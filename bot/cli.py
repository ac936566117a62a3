"""The `madoguchi` command: run the bot, and the operators' sub-commands.

`madoguchi` alone runs the terminal chat on the embedded default. Operators manage the
office calendar (closures, extra openings, places), the office settings and the schema.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, time

from bot import config, logs, operations
from bot.app import App, SchemaBehind, build
from bot.channels import registry
from bot.console import run_chat
from bot.console.chat import run_script
from bot.rendering import Renderer
from flows import languages
from flows.intake import answers_summary
from storage import offices, schema
from storage.db import Database
from storage.vault import Vault


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date like 2026-12-01") from None


def _time(raw: str) -> time:
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a time like 09:30") from None


def _places(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("places must be between 0 and 100")
    return value


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    p = argparse.ArgumentParser(prog="madoguchi", description=__doc__)
    sub = p.add_subparsers(dest="command")

    chat = sub.add_parser("chat", help="the intake in this terminal (the default)")
    chat.add_argument(
        "--user", default="local", help="who is chatting (keeps their own conversation)"
    )
    chat.add_argument(
        "--script",
        metavar="LANG",
        help="let a scripted jobseeker answer every question in LANG (a demo; books a slot)",
    )

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "current"])

    sub.add_parser("secret-key", help="print a new MADOGUCHI_SECRET_KEY")

    office = sub.add_parser("office", help="show or change the office settings")
    office_sub = office.add_subparsers(dest="action", required=True)
    office_sub.add_parser("show")
    setter = office_sub.add_parser("set", help="e.g. `office set places_per_slot 3`")
    setter.add_argument("field")
    setter.add_argument("value")

    cal = sub.add_parser("calendar", help="the office calendar")
    cal_sub = cal.add_subparsers(dest="action", required=True)
    show = cal_sub.add_parser("show", help="slots and free places per day")
    show.add_argument("--from", dest="start", type=_day)
    show.add_argument("--days", type=int, default=7)
    close = cal_sub.add_parser("close", help="close a day, or a time range of it")
    close.add_argument("day", type=_day)
    close.add_argument("--from", dest="start", type=_time)
    close.add_argument("--to", dest="end", type=_time)
    close.add_argument("--note", default="")
    opening = cal_sub.add_parser("open", help="an extra opening (even on a holiday)")
    opening.add_argument("day", type=_day)
    opening.add_argument("--from", dest="start", type=_time, required=True)
    opening.add_argument("--to", dest="end", type=_time, required=True)
    opening.add_argument("--places", type=_places)
    opening.add_argument("--note", default="")
    places = cal_sub.add_parser("places", help="places per slot on a day (or one slot)")
    places.add_argument("day", type=_day)
    places.add_argument("places", type=_places)
    places.add_argument("--at", type=_time, help="only the slot starting at this time")
    cal_sub.add_parser("rules", help="list closures, openings and place changes")
    remove = cal_sub.add_parser("remove", help="remove a rule by its id")
    remove.add_argument("rule_id", type=int)

    sub.add_parser("web", help="the ASGI web process: messenger webhooks (Procfile: web)")
    sub.add_parser("worker", help="delivers outgoing messages (Procfile: worker)")

    listing = sub.add_parser("bookings", help="the booked consultations of a day")
    listing.add_argument("--day", type=_day)
    return p


def _office_app(settings: config.Settings) -> App:
    return build(settings)


def _cmd_calendar(app: App, args: argparse.Namespace) -> int:
    now = app.clock()
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        tz = offices.calendar(session, office).tz
        if args.action == "show":
            start = args.start or now.astimezone(tz).date()
            for day in operations.calendar_days(session, office, start, args.days):
                if day.closed_reason:
                    print(
                        f"{day.day} {day.day:%a}  closed"
                        + (f" ({day.closed_reason})" if day.closed_reason != "closed" else "")
                    )
                    continue
                cells = [f"{at.astimezone(tz):%H:%M} {taken}/{n}" for at, taken, n in day.slots]
                print(f"{day.day} {day.day:%a}  " + "  ".join(cells))
            return 0
        if args.action == "rules":
            for rule in offices.calendar(session, office).exceptions:
                span = (
                    f"{rule.start:%H:%M}-{rule.end:%H:%M}"
                    if rule.start and rule.end
                    else (f"{rule.start:%H:%M}" if rule.start else "all day")
                )
                extra = f" places={rule.places}" if rule.places is not None else ""
                print(f"#{rule.id} {rule.day} {rule.kind} {span}{extra} {rule.note}".rstrip())
            return 0
        if args.action == "remove":
            if not offices.remove_rule(session, office, args.rule_id):
                print(f"no rule #{args.rule_id}", file=sys.stderr)
                return 1
            print(f"removed rule #{args.rule_id}")
            return 0
        kind = {"close": "closed", "open": "open", "places": "places"}[args.action]
        start = getattr(args, "start", None) or getattr(args, "at", None)
        end = getattr(args, "end", None)
        if args.action == "close" and bool(start) != bool(end):
            print("give both --from and --to, or neither", file=sys.stderr)
            return 2
        try:
            rule_id, affected = operations.change_calendar(
                session,
                office,
                kind=kind,
                day=args.day,
                now=now,
                start=start,
                end=end,
                places=getattr(args, "places", None),
                note=getattr(args, "note", ""),
            )
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"added rule #{rule_id}: {args.day} {kind}")
        if affected:
            needing_a_call = ", ".join(affected)
            print(
                f"note: {len(affected)} booking(s) stay booked and need a call: {needing_a_call}"
            )
        return 0


def _cmd_office(app: App, args: argparse.Namespace) -> int:
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        if args.action == "set":
            try:
                offices.update_office(session, office, args.field, args.value)
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 2
        for field in ("code", "name", "timezone", "hours", *offices.SETTABLE):
            print(f"{field}: {getattr(office, field)}")
    return 0


def _cmd_bookings(app: App, args: argparse.Namespace) -> int:
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        tz = offices.calendar(session, office).tz
        day = args.day or app.clock().astimezone(tz).date()
        rows = operations.schedule(session, office, app.vault, day, 1)
        renderer = Renderer(app.settings.counselor_language)
        for c in rows:
            print(
                f"{c.starts_at.astimezone(tz):%Y-%m-%d %H:%M} {c.reference} {c.language} "
                f"{c.channel} | " + renderer.param(answers_summary(c.details)).replace("\n", " | ")
            )
        print(f"{len(rows)} booking(s) on {day}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    if args.command == "secret-key":
        print(Vault.new_key())
        return 0
    try:
        settings = config.load()
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    if args.command == "db":
        db = Database(settings.database_url)
        if args.action == "upgrade":
            schema.upgrade(db.engine)
        current, head = schema.current_revision(db.engine), schema.head_revision()
        print(f"schema revision: {current} (code: {head})")
        return 0
    try:
        app = build(settings)
    except SchemaBehind as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "calendar":
        return _cmd_calendar(app, args)
    if args.command == "office":
        return _cmd_office(app, args)
    if args.command == "bookings":
        return _cmd_bookings(app, args)
    if args.command in ("web", "worker") or (
        args.command is None and any(c.jobseekers for c, _ in registry.enabled(settings))
    ):
        return _run_services(app, args.command)
    if getattr(args, "script", None):
        if args.script not in languages.codes():
            print(f"--script takes one of {', '.join(languages.codes())}", file=sys.stderr)
            return 2
        run_script(
            app,
            user_ref=args.user,
            language=args.script,
            stdout=sys.stdout,
            counselor_out=sys.stderr,
        )
        return 0
    run_chat(app, user_ref=getattr(args, "user", "local"))
    return 0


def _run_services(app: App, command: str | None) -> int:
    """Run the web process, the worker, or (no command) everything the channels need."""
    import asyncio

    from bot import runner

    if command == "worker":
        asyncio.run(runner.run_worker(app))
    elif command == "web":
        runner.run_web(app, with_worker=False)
    else:
        runner.run_one_process(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
