"""The terms of use as data: parsed from a terms text, versioned and hashed.

The Japanese text is the original; other languages are reference translations. The hash of
the exact text shown goes into the consent record. The texts shipped in `locales/terms/` are
the first version (2022-04-01); later versions are published into the database (terms
art. 13) and reach the flow through `IntakePorts.terms`. Nothing here reads the database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

ORIGINAL = "ja"
"""The language of the authoritative text (terms preamble)."""

_ARTICLE_JA = re.compile(r"^第(\d+)条")


@dataclass(frozen=True)
class TermsSection:
    """One page of the terms: the preamble or one article."""

    heading: str
    body: str


@dataclass(frozen=True)
class TermsDocument:
    """The terms of one version in one language.

    `version` is the label consent records name (the effective date, YYYY-MM-DD);
    `translated` is False when the reader's language has no translation of this version and
    the Japanese original is shown instead.
    """

    language: str
    version: str
    title: str
    sections: tuple[TermsSection, ...]
    sha256: str
    translated: bool = True
    summary: str = ""  # the office's summary of a change, in this language or the original

    @property
    def effective(self) -> date:
        """Return the day this version takes effect."""
        return date.fromisoformat(self.version)


class MalformedTerms(ValueError):
    """A terms text without the structure of the shipped ones (preamble + articles)."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


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


def compose(body: str, *, language: str, version: str) -> str:
    """Return a published text as stored: the shipped files' header, then the sections.

    `body` is the office's file: optionally its own header (replaced here), then `## `
    sections. The stored text is what is shown and hashed.
    """
    text = body.replace("\r\n", "\n").strip("\n")
    first = text.split("\n", 1)[0]
    if not first.startswith("## "):
        text = text.partition("\n\n")[2].strip("\n")  # drop the file's own header
    heading = text.split("\n", 1)[0].removeprefix("## ").strip()
    lines = [f"version: {version}", f"language: {language}", f"title: {heading}"]
    if language != ORIGINAL:
        lines.append(f"translation_of: {ORIGINAL}")
    return "\n".join(lines) + "\n\n" + text + "\n"


def check_structure(doc: TermsDocument, *, original: TermsDocument | None = None) -> None:
    """Refuse a text unlike the shipped ones: a preamble, then articles 1, 2, ... in order;
    a translation has the same sections as the original."""
    if len(doc.sections) < 2 or any(not s.heading or not s.body for s in doc.sections):
        raise MalformedTerms("sections")
    if original is None:
        numbers = [_ARTICLE_JA.match(s.heading) for s in doc.sections[1:]]
        if _ARTICLE_JA.match(doc.sections[0].heading):
            raise MalformedTerms("preamble")
        for expected, found in enumerate(numbers, 1):
            if found is None or int(found.group(1)) != expected:
                raise MalformedTerms("article", number=expected)
    elif len(doc.sections) != len(original.sections):
        raise MalformedTerms(
            "translation", sections=len(doc.sections), expected=len(original.sections)
        )


@cache
def shipped(language: str) -> TermsDocument:
    """Return the shipped text of `language` (the first version, 2022-04-01)."""
    path = resources.files("locales").joinpath("terms", f"{language}.txt")
    return parse_terms(path.read_text("utf-8"), language=language)


def shipped_text(language: str) -> str | None:
    """Return the shipped file of `language` as it is, or None when there is none."""
    path = resources.files("locales").joinpath("terms", f"{language}.txt")
    return path.read_text("utf-8") if path.is_file() else None


def terms(language: str) -> TermsDocument:
    """Return the shipped terms shown to users of `language` (the first version)."""
    return shipped(language)
