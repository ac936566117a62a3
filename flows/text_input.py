"""Clean and check what a user typed: jobseeker numbers, short free-text answers.

Pure functions; they never log what they are given (it may be personal data).
"""

from __future__ import annotations

import re
import unicodedata

# Hyphen look-alikes seen in Japanese input methods, besides the ASCII hyphen-minus.
_HYPHENS = "-ー－‐―‑–—−ｰ"
_NUMBER = re.compile(r"^(\d{5})-(\d{8})$")


def normalize_jobseeker_number(raw: str) -> str | None:
    """Return the number as `NNNNN-NNNNNNNN`, or None when it is not one.

    Accepts full-width digits, spaces anywhere and the hyphen look-alikes; a number typed
    without the hyphen (13 digits) is accepted too.
    """
    if len(raw) > 64:
        return None
    text = unicodedata.normalize("NFKC", raw)
    text = "".join("-" if ch in _HYPHENS else ch for ch in text)
    text = "".join(ch for ch in text if not ch.isspace())
    if re.fullmatch(r"\d{13}", text):
        text = f"{text[:5]}-{text[5:]}"
    match = _NUMBER.match(text)
    if not match or not text.isascii():
        return None
    return text


def mask_jobseeker_number(number: str | None) -> str:
    """Return the number with all but its last four digits hidden."""
    if not number:
        return ""
    return "*****-****" + number[-4:]


def clean_text(raw: str) -> str:
    """Normalize free text: NFKC, no control characters, single spaces, trimmed."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return " ".join(text.split())


def short_answer(raw: str, *, max_chars: int) -> str | None:
    """Return the cleaned answer, or None when it is empty or longer than `max_chars`."""
    text = clean_text(raw)
    if not text or len(text) > max_chars:
        return None
    return text
