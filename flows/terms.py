"""Present the terms of use (summary, full text article by article) and record consent.

The Japanese text is the original (terms preamble, art. 1); consent is recorded with the
version and the hash of the text shown. The meeting app's own terms are asked separately
(art. 4).
"""

from __future__ import annotations

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
)
from flows.office_contact import contact
from flows.terms_document import terms

_AGREE = choice("terms:agree", "terms.choice.agree_terms")
_READ = choice("terms:read", "terms.choice.read")
_DECLINE = choice("terms:decline", "terms.choice.decline_terms")
_NEXT = choice("page:next", "terms.choice.next")
_PREVIOUS = choice("page:previous", "terms.choice.previous")
_ORIGINAL = choice("page:original", "terms.choice.original")


def _lang(conv: Conversation) -> str:
    return conv.language or languages.default_code()


def prompt_summary(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Summarize what the user agrees to (arts. 2–5, 7, 8, 12–14) and ask for consent."""
    doc = terms(_lang(conv))
    question = ask(
        "terms.summary",
        _AGREE,
        _READ,
        _DECLINE,
        version=doc.version,
        meeting_app=ports.office().meeting_app,
    )
    return [short(question, "terms.summary.question")]


def answer_summary(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Agree (consent recorded with version and hash), read the full terms, or decline."""
    action = event.value.split(":", 1)[1]
    if action == "agree":
        doc = terms(_lang(conv))
        conv.data["terms_version"] = doc.version
        consent = RecordConsent("terms", doc.version, doc.sha256, doc.language)
        return move("agreed", say("terms.agreed", version=doc.version), effects=[consent])
    if action == "read":
        conv.data["terms_page"] = 0
        return move("read")
    return move("declined")


def prompt_page(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show one article of the full terms with paging choices."""
    doc = terms(_lang(conv))
    page = conv.data.get("terms_page", 0)
    body = Msg("terms.page", {"number": page + 1, "total": len(doc.sections)})
    return [Reply(body, _page_choices(conv), document=Document("terms", page))]


def _page_choices(conv: Conversation) -> tuple[Choice, ...]:
    """Return the same options, in the same order, on every page (numbers never shift under
    a reader); a reference translation also offers the original of the page (preamble)."""
    original = () if languages.get(_lang(conv)).authoritative_terms else (_ORIGINAL,)
    return (_NEXT, _PREVIOUS, *original, _AGREE, _DECLINE)


def answer_page(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Turn the page, show the original of this page, or agree / decline from the full text."""
    kind, action = event.value.split(":", 1)
    if kind != "page":
        return answer_summary(conv, event, ports)
    page = conv.data.get("terms_page", 0)
    if action == "original":
        return Move(STAY, (_original(page),), brief=True)
    last = len(terms(_lang(conv)).sections) - 1
    step = 1 if action == "next" else -1
    conv.data["terms_page"] = max(0, min(last, page + step))
    return move("turned")


def _original(page: int) -> Reply:
    """Return the same page of the authoritative terms (the Japanese original)."""
    code = languages.original_terms_code()
    original = terms(code)
    page = min(page, len(original.sections) - 1)
    body = Msg("terms.original", {"number": page + 1, "total": len(original.sections)})
    return Reply(body, document=Document("terms", page, language=code))


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
