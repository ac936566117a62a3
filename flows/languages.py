"""The languages the intake offers, read from `locales/languages.json` (languages are data).

Adding a language means a catalog, a terms text and a line in that file; no code branches
on a language code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from flows.model import Msg


@dataclass(frozen=True)
class Language:
    """One offered language."""

    code: str
    babel_locale: str
    authoritative_terms: bool
    # Counselors and operators can read the office's side in it (Slack, the operator
    # commands); a jobseeker-only language needs no `operator.`, `slack.` or `counselor.` text.
    counselors: bool = False


@cache
def _registry() -> tuple[str, tuple[Language, ...]]:
    raw = json.loads(resources.files("locales").joinpath("languages.json").read_text("utf-8"))
    langs = tuple(Language(**entry) for entry in raw["languages"])
    return raw["default"], langs


def languages() -> tuple[Language, ...]:
    """Return the offered languages in display order."""
    return _registry()[1]


def codes() -> tuple[str, ...]:
    """Return the offered language codes."""
    return tuple(lang.code for lang in languages())


COUNSELOR_ONLY = ("operator.", "slack.", "counselor.")


def counselor_codes() -> tuple[str, ...]:
    """Return the codes counselors and operators can work in."""
    return tuple(lang.code for lang in languages() if lang.counselors)


def needs(code: str, message_id: str) -> bool:
    """Return whether language `code` must have the message (counselor text only if read there)."""
    return get(code).counselors or not message_id.startswith(COUNSELOR_ONLY)


def original_terms_code() -> str:
    """Return the language whose terms text is the authoritative original (terms, preamble)."""
    return next(lang.code for lang in languages() if lang.authoritative_terms)


def default_code() -> str:
    """Return the language used before the user has chosen one."""
    return _registry()[0]


def get(code: str) -> Language:
    """Return the language with this code (KeyError when not offered)."""
    for lang in languages():
        if lang.code == code:
            return lang
    raise KeyError(code)


def match(tag: str | None) -> str | None:
    """Return the offered code for a platform language tag like `en-US`, if any."""
    if not tag:
        return None
    base = tag.replace("_", "-").split("-")[0].lower()
    return base if base in codes() else None


def name(code: str | None) -> Msg | str:
    """Return how a language is named to anyone (its own name, from the catalogs); a code no
    longer offered is shown as the code itself, never an error."""
    return Msg(f"language.native.{code}") if code in codes() else (code or "-")
