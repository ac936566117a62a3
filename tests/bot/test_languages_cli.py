"""`madoguchi languages`: every offered language with whether counselors work in it, whether
its terms are the original, and whether a native speaker reviewed it (who, when), in the
counselors' language; `languages review CODE --by NAME` records a review; an unknown code is
refused (exit 2)."""

from __future__ import annotations

import pytest

from bot.operator_out import table
from bot.rendering import Renderer
from flows import languages
from tests.bot.test_operator_cli import operator  # noqa: F401  (the fixture)


@pytest.mark.parametrize("lang", languages.counselor_codes())
def test_the_languages_and_their_review_in_the_counselors_language(operator, lang):  # noqa: F811
    run, _ = operator
    r = Renderer(lang)
    status, out, err = run(lang, "languages")
    assert (status, err) == (0, "")
    header = [
        r.text(f"operator.languages.column.{c}")
        for c in ("code", "name", "counselors", "terms", "review")
    ]
    rows = [header]
    for language in languages.languages():
        shipped = language.code in ("ja", "en")
        rows.append(
            [
                language.code,
                r.text(f"language.native.{language.code}"),
                r.text(f"operator.languages.counselors.{'yes' if language.counselors else 'no'}"),
                r.text(
                    "operator.languages.terms."
                    + ("original" if language.authoritative_terms else "translation")
                ),
                r.text(
                    "operator.languages.reviewed_as_shipped"
                    if shipped
                    else "operator.languages.not_reviewed"
                ),
            ]
        )
    assert out.splitlines() == table(rows)


def test_a_review_is_recorded_with_who_and_when(operator):  # noqa: F811
    run, _ = operator
    r = Renderer("en")
    status, out, err = run("en", "languages", "review", "en", "--by", "Tanaka Yuki")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == r.text(
        "operator.languages.review.done",
        code="en",
        language=r.text("language.native.en"),
        by="Tanaka Yuki",
    )
    english = next(line for line in lines if line.startswith("en "))
    assert english.endswith("REVIEWED by Tanaka Yuki on 2026-11-24")
    _, again, _ = run("en", "languages")
    assert again.splitlines() == lines[1:]  # stored: the listing shows it from now on


@pytest.mark.parametrize("lang", languages.counselor_codes())
def test_an_unknown_code_is_refused(operator, lang):  # noqa: F811
    run, _ = operator
    status, out, err = run(lang, "languages", "review", "xx", "--by", "Tanaka")
    assert (status, out) == (2, "")
    known = ", ".join(languages.codes())
    assert err.strip() == Renderer(lang).text("operator.languages.unknown", code="xx", known=known)
    status, _, err = run(lang, "languages", "review", "en", "--by", "  ")
    assert status == 2 and err.strip() == Renderer(lang).text("operator.languages.review.nobody")
