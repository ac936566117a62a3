"""The terms of use as data: parsed from `locales/terms/<lang>.txt`, versioned and hashed.

The Japanese text is the original; other languages are reference translations. The hash of
the exact text shown goes into the consent record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class TermsSection:
    """One page of the terms: the preamble or one article."""

    heading: str
    body: str


@dataclass(frozen=True)
class TermsDocument:
    """The terms in one language."""

    language: str
    version: str
    title: str
    sections: tuple[TermsSection, ...]
    sha256: str


def parse_terms(text: str, *, language: str) -> TermsDocument:
    """Parse the header (`key: value` lines) and the `## ` sections of a terms file."""
    header_text, _, rest = text.partition("\n\n")
    header = dict(line.split(": ", 1) for line in header_text.splitlines() if ": " in line)
    sections: list[TermsSection] = []
    for chunk in ("\n" + rest).split("\n## ")[1:]:
        heading, _, body = chunk.partition("\n")
        sections.append(TermsSection(heading.strip(), body.strip()))
    if not sections or "version" not in header:
        raise ValueError(f"terms text for {language!r} has no version or no sections")
    return TermsDocument(
        language=language,
        version=header["version"],
        title=header.get("title", sections[0].heading),
        sections=tuple(sections),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


@cache
def terms(language: str) -> TermsDocument:
    """Return the terms shown to users of `language`."""
    path = resources.files("locales").joinpath("terms", f"{language}.txt")
    return parse_terms(path.read_text("utf-8"), language=language)
