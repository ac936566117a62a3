"""The `madoguchi` command: run the bot, and the operators' sub-commands.

`madoguchi` alone runs the terminal chat on the embedded default. Operators manage the
office calendar (closures, extra openings, places), the office settings and the schema.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, time
from zoneinfo import ZoneInfo

from bot import (
    config,
    counselors,
    languages_cli,
    logs,
    operations,
    person_cli,
    stats_cli,
    terms_cli,
)
from bot.app import App, SchemaBehind, UnknownOffice, build
from bot.channels import registry
from bot.console import run_chat
from bot.console.chat import run_script
from bot.operator_out import Out
from flows import languages
from flows.model import Msg
from storage import offices, schema
from storage.db import Database
from storage.models import Office
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

    sub.add_parser(
        "doctor",
        help="check the configuration, the database and each configured platform "
        "(read-only; exit status 1 when a check fails)",
    )

    office = sub.add_parser("office", help="show or change the office settings")
    office_sub = office.add_subparsers(dest="action", required=True)
    office_sub.add_parser("show")
    create = office_sub.add_parser("create", help="a new office in this database")
    create.add_argument("code")
    create.add_argument("--name", required=True)
    create.add_argument("--phone", default="")
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
    close.add_argument(
        "--tell",
        action="store_true",
        help="cancel the bookings inside the closure and tell each jobseeker (another time "
        "is offered to them)",
    )
    opening = cal_sub.add_parser("open", help="an extra opening (even on a holiday)")
    opening.add_argument("day", type=_day)
    opening.add_argument("--from", dest="start", type=_time, required=True)
    opening.add_argument("--to", dest="end", type=_time, required=True)
    opening.add_argument("--places", type=int)
    opening.add_argument("--note", default="")
    places = cal_sub.add_parser("places", help="places per slot on a day (or one slot)")
    places.add_argument("day", type=_day)
    places.add_argument("places", type=int)
    places.add_argument("--at", type=_time, help="only the slot starting at this time")
    places.add_argument(
        "--tell", action="store_true", help="with 0 places: tell the bookings, as `close --tell`"
    )
    cal_sub.add_parser("rules", help="list closures, openings and place changes")
    remove = cal_sub.add_parser("remove", help="remove a rule by its id")
    remove.add_argument("rule_id", type=int)
    tell = cal_sub.add_parser(
        "tell", help="cancel the bookings a closure left standing and tell each jobseeker"
    )
    tell.add_argument("rule_id", type=int)

    person_cli.add_parser(sub)
    languages_cli.add_parser(sub)
    stats_cli.add_parser(sub)

    sub.add_parser("web", help="the ASGI web process: messenger webhooks (Procfile: web)")
    sub.add_parser("worker", help="delivers outgoing messages (Procfile: worker)")

    terms = sub.add_parser("terms", help="versions of the terms of use (art. 13)")
    terms_sub = terms.add_subparsers(dest="action", required=True)
    publish = terms_sub.add_parser("publish", help="add a version; users are told by the worker")
    publish.add_argument("file_ja", metavar="FILE_JA", help="the Japanese original")
    publish.add_argument("--en", metavar="FILE_EN", help="the English reference translation")
    publish.add_argument(
        "--lang",
        metavar="CODE=FILE",
        action="append",
        default=[],
        help="a reference translation into another offered language (repeatable)",
    )
    publish.add_argument("--effective", type=_day, required=True, metavar="YYYY-MM-DD")
    publish.add_argument("--summary-ja", default="", metavar="TEXT")
    publish.add_argument("--summary-en", default="", metavar="TEXT")
    terms_sub.add_parser("list", help="the versions, when each takes effect, who was told")

    listing = sub.add_parser("bookings", help="the booked consultations of a day")
    listing.add_argument("--day", type=_day)
    return p


def _office_app(settings: config.Settings) -> App:
    return build(settings)


def _hhmm(at: time | None) -> str:
    return f"{at:%H:%M}" if at else ""


def _span(out: Out, start: time | None, end: time | None) -> str:
    if start and end:
        return f"{start:%H:%M}-{end:%H:%M}"
    return _hhmm(start) or out.r.text("operator.rules.all_day")


def _print_touched(out: Out, items: list[operations.Touched], tz: ZoneInfo) -> None:
    rows = []
    for item in items:
        at = f"{item.starts_at.astimezone(tz):%Y-%m-%d %H:%M}"
        rows.append(["  " + at, item.reference or "-", item.language])
    out.table(rows)


def _closure_reason(out: Out, reason: str) -> str:
    known = {
        "year-end": "operator.closure.year_end",
        "weekly closing day": "operator.closure.weekly",
    }
    if reason == "closed":
        return out.r.text("operator.calendar.closed")
    label = out.r.text(known[reason]) if reason in known else reason
    return out.r.text("operator.calendar.closed_because", reason=label)


def _cmd_calendar(app: App, args: argparse.Namespace) -> int:
    now = app.clock()
    out = Out(app.settings.counselor_language)
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        tz = offices.calendar(session, office).tz
        if args.action == "show":
            start = args.start or now.astimezone(tz).date()
            rows = []
            for day in operations.calendar_days(session, office, start, args.days):
                head = [day.day.isoformat(), out.weekday(day.day)]
                if day.closed_reason:
                    rows.append([*head, _closure_reason(out, day.closed_reason)])
                    continue
                cells = [
                    out.r.text(
                        "operator.calendar.slot",
                        time=f"{at.astimezone(tz):%H:%M}",
                        taken=taken,
                        places=n,
                    )
                    for at, taken, n in day.slots
                ]
                rows.append([*head, "  ".join(cells)])
            out.table(rows)
            return 0
        if args.action == "rules":
            rules = offices.calendar(session, office).exceptions
            if not rules:
                out.say("operator.rules.none")
                return 0
            header = [
                out.r.text(f"operator.column.{c}")
                for c in ("rule", "day", "kind", "time", "places", "note")
            ]
            rows = [header]
            for rule in rules:
                rows.append(
                    [
                        f"#{rule.id}",
                        rule.day.isoformat(),
                        out.r.text(f"operator.kind.{rule.kind}"),
                        _span(out, rule.start, rule.end),
                        "" if rule.places is None else str(rule.places),
                        rule.note,
                    ]
                )
            out.table(rows)
            return 0
        if args.action == "remove":
            if not offices.remove_rule(session, office, args.rule_id):
                print(out.r.text("operator.rule.not_found", rule=args.rule_id), file=sys.stderr)
                return 1
            out.say("operator.rule.removed", rule=args.rule_id)
            return 0
        if args.action == "tell":
            told = operations.tell_closed(
                session, office, app.vault, args.rule_id, now=now, actor=("operator", "cli")
            )
            if told is None:
                print(out.r.text("operator.rule.not_found", rule=args.rule_id), file=sys.stderr)
                return 1
            out.say("operator.calendar.bookings_told", count=len(told))
            _print_touched(out, told, tz)
            return 0
        kind = {"close": "closed", "open": "open", "places": "places"}[args.action]
        start = getattr(args, "start", None) or getattr(args, "at", None)
        end = getattr(args, "end", None)
        if args.action == "close" and bool(start) != bool(end):
            return out.refuse(Msg("operator.rule.needs_both"))
        try:
            change = operations.change_calendar(
                session,
                office,
                app.vault,
                kind=kind,
                day=args.day,
                now=now,
                start=start,
                end=end,
                places=getattr(args, "places", None),
                note=getattr(args, "note", ""),
                tell=getattr(args, "tell", False),
            )
        except offices.SettingRefused as refused:
            return out.refuse(refused.msg)
        _print_change(out, change, office.places_per_slot, tz)
        return 0


def _print_change(
    out: Out, change: operations.CalendarChange, default_places: int, tz: ZoneInfo
) -> None:
    """Echo what a calendar change did: the range, the holds ended, the bookings in the way."""
    span = _span(out, change.start, change.end)
    if change.kind == "closed":
        out.say(
            "operator.calendar.closed_range", rule=change.rule_id, day=str(change.day), span=span
        )
    elif change.kind == "open":
        places = change.places if change.places is not None else default_places
        out.say(
            "operator.calendar.opened",
            rule=change.rule_id,
            day=str(change.day),
            span=span,
            places=places,
        )
    else:
        out.say(
            "operator.calendar.places_set",
            rule=change.rule_id,
            day=str(change.day),
            span=span,
            places=change.places or 0,
        )
    if change.holds:
        out.say("operator.calendar.holds_withdrawn", count=len(change.holds))
        _print_touched(out, change.holds, tz)
    if change.bookings and change.told:
        out.say("operator.calendar.bookings_told", count=len(change.bookings))
        _print_touched(out, change.bookings, tz)
    elif change.bookings:
        out.say("operator.calendar.bookings_standing", count=len(change.bookings))
        _print_touched(out, change.bookings, tz)
        out.say("operator.calendar.tell_hint", rule=change.rule_id)


def office_rows(out: Out, office: Office) -> list[list[str]]:
    """Return every office setting once as (field, value, what it means) rows."""
    values: dict[str, str] = {
        "code": office.code,
        "name": office.name,
        "timezone": office.timezone,
        "hours": offices.office_hours(office),
        "reminder_offsets": ",".join(str(m) for m in office.reminder_offsets) or "-",
    }
    fields = ("code", "name", "timezone", "hours", *offices.LIMITS, "reminder_offsets")
    fields += tuple(f for f in offices.TEXTS if f != "name")
    rows = [[out.r.text(f"operator.column.{c}") for c in ("field", "value", "meaning")]]
    for field in fields:
        value = values.get(field, str(getattr(office, field))) or "-"  # "-": not set
        rows.append([field, value, out.r.text(f"operator.field.{field}")])
    names = sorted((office.names or {}).items()) or [("<code>", "-")]
    for code, name in names:
        rows.append([f"name.{code}", name, out.r.text("operator.field.name_language")])
    advice = [
        (f"advice.{item}.{code}", text)
        for item, texts in sorted((office.advice or {}).items())
        for code, text in sorted(texts.items())
    ]
    for field, text in advice or [("advice.<item>.<code>", "-")]:
        rows.append([field, text, out.r.text("operator.field.advice")])
    return rows


def _cmd_office(app: App, args: argparse.Namespace) -> int:
    out = Out(app.settings.counselor_language)
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        tz = offices.calendar(session, office).tz
        if args.action == "set":
            try:
                change = operations.change_office(
                    session, office, app.vault, args.field, args.value, now=app.clock()
                )
            except offices.SettingRefused as refused:
                return out.refuse(refused.msg)
            out.say("operator.setting.changed", field=args.field)
            if change.holds:
                out.say("operator.calendar.holds_withdrawn", count=len(change.holds))
                _print_touched(out, change.holds, tz)
        out.table(office_rows(out, office))
    return 0


def _cmd_office_create(app: App, args: argparse.Namespace) -> int:
    out = Out(app.settings.counselor_language)
    try:
        with app.db.transaction() as session:  # a refused value rolls the new office back
            if args.code in offices.office_codes(session):
                return out.refuse(Msg("operator.office.exists", {"code": args.code}))
            office = offices.ensure_office(
                session,
                code=args.code,
                name=args.name,
                meeting_app=app.settings.meeting_app,
                meeting_link_template=app.settings.meeting_link_template,
            )
            for field, value in (("name", args.name), ("phone", args.phone)):
                if value:
                    offices.update_office(session, office, field, value)
            out.say("operator.office.created", code=args.code)
            out.table(office_rows(out, office))
    except offices.SettingRefused as refused:
        return out.refuse(refused.msg)
    return 0


def _cmd_bookings(app: App, args: argparse.Namespace) -> int:
    out = Out(app.settings.counselor_language)
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        tz = offices.calendar(session, office).tz
        day = args.day or app.clock().astimezone(tz).date()
        rows = operations.schedule(session, office, app.vault, day, 1)
        out.table(
            [
                [
                    f"{c.starts_at.astimezone(tz):%Y-%m-%d %H:%M}",
                    c.reference,
                    out.r.param(languages.name(c.language)),
                    c.channel,
                    out.r.param(counselors.links(c.meeting_url, c.host_url)),
                    out.r.param(counselors.answers(c.details)).replace("\n", " | "),
                ]
                for c in rows
            ]
        )
        out.say("operator.bookings.count", count=len(rows), day=str(day))
    return 0


def _cmd_doctor(env: dict[str, str] | None = None) -> int:
    """Print one line per check; return 1 when any failed, else 0."""
    import os

    from bot import doctor

    environment = dict(os.environ if env is None else env)
    settings, found = doctor.run(environment)
    language = environment.get("MADOGUCHI_COUNSELOR_LANGUAGE", "")
    if settings is not None:
        language = settings.counselor_language
    elif language not in languages.codes():
        language = languages.default_code()
    out = Out(language)
    for check in found:
        print(("✓ " if check.ok else "✗ ") + out.r.text(check.message_id, **check.params))
    bad = sum(not check.ok for check in found)
    if bad:
        out.say("operator.doctor.summary.failed", failed=bad, count=len(found))
        return 1
    out.say("operator.doctor.summary.ok", count=len(found))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    if args.command == "secret-key":
        print(Vault.new_key())
        return 0
    if args.command == "doctor":
        return _cmd_doctor()
    try:
        settings = config.load()
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    if args.command == "db":
        db = Database(settings.database_url)
        if args.action == "upgrade":
            schema.upgrade(db.engine)
        current, head = schema.current_revision(db.engine), schema.head_revision()
        print(f"schema revision: {current} (code: {head})")
        return 0
    creating = args.command == "office" and args.action == "create"
    try:
        app = build(settings, office_needed=not creating)
    except SchemaBehind as exc:
        print(exc, file=sys.stderr)
        return 2
    except UnknownOffice as unknown:
        return Out(settings.counselor_language).refuse(
            Msg(
                "operator.office.unknown",
                {"code": unknown.code, "known": ", ".join(unknown.known) or "-"},
            )
        )
    if creating:
        return _cmd_office_create(app, args)
    if args.command == "calendar":
        return _cmd_calendar(app, args)
    if args.command == "office":
        return _cmd_office(app, args)
    if args.command == "bookings":
        return _cmd_bookings(app, args)
    if args.command == "terms":
        return terms_cli.run(app, args)
    if args.command == "person":
        return person_cli.run(app, args)
    if args.command == "languages":
        return languages_cli.run(app, args)
    if args.command == "stats":
        return stats_cli.run(app, args)
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

    runner.settle_start_up()
    try:
        if command == "worker":
            asyncio.run(runner.run_worker(app))
        elif command == "web":
            runner.run_web(app, with_worker=False)
        else:
            runner.run_one_process(app)
    except runner.WorkerLeaseHeld as held:
        out = Out(app.settings.counselor_language)
        seconds = int((app.clock() - held.held.heartbeat_at).total_seconds())
        print(
            out.r.text("operator.worker.lease_held", holder=held.held.holder, seconds=seconds),
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
