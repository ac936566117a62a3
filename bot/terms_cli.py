"""`madoguchi terms publish|list`: add a version of the terms of use (art. 13) and list the
versions with their effective dates and how many users were told. Output from the catalogs,
in the counselors' language; a refusal says why and exits with status 2, nothing stored."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app import App
from bot.operator_out import Out
from flows import languages
from flows.model import Msg, Param
from flows.terms_document import ORIGINAL, MalformedTerms
from storage import offices, terms_versions


class _Refused(Exception):
    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.id)
        self.msg = msg


def _files(args: argparse.Namespace) -> dict[str, str]:
    """Return language → file path from FILE_JA, --en and --lang CODE=FILE."""
    files = {ORIGINAL: args.file_ja}
    if args.en:
        files["en"] = args.en
    for given in args.lang:
        code, sep, path = given.partition("=")
        if not sep or not path:
            raise _Refused(Msg("operator.terms.missing_file", {"path": given}))
        files[code.strip()] = path
    unknown = sorted(set(files) - set(languages.codes()))
    if unknown:
        known = ", ".join(languages.codes())
        raise _Refused(
            Msg("operator.terms.unknown_language", {"language": unknown[0], "known": known})
        )
    return files


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise _Refused(Msg("operator.terms.missing_file", {"path": path})) from None


def _publish(app: App, args: argparse.Namespace) -> Msg:
    files = _files(args)
    texts = {code: _read(path) for code, path in files.items()}
    if args.summary_en and not args.summary_ja:
        raise _Refused(Msg("operator.terms.summary_needs_ja"))
    summaries = {ORIGINAL: args.summary_ja, "en": args.summary_en}
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        now = app.clock()
        try:
            version = terms_versions.publish(
                session,
                office,
                texts,
                effective=args.effective,
                today=terms_versions.office_today(office, now),
                summaries=summaries,
                now=now,
            )
        except MalformedTerms as bad:
            path = files[_malformed_language(bad, texts)]
            params: dict[str, Param] = {k: str(v) for k, v in bad.details.items()}
            params["file"] = path
            raise _Refused(Msg(f"operator.terms.malformed.{bad.reason}", params)) from None
        except terms_versions.PublishRefused as refused:
            given: dict[str, Param] = {k: str(v) for k, v in refused.details.items()}
            raise _Refused(Msg(f"operator.terms.{refused.reason}", given)) from None
        return Msg(
            "operator.terms.published",
            {
                "number": version.number,
                "effective": version.effective_on.isoformat(),
                "languages": ", ".join(sorted(texts)),
            },
        )


def _malformed_language(bad: MalformedTerms, texts: dict[str, str]) -> str:
    """Return which file was malformed (the original unless a translation mismatched)."""
    return str(bad.details.pop("language", ORIGINAL))


def run(app: App, args: argparse.Namespace) -> int:
    """Run `terms publish` or `terms list`; return the exit status."""
    out = Out(app.settings.counselor_language)
    if args.action == "publish":
        try:
            published = _publish(app, args)
        except _Refused as refused:
            return out.refuse(refused.msg)
        print(out.r.msg(published))
        return 0
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        now = app.clock()
        lines = terms_versions.listing(
            session, office, now, terms_versions.office_today(office, now)
        )
    header = [
        out.r.text(f"operator.column.{c}") for c in ("version", "effective", "languages", "told")
    ]
    rows = [header]
    for line in lines:
        rows.append(
            [
                str(line.number),
                out.r.text("operator.terms.in_force", effective=line.effective.isoformat())
                if line.in_force
                else line.effective.isoformat(),
                ", ".join(line.languages),
                str(line.told),
            ]
        )
    out.table(rows)
    return 0
