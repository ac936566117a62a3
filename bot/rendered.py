"""The one render step: an outbox payload → a neutral message (text blocks, choices, files).

Every channel lays out this `RenderedMessage` and nothing else; all words come from the
catalogs through `Renderer`. Never lay out here (no platform limits, keyboards or numbering).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.calendar_file import booking_ics
from bot.rendering import Renderer
from flows import languages
from flows.codec import reply_from_json
from flows.model import Choice, Reply


@dataclass(frozen=True)
class RenderedChoice:
    """One choice of the live question: its id and its label, full and compact."""

    id: str
    label: str
    short_label: str  # compact dates ("Wed, Nov 25"), for buttons with a small label limit


@dataclass(frozen=True)
class RenderedDocument:
    """A file to attach (the booking's calendar entry), with its caption."""

    data: bytes
    filename: str
    caption: str


@dataclass(frozen=True)
class RenderedMessage:
    """What one outbox payload shows the user, in the user's language, before layout."""

    language: str
    turn: int  # the turn the choices are offered in (button data carries it back)
    blocks: tuple[str, ...]  # texts that may be sent apart (one per terms article), in order
    choices: tuple[RenderedChoice, ...]  # the live question's: the last reply offering any
    documents: tuple[RenderedDocument, ...] = ()


def render_payload(
    payload: dict[str, Any], *, now: datetime | None = None, files: bool = True
) -> RenderedMessage:
    """Render an outbox payload; `now` stamps calendar files (default: the wall clock).

    `files=False` for a channel that cannot send files: no document is built.
    """
    language = payload.get("language") or languages.default_code()
    renderer = Renderer(language)
    compact = Renderer(language, renderer.tz, compact=True)
    blocks: list[str] = []
    choices: tuple[RenderedChoice, ...] = ()
    documents: list[RenderedDocument] = []
    for raw in payload["replies"]:
        reply = reply_from_json(raw)
        blocks += renderer.blocks(reply)
        if reply.choices:
            choices = tuple(_choice(option, renderer, compact) for option in reply.choices)
        if files and reply.document and reply.document.kind == "calendar":
            documents.append(_calendar(reply, renderer, now or datetime.now(UTC)))
    return RenderedMessage(
        language=language,
        turn=int(payload.get("turn", 0)),
        blocks=tuple(blocks),
        choices=choices,
        documents=tuple(documents),
    )


def _choice(option: Choice, renderer: Renderer, compact: Renderer) -> RenderedChoice:
    """Return a choice with its full and compact labels."""
    return RenderedChoice(
        id=option.id,
        label=renderer.choice_label(option.label),
        short_label=compact.choice_label(option.label),
    )


def _calendar(reply: Reply, renderer: Renderer, now: datetime) -> RenderedDocument:
    """Return the .ics file of a booking confirmation, built from the reply's parameters."""
    params = reply.body.params
    reference = str(params["reference"])
    at, minutes = params["at"], params.get("minutes", 30)
    assert isinstance(at, datetime) and isinstance(minutes, int)
    link = str(params["link"])
    data = booking_ics(
        reference=reference,
        starts_at=at,
        minutes=minutes,
        summary=renderer.text("calendar.summary", reference=reference),
        description=renderer.text(
            "calendar.description", link=link, office=params.get("office", "")
        ),
        url=link,
        tz=str(renderer.tz),
        now=now,
    )
    return RenderedDocument(
        data=data, filename=f"{reference}.ics", caption=renderer.text("calendar.caption")
    )
