"""Jobseeker numbers and short answers as users type them."""

from __future__ import annotations

import pytest

from flows.text_input import (
    clean_text,
    mask_jobseeker_number,
    normalize_jobseeker_number,
    short_answer,
)


@pytest.mark.parametrize(
    "typed",
    [
        "13010-12345678",
        "１３０１０－１２３４５６７８",
        "13010ー12345678",
        "13010‐12345678",
        "13010―12345678",
        " 13010 - 1234 5678 ",
        "1301012345678",
        "１３０１０　１２３４５６７８",
    ],
)
def test_accepted_forms(typed):
    assert normalize_jobseeker_number(typed) == "13010-12345678"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "13010-1234567",
        "130101-2345678",
        "13010--12345678",
        "a3010-12345678",
        "١٣٠١٠-١٢٣٤٥٦٧٨",
        "9" * 5000,
    ],
)
def test_refused_forms(typed):
    assert normalize_jobseeker_number(typed) is None


def test_mask_shows_only_the_last_four_digits():
    assert mask_jobseeker_number("13010-12345678") == "*****-****5678"


def test_short_answer_strips_control_characters_and_limits_length():
    assert clean_text("a\x00b\u200b  c\n") == "a b c"
    assert short_answer("\x1b[31m", max_chars=40) is not None  # printable rest stays
    assert short_answer("   ", max_chars=40) is None
    assert short_answer("x" * 41, max_chars=40) is None
