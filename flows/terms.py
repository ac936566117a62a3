"""Present the terms of use (summary, full text article by article) and record consent.

The Japanese text is the original (terms preamble, art. 1); consent is recorded with the
version and the hash of the text shown. The meeting app's own terms are asked separately
(art. 4). A change of the terms (art. 13) is told from any state: the
change, the office's summary, the effective date, the new version page by page, then back.
"""

from __future__ import annotations

from typing import Any

from flows import languages
from flows.dialog import STAY, Move, ask, choice, move, say, short
from flows.model import (
    Choice,
    Conversation,
    Document,
    Event,
    IntakePorts,
    Msg,
    RecordConsent,
    Reply,
    SystemEvent,
    TermsChanged,
)
from flows.office_contact import contact
from flows.terms_document import TermsDocument

_AGREE = choice("terms:agree", "terms.choice.agree_terms")
_READ = choice("terms:read", "terms.choice.read")
_DECLINE = choice("terms:decline", "terms.choice.decline_terms")
_NEXT = choice("page:next", "terms.choice.next")
_PREVIOUS = choice("page:previous", "terms.choice.previous")
_ORIGINAL = choice("page:original", "terms.choice.original")


def _lang(conv: Conversation) -> str:
    return conv.language or languages.default_code()


def _shown(conv: Conversation, ports: IntakePorts) -> TermsDocument:
    """Return the terms in force, and remember which version the user is shown."""
    doc = ports.terms(_lang(conv))
    conv.data["terms_shown"] = doc.version
    return doc


def _original_only(doc: TermsDocument) -> list[Reply]:
    """Say so when the user's language has no translation of this version (art. 1)."""
    return [] if doc.translated else [say("terms.original_only")]


def _page(doc: TermsDocument, page: int) -> Document:
    section = doc.sections[page]
    return Document("terms", page, ((section.heading, section.body),))


def prompt_summary(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Summarize what the user agrees to (arts. 2–5, 7, 8, 12–14) and ask for consent."""
    doc = _shown(conv, ports)
    question = ask(
        "terms.summary",
        _AGREE,
        _READ,
        _DECLINE,
        version=doc.version,
        meeting_app=ports.office().meeting_app,
    )
    return [*_original_only(doc), short(question, "terms.summary.question")]


def answer_summary(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Agree (consent recorded with version and hash), read the full terms, or decline."""
    action = event.value.split(":", 1)[1]
    if action == "agree":
        doc = ports.terms(_lang(conv))
        if conv.data.get("terms_shown", doc.version) != doc.version:
            # A new version took effect while the user read the old one: show it first.
            return move(STAY, say("terms.changed.took_effect", effective=doc.effective))
        conv.data["terms_version"] = doc.version
        consent = RecordConsent("terms", doc.version, doc.sha256, doc.language)
        return move("agreed", say("terms.agreed", version=doc.version), effects=[consent])
    if action == "read":
        conv.data["terms_page"] = 0
        return move("read")
    return move("declined")


def prompt_page(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show one article of the full terms with paging choices."""
    doc = _shown(conv, ports)
    page = min(conv.data.get("terms_page", 0), len(doc.sections) - 1)
    page_id = "terms.page" if doc.translated else "terms.page_original"
    body = Msg(page_id, {"number": page + 1, "total": len(doc.sections)})
    return [Reply(body, _page_choices(conv, doc), document=_page(doc, page))]


def _page_choices(conv: Conversation, doc: TermsDocument) -> tuple[Choice, ...]:
    """Return the same options, in the same order, on every page (numbers never shift under
    a reader); a reference translation also offers the original of the page (preamble)."""
    reference = doc.translated and not languages.get(_lang(conv)).authoritative_terms
    return (_NEXT, _PREVIOUS, *((_ORIGINAL,) if reference else ()), _AGREE, _DECLINE)


def answer_page(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Turn the page, show the original of this page, or agree / decline from the full text."""
    kind, action = event.value.split(":", 1)
    if kind != "page":
        return answer_summary(conv, event, ports)
    page = conv.data.get("terms_page", 0)
    if action == "original":
        return Move(STAY, (_original(conv, ports, page),), brief=True)
    last = len(ports.terms(_lang(conv)).sections) - 1
    step = 1 if action == "next" else -1
    conv.data["terms_page"] = max(0, min(last, page + step))
    return move("turned")


def _original(conv: Conversation, ports: IntakePorts, page: int) -> Reply:
    """Return the same page of the authoritative terms (the Japanese original) of the
    version the user is reading."""
    original = ports.terms(languages.original_terms_code(), conv.data.get("terms_shown"))
    page = min(page, len(original.sections) - 1)
    body = Msg("terms.original", {"number": page + 1, "total": len(original.sections)})
    return Reply(body, document=_page(original, page))


def prompt_meeting_app(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for agreement to the designated meeting app's own terms (art. 4)."""
    app = ports.office().meeting_app
    question = ask(
        "meeting_app.ask",
        choice("app:agree", "meeting_app.choice.agree"),
        choice("app:decline", "meeting_app.choice.decline_app"),
        meeting_app=app,
        terms=_app_terms(ports),
    )
    return [short(question, "meeting_app.question", meeting_app=app)]


def answer_meeting_app(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Record the meeting-app consent and go on to eligibility, or end politely."""
    if event.value == "app:decline":
        conv.data["declined"] = "meeting_app"
        return move("declined")
    app = ports.office().meeting_app
    version = conv.data.get("terms_version", "")
    consent = RecordConsent(f"meeting_app:{app}", version, "", _lang(conv))
    return move("agreed", effects=[consent])


def _app_terms(ports: IntakePorts) -> Msg:
    """Return where the meeting app's own terms can be read (an office setting)."""
    office = ports.office()
    if office.meeting_app_terms_url:
        return Msg(
            "meeting_app.terms_link",
            {"meeting_app": office.meeting_app, "url": office.meeting_app_terms_url},
        )
    return Msg("meeting_app.terms_no_link", {"meeting_app": office.meeting_app})


def prompt_declined(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """End politely and say how else to consult (the office counter)."""
    office = ports.office()
    message = (
        "meeting_app.declined" if conv.data.get("declined") == "meeting_app" else "terms.declined"
    )
    declined = ask(
        message,
        choice("declined:review", "terms.choice.review_again"),
        contact=contact(office),
        meeting_app=office.meeting_app,
    )
    return [short(declined, "terms.declined.question")]


def answer_declined(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Offer the terms again."""
    conv.data.pop("declined", None)
    return move("review")


# --- a change of the terms (art. 13) ---------------------------------------------------------


def react_terms_changed(conv: Conversation, what: SystemEvent, ports: IntakePorts) -> Move:
    """Tell the user the terms change, and when the new version takes effect (art. 13);
    the new text follows page by page, then the user goes back to what they were doing."""
    assert isinstance(what, TermsChanged)
    doc = ports.terms(_lang(conv), what.version)
    conv.data["new_terms"] = {"version": doc.version, "page": 0}
    notice = [say("terms.changed.notice", effective=doc.effective)]
    if doc.summary:
        notice.append(say("terms.changed.summary", summary=doc.summary))
    return move("told", *notice)


def _reading(conv: Conversation) -> dict[str, Any]:
    """Return which new version the user reads and where (the one in force if unknown)."""
    reading = conv.data.get("new_terms")
    if not isinstance(reading, dict):
        reading = conv.data["new_terms"] = {"version": None, "page": 0}
    return reading


def prompt_new_page(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show one article of the new version, with paging and a way back to the intake."""
    reading = _reading(conv)
    doc = ports.terms(_lang(conv), reading["version"])
    page = min(reading["page"], len(doc.sections) - 1)
    choices = (
        choice("new:next", "terms.choice.next"),
        choice("new:previous", "terms.choice.previous"),
        choice("new:done", "terms.choice.done_reading"),
    )
    body = Msg(
        "terms.changed.page",
        {"number": page + 1, "total": len(doc.sections), "effective": doc.effective},
    )
    first = _original_only(doc) if page == 0 else []
    return [*first, Reply(body, choices, document=_page(doc, page))]


def answer_new_page(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Turn a page of the new version, or go back to where the user was."""
    action = event.value.split(":", 1)[1]
    reading = _reading(conv)
    if action == "done":
        conv.data.pop("new_terms")
        back = conv.data.pop("terms_return_to", None)
        return move("done", back_to=back)
    last = len(ports.terms(_lang(conv), reading["version"]).sections) - 1
    step = 1 if action == "next" else -1
    reading["page"] = max(0, min(last, reading["page"] + step))
    return move("turned")
