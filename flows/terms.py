"""Present the terms of use (summary, full text article by article) and record consent.

The Japanese text is the original (terms preamble, art. 1); consent is recorded with the
version and the hash of the text shown. The meeting app's own terms are asked separately
(art. 4).
"""

from __future__ import annotations

from flows import languages
from flows.dialog import StateSpec, ask, choice, goto, register, say
from flows.model import (
    Conversation,
    Document,
    Event,
    IntakePorts,
    Msg,
    Outcome,
    RecordConsent,
    Reply,
    State,
)
from flows.terms_document import terms

_AGREE = choice("terms:agree", "terms.choice.agree")
_READ = choice("terms:read", "terms.choice.read")
_DECLINE = choice("terms:decline", "terms.choice.decline")


def _lang(conv: Conversation) -> str:
    return conv.language or languages.default_code()


def prompt_summary(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Summarize what the user agrees to (arts. 2–5, 7, 8, 12–14) and ask for consent."""
    doc = terms(_lang(conv))
    return [
        ask(
            "terms.summary",
            _AGREE,
            _READ,
            _DECLINE,
            version=doc.version,
            meeting_app=ports.office().meeting_app,
        )
    ]


def _agree(conv: Conversation, ports: IntakePorts) -> Outcome:
    doc = terms(_lang(conv))
    consent = RecordConsent("terms", doc.version, doc.sha256, doc.language)
    conv.data["terms_version"] = doc.version
    return goto(
        conv,
        State.CONFIRMING_MEETING_APP,
        ports,
        before=[say("terms.agreed", version=doc.version)],
        effects=[consent],
    )


def answer_summary(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Agree, read the full terms, or decline."""
    action = event.value.split(":", 1)[1]
    if action == "agree":
        return _agree(conv, ports)
    if action == "read":
        conv.data["terms_page"] = 0
        return goto(conv, State.READING_TERMS, ports)
    return goto(conv, State.DECLINED, ports)


def prompt_page(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Show one article of the full terms with paging choices."""
    doc = terms(_lang(conv))
    page = conv.data.get("terms_page", 0)
    choices = []
    if page + 1 < len(doc.sections):
        choices.append(choice("page:next", "terms.choice.next"))
    if page > 0:
        choices.append(choice("page:previous", "terms.choice.previous"))
    choices += [_AGREE, _DECLINE]
    body = Msg("terms.page", {"number": page + 1, "total": len(doc.sections)})
    return [Reply(body, tuple(choices), document=Document("terms", page))]


def answer_page(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Turn the page, or agree / decline from the full text."""
    kind, action = event.value.split(":", 1)
    if kind == "page":
        last = len(terms(_lang(conv)).sections) - 1
        step = 1 if action == "next" else -1
        conv.data["terms_page"] = max(0, min(last, conv.data.get("terms_page", 0) + step))
        return goto(conv, State.READING_TERMS, ports)
    return answer_summary(conv, event, ports)


def prompt_meeting_app(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for agreement to the designated meeting app's own terms (art. 4)."""
    return [
        ask(
            "meeting_app.ask",
            choice("app:agree", "meeting_app.choice.agree"),
            choice("app:decline", "meeting_app.choice.decline"),
            meeting_app=ports.office().meeting_app,
        )
    ]


def answer_meeting_app(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Record the meeting-app consent and go on to eligibility, or end politely."""
    if event.value == "app:decline":
        return goto(conv, State.DECLINED, ports)
    app = ports.office().meeting_app
    consent = RecordConsent(f"meeting_app:{app}", conv.data.get("terms_version", ""), "", _lang(conv))
    return goto(conv, State.ASKING_REGISTRATION, ports, effects=[consent])


def prompt_declined(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """End politely and say how else to consult (the office counter)."""
    return [ask("terms.declined", choice("declined:review", "terms.choice.review_again"))]


def answer_declined(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Offer the terms again."""
    return goto(conv, State.REVIEWING_TERMS, ports)


register(
    StateSpec(
        State.REVIEWING_TERMS,
        prompt=prompt_summary,
        answer=answer_summary,
        transitions={
            "terms": (State.CONFIRMING_MEETING_APP, State.READING_TERMS, State.DECLINED)
        },
        summary="terms summary",
    ),
    StateSpec(
        State.READING_TERMS,
        prompt=prompt_page,
        answer=answer_page,
        transitions={
            "page": (State.READING_TERMS,),
            "terms": (State.CONFIRMING_MEETING_APP, State.READING_TERMS, State.DECLINED),
        },
        summary="full terms, one article a page",
    ),
    StateSpec(
        State.CONFIRMING_MEETING_APP,
        prompt=prompt_meeting_app,
        answer=answer_meeting_app,
        transitions={"app": (State.ASKING_REGISTRATION, State.DECLINED)},
        summary="meeting app terms (art. 4)",
    ),
    StateSpec(
        State.DECLINED,
        prompt=prompt_declined,
        answer=answer_declined,
        transitions={"declined": (State.REVIEWING_TERMS,)},
        summary="declined: office counter",
    ),
)
