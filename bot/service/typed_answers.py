"""A typed answer that names an option ("English", "10:00", "12月3日", "はい" for "はい、カメラ付き
の端末があります") picks it, as a button or its number would. Reads the offered labels the
flow stored with the turn.

The flow cannot read the catalogs, so the words are matched here, in every offered language;
an answer that could mean two options, or none, stays text (the flow then explains).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from bot.rendering import MissingMessage, Renderer
from flows import languages
from flows.codec import msg_from_json
from flows.intake import TABLE, State
from flows.model import Conversation, Event

_IGNORED = re.compile(r"[\s　・,，、。.()（）「」\[\]!！?？]+")
MAX_TYPED = 100
MIN_PARTIAL = 2


def _key(text: str) -> str:
    """Return `text` as compared: width and case folded, spaces and punctuation dropped."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text).casefold())


def _labels(raw: dict[str, Any]) -> set[str]:
    """Return every way the option is shown: full and short labels, in every language."""
    label = msg_from_json(raw)
    shown = set()
    try:
        for code in languages.codes():
            for renderer in (Renderer(code), Renderer(code, compact=True)):
                shown.add(_key(renderer.msg(label)))
    except MissingMessage:  # stored before its label was renamed: its number still picks it
        return set()
    return shown - {""}


def resolve(conv: Conversation, event: Event) -> Event:
    """Return the choice an answer typed as an option's words names, else the event as is."""
    if event.kind != "text" or conv.state not in TABLE:
        return event
    typed = _key(event.value[:MAX_TYPED])
    offered = conv.data.get("offered", [])
    labels = conv.data.get("offered_labels", [])
    if not typed or typed.isdigit() or len(labels) != len(offered):
        return event
    shown = [_labels(raw) for raw in labels]
    exact = [i for i, forms in enumerate(shown) if typed in forms]
    if len(exact) == 1:
        return Event("choice", offered[exact[0]], conv.turn)
    if exact or TABLE[State(conv.state)].accepts_text or len(typed) < MIN_PARTIAL:
        return event  # free text is an answer of its own here; never guess
    partial = [i for i, forms in enumerate(shown) if any(typed in form for form in forms)]
    if len(partial) == 1:
        return Event("choice", offered[partial[0]], conv.turn)
    return event
