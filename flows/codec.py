"""Turn replies into JSON and back, so they can wait in the outbox until delivered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flows.model import (
    Choice,
    Document,
    Lines,
    Msg,
    OfficeName,
    OpeningHours,
    Param,
    Reply,
    Time,
)


def _param_to_json(value: Param) -> Any:
    if isinstance(value, Msg):
        return {
            "$msg": value.id,
            "params": {k: _param_to_json(v) for k, v in value.params.items()},
        }
    if isinstance(value, OpeningHours):
        return {"$hours": [list(day) for day in value.days]}
    if isinstance(value, OfficeName):
        return {"$office": value.name, "by_language": [list(pair) for pair in value.by_language]}
    if isinstance(value, Lines):
        return {"$lines": [_param_to_json(item) for item in value.items], "inline": value.inline}
    if isinstance(value, Time):
        return {"$time": value.at.isoformat()}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def _param_from_json(value: Any) -> Param:
    if isinstance(value, dict):
        if "$msg" in value:
            return Msg(value["$msg"], {k: _param_from_json(v) for k, v in value["params"].items()})
        if "$hours" in value:
            return OpeningHours(tuple((int(d), str(a), str(b)) for d, a, b in value["$hours"]))
        if "$office" in value:
            pairs = tuple((str(a), str(b)) for a, b in value.get("by_language", []))
            return OfficeName(str(value["$office"]), pairs)
        if "$lines" in value:
            items = tuple(_param_from_json(item) for item in value["$lines"])
            return Lines(items, inline=bool(value.get("inline")))  # type: ignore[arg-type]
        if "$time" in value:
            return Time(datetime.fromisoformat(value["$time"]))
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    return value


def msg_to_json(msg: Msg) -> dict[str, Any]:
    """Return a JSON-safe form of a message reference."""
    return _param_to_json(msg)  # type: ignore[no-any-return]


def msg_from_json(raw: dict[str, Any]) -> Msg:
    """Return the message reference `msg_to_json` was given."""
    value = _param_from_json(raw)
    assert isinstance(value, Msg)
    return value


def _document_to_json(document: Document) -> dict[str, Any]:
    raw: dict[str, Any] = {"kind": document.kind, "section": document.section}
    if document.pages:
        raw["pages"] = [list(page) for page in document.pages]
    if document.language:
        raw["language"] = document.language
    return raw


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """Return a JSON-safe form of a reply."""
    return {
        "body": msg_to_json(reply.body),
        "choices": [{"id": c.id, "label": msg_to_json(c.label)} for c in reply.choices],
        "document": _document_to_json(reply.document) if reply.document else None,
        "all_languages": reply.all_languages,
        **({"short": msg_to_json(reply.short)} if reply.short else {}),
    }


def reply_from_json(raw: dict[str, Any]) -> Reply:
    """Return the reply `reply_to_json` was given."""
    doc = raw.get("document")
    return Reply(
        body=msg_from_json(raw["body"]),
        choices=tuple(Choice(c["id"], msg_from_json(c["label"])) for c in raw["choices"]),
        document=(
            Document(
                doc["kind"],
                doc["section"],
                tuple((heading, body) for heading, body in doc.get("pages", ())),
                doc.get("language"),
            )
            if doc
            else None
        ),
        all_languages=raw.get("all_languages", False),
        short=msg_from_json(raw["short"]) if raw.get("short") else None,
    )
