"""`madoguchi terms publish|list` as operators use them, on SQLite and PostgreSQL: a version
is added and listed with how many users were told; bad input is refused with the catalog's
reason (exit 2) and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot import worker
from bot.app import App
from bot.rendering import Renderer
from tests.bot.test_operator_cli import book_first_time
from tests.chat_client import FakeClock
from tests.conftest import operator_cli
from tests.terms_change import changed_text

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def operator(db_url, tmp_path, monkeypatch, clock: FakeClock) -> Iterator[tuple[Run, App]]:  # type: ignore[no-untyped-def]
    """Run `madoguchi` on the test database at the tests' clock; yield (run, app)."""
    run, app = operator_cli(db_url, tmp_path, monkeypatch, clock)
    yield run, app
    app.db.dispose()


def files(tmp_path: Path) -> dict[str, str]:
    """Write the changed terms (ja, en) and return their paths."""
    paths = {}
    for code in ("ja", "en"):
        path = tmp_path / f"terms-{code}.txt"
        path.write_text(changed_text(code), encoding="utf-8")
        paths[code] = str(path)
    return paths


def test_publish_then_list_shows_versions_and_who_was_told(operator, tmp_path):
    run, app = operator
    status, shown, _ = run("en", "terms", "list")
    assert status == 0
    assert shown.splitlines() == [
        "version  effective              languages                    told",
        "1        2022-04-01 (in force)  en, ja, ja_easy, pt, vi, zh  0",
    ]
    book_first_time(app, "ahead", "en")
    paths = files(tmp_path)
    status, said, err = run(
        "ja",
        "terms",
        "publish",
        paths["ja"],
        "--en",
        paths["en"],
        "--effective",
        "2026-12-01",
        "--summary-ja",
        "第3条の表現を改めました。",
        "--summary-en",
        "Article 3 is worded more clearly.",
    )
    assert (status, err) == (0, "")
    assert said.strip() == (
        "利用規約の第2版を登録しました（2026-12-01から適用、言語：en, ja）。"
        "対象の利用者には、ワーカーが順にお知らせします。"
    )
    assert worker.tell_terms_changes(app) == 1
    _, shown, _ = run("ja", "terms", "list")
    assert shown.splitlines() == [
        "版  適用日                言語                         お知らせ済み",
        "1   2022-04-01（適用中）  en, ja, ja_easy, pt, vi, zh  0",
        "2   2026-12-01            en, ja                       1",
    ]
    _, listed, _ = run("en", "bookings", "--day", "2026-11-25")
    assert "Terms of Use version agreed to: 2022-04-01" in listed


def test_bad_input_is_refused_with_the_reason_and_nothing_stored(operator, tmp_path):
    run, _ = operator
    paths = files(tmp_path)
    ja = Renderer("ja")
    en = Renderer("en")
    flat = tmp_path / "flat.txt"
    flat.write_text("利用規約\n\n見出しのない本文です。\n", encoding="utf-8")
    gap = tmp_path / "gap.txt"
    gap.write_text(changed_text("ja").replace("## 第2条", "## 第3条", 1), encoding="utf-8")
    short = tmp_path / "short-en.txt"
    short.write_text(changed_text("en").split("## Article 14")[0], encoding="utf-8")
    missing = str(tmp_path / "nowhere.txt")
    cases = [
        (
            ("publish", missing, "--effective", "2026-12-01"),
            ja.text("operator.terms.missing_file", path=missing),
        ),
        (
            ("publish", paths["ja"], "--en", missing, "--effective", "2026-12-01"),
            ja.text("operator.terms.missing_file", path=missing),
        ),
        (
            ("publish", str(flat), "--effective", "2026-12-01"),
            ja.text("operator.terms.malformed.sections", file=str(flat)),
        ),
        (
            ("publish", str(gap), "--effective", "2026-12-01"),
            ja.text("operator.terms.malformed.article", file=str(gap), number=2),
        ),
        (
            ("publish", paths["ja"], "--en", str(short), "--effective", "2026-12-01"),
            ja.text(
                "operator.terms.malformed.translation", file=str(short), sections=14, expected=15
            ),
        ),
        (
            ("publish", paths["ja"], "--effective", "2026-11-23"),
            ja.text("operator.terms.past", effective="2026-11-23", today="2026-11-24"),
        ),
        (
            ("publish", paths["ja"], "--lang", f"xx={paths['en']}", "--effective", "2026-12-01"),
            ja.text(
                "operator.terms.unknown_language",
                language="xx",
                known="ja, en, ja_easy, vi, zh, pt",
            ),
        ),
        (
            ("publish", paths["ja"], "--effective", "2026-12-01", "--summary-en", "Only English"),
            ja.text("operator.terms.summary_needs_ja"),
        ),
    ]
    for argv, expected in cases:
        status, said, err = run("ja", "terms", *argv)
        assert (status, said, err.strip()) == (2, "", expected), argv
    status, _, err = run("en", "terms", "publish", paths["ja"], "--effective", "2026-11-01")
    assert (status, err.strip()) == (
        2,
        en.text("operator.terms.past", effective="2026-11-01", today="2026-11-24"),
    )
    assert run("en", "terms", "publish", paths["ja"], "--effective", "2026-12-01")[0] == 0
    status, _, err = run("en", "terms", "publish", paths["ja"], "--effective", "2026-12-01")
    assert (status, err.strip()) == (
        2,
        en.text("operator.terms.not_after", effective="2026-12-01", last="2026-12-01"),
    )
    _, shown, _ = run("en", "terms", "list")
    assert [line.split()[0] for line in shown.splitlines()[1:]] == ["1", "2"]
    assert shown.splitlines()[2].split() == ["2", "2026-12-01", "ja", "0"]  # the original only
