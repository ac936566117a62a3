"""`madoguchi languages [review CODE --by NAME]`: the offered languages, whether counselors
work in each, whether its terms are the original or a reference translation, and whether a
native speaker at the office reviewed it. Output from the catalogs, in the counselors'
language; never changes what is offered."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import App
from bot.operator_out import Out
from flows import languages
from flows.model import Msg
from storage import language_reviews


def add_parser(sub: Any) -> None:
    """Add the `languages` sub-command to the command line's sub-parsers."""
    langs = sub.add_parser("languages", help="the offered languages and whether each was reviewed")
    actions = langs.add_subparsers(dest="action")
    review = actions.add_parser(
        "review", help="record that a native speaker at the office reviewed a translation"
    )
    review.add_argument("code", metavar="CODE")
    review.add_argument("--by", required=True, help="who reviewed it (kept with the date)")


def run(app: App, args: argparse.Namespace) -> int:
    """Run `languages` or `languages review`; return the exit status."""
    out = Out(app.settings.counselor_language)
    if args.action == "review":
        if args.code not in languages.codes():
            return out.refuse(
                Msg(
                    "operator.languages.unknown",
                    {"code": args.code, "known": ", ".join(languages.codes())},
                )
            )
        by = args.by.strip()
        if not by:
            return out.refuse(Msg("operator.languages.review.nobody"))
        with app.db.transaction() as session:
            language_reviews.mark_reviewed(session, args.code, by=by, at=app.clock())
        out.say(
            "operator.languages.review.done",
            code=args.code,
            language=Msg(f"language.native.{args.code}"),
            by=by,
        )
    with app.db.transaction() as session:
        found = language_reviews.reviews(session)
    out.table([_header(out)] + [_row(out, lang, found.get(lang.code)) for lang in _offered()])
    return 0


def _offered() -> tuple[languages.Language, ...]:
    return languages.languages()


def _header(out: Out) -> list[str]:
    return [
        out.r.text(f"operator.languages.column.{column}")
        for column in ("code", "name", "counselors", "terms", "review")
    ]


def _row(out: Out, lang: languages.Language, review: language_reviews.Review | None) -> list[str]:
    counselors = "yes" if lang.counselors else "no"
    terms = "original" if lang.authoritative_terms else "translation"
    return [
        lang.code,
        out.r.text(f"language.native.{lang.code}"),
        out.r.text(f"operator.languages.counselors.{counselors}"),
        out.r.text(f"operator.languages.terms.{terms}"),
        _review(out, review),
    ]


def _review(out: Out, review: language_reviews.Review | None) -> str:
    if review is None:
        return out.r.text("operator.languages.not_reviewed")
    if review.as_shipped:
        return out.r.text("operator.languages.reviewed_as_shipped")
    assert review.at is not None
    return out.r.text("operator.languages.reviewed", by=review.by, date=f"{review.at:%Y-%m-%d}")
