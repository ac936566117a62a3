"""A test client that chats like a user: sends lines, clicks buttons by their label id.

It goes through the real storage and outbox and renders every reply in the user's
language, so a missing catalog entry fails the test that reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.console.chat import CHANNEL, render, to_event
from bot.rendering import Renderer
from flows import languages
from flows.codec import reply_from_json
from flows.model import Conversation as FlowConversation
from flows.model import Event, Lines, Msg, Param, Reply
from flows.script import scripted_event
from storage import conversations, outbox

OFFICE_FACTS = ("office.", "meeting_app.terms_")
"""Nested messages that only carry office settings (contact, links): not listed in `ids`."""

# The language menu as every channel shows it: each language in its own name, in the order
# of locales/languages.json, whatever the user's platform language.
LANGUAGE_MENU = [
    "日本語",
    "English",
    "やさしい にほんご",
    "Tiếng Việt",
    "简体中文",
    "Português (Brasil)",
]


class FakeClock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


@dataclass
class ChatClient:
    """One user of one channel."""

    app: App
    user: str = "user-1"
    channel: str = CHANNEL
    replies: list[Reply] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    turn: int = 0
    language: str | None = None

    def _collect(self) -> None:
        self.replies, self.payloads, texts = [], [], []
        with self.app.db.transaction() as session:
            for message in outbox.pending(session, channel=self.channel, recipient=self.user):
                outbox.mark_sent(session, message.id, self.app.clock())
                self.payloads.append(message.payload)
                self.replies += [reply_from_json(r) for r in message.payload["replies"]]
                self.turn = message.payload["turn"]
                self.language = message.payload["language"]
                texts.append(render(message.payload))
        self.text = "\n\n".join(texts)

    def send(self, line: str) -> ChatClient:
        """Type a line (a command, a number or free text)."""
        self.app.intake.handle_event(self.channel, self.user, to_event(line))
        self._collect()
        return self

    def press(self, choice_id: str, *, turn: int | None = None) -> ChatClient:
        """Press a button by its choice id (with the turn it was shown in)."""
        event = Event("choice", choice_id, self.turn if turn is None else turn)
        self.app.intake.handle_event(self.channel, self.user, event)
        self._collect()
        return self

    def press_index(self, index: int) -> ChatClient:
        """Press the button at `index` among the offered choices."""
        return self.press(self.choice_ids[index])

    def click(self, label_id: str) -> ChatClient:
        """Press the button of the last replies whose label has this message id."""
        return self.press(self.choice_id(label_id))

    def choice_id(self, label_id: str) -> str:
        """Return the id of the offered choice labelled `label_id`."""
        for reply in self.replies:
            for option in reply.choices:
                if option.label.id == label_id:
                    return option.id
        raise AssertionError(f"no choice {label_id!r} offered; offered: {self.choice_labels}")

    def stored(self) -> FlowConversation:
        """Return the conversation as the database holds it now."""
        with self.app.db.transaction() as session:
            conv = conversations.peek(
                session, channel=self.channel, user_ref=self.user, vault=self.app.vault
            )
        assert conv is not None, "no conversation yet"
        return conv

    def position(self) -> tuple[str, list[str]]:
        """Return the conversation's state and the ids of the choices it offers now."""
        conv = self.stored()
        return conv.state, list(conv.data.get("offered", []))

    def walk(
        self, lang: str, *, until: str | None = None, answers: dict[str, str] | None = None
    ) -> list[tuple[str, Event]]:
        """Answer as the scripted jobseeker (flows/script.py) until the conversation stands
        at `until`, or the script ends; `answers` types other lines at some states."""
        if not self.replies:
            self.send("/start")
        walked: list[tuple[str, Event]] = []
        for _ in range(200):
            state, offered = self.position()
            if state == until:
                return walked
            if answers and state in answers:
                event = to_event(answers[state])
            else:
                scripted = scripted_event(state, offered, turn=self.turn, language=lang)
                if scripted is None:
                    break
                event = scripted
            walked.append((state, event))
            self.app.intake.handle_event(self.channel, self.user, event)
            self._collect()
        if until is not None:
            raise AssertionError(f"the scripted path never reached {until}; walked {walked}")
        return walked

    def sees(self, message_id: str, **params: Param) -> bool:
        """Return True when the last replies show this catalog text in the user's language."""
        language = self.language or languages.default_code()
        return Renderer(language).text(message_id, **params) in self.text

    @property
    def choice_labels(self) -> list[str]:
        """Return the label ids of the choices offered by the last replies."""
        return [c.label.id for r in self.replies for c in r.choices]

    @property
    def ids(self) -> list[str]:
        """Return the body message ids of the last replies (nested ones included)."""
        found: list[str] = []

        def collect(value: object, top: bool) -> None:
            if isinstance(value, Msg):
                if not top and not value.id.startswith(OFFICE_FACTS):
                    found.append(value.id)
                for param in value.params.values():
                    collect(param, False)
            elif isinstance(value, Lines):
                for item in value.items:
                    collect(item, False)

        for reply in self.replies:
            found.append(reply.body.id)
            collect(reply.body, True)
        return found

    @property
    def choice_ids(self) -> list[str]:
        """Return the ids of the choices offered by the last replies."""
        return [c.id for r in self.replies for c in r.choices]
