"""The scripted jobseeker's intake as the benchmarks replay it, read from the intake table.

It walks `flows/script.py` once through the real engine on a throwaway SQLite file and
returns every step (what was pressed or typed), so no benchmark copies the order of the
questions: a new question in `flows/intake.py` is replayed by every bench.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot import config
from bot.app import build
from flows.intake import SCRIPTED_JOBSEEKER_NUMBER, TABLE, State
from flows.model import Event
from flows.script import scripted_event
from storage import conversations
from storage.vault import Vault


@dataclass(frozen=True)
class Step:
    """One step of the scripted intake."""

    kind: str  # "command", "choice" or "text"
    value: str  # the command, the choice id ("" = the first one offered) or the text
    typed: str  # the same step typed as a line: "/start", an option's number, or the text

    def typed_by(self, number: int) -> str:
        """Return the typed line for the simulated jobseeker with this number."""
        return f"13010-{number:08d}" if self.is_number else self.typed

    @property
    def is_number(self) -> bool:
        """Return True for the step that types the jobseeker number."""
        return self.kind == "text" and self.value == SCRIPTED_JOBSEEKER_NUMBER


def scripted_steps(language: str = "en", *, hint: str | None = None) -> list[Step]:
    """Return the scripted intake in `language`; `hint` is the platform's language tag the
    users send (it orders the language menu, so typed numbers must follow it)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.load(
            {
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'script.sqlite3'}",
                "MADOGUCHI_DATA_DIR": tmp,
                "MADOGUCHI_SECRET_KEY": Vault.new_key(),
            }
        )
        app = build(settings, migrate=True)
        user = "scripted"
        app.intake.handle_event("console", user, Event("command", "start", language_hint=hint))
        steps = [Step("command", "start", "/start")]
        for _ in range(200):
            with app.db.transaction() as session:
                conv = conversations.peek(
                    session, channel="console", user_ref=user, vault=app.vault
                )
            assert conv is not None
            offered = list(conv.data.get("offered", []))
            event = scripted_event(conv.state, offered, turn=conv.turn, language=language)
            if event is None:
                break
            if event.kind == "text":
                steps.append(Step("text", event.value, event.value))
            else:
                script = TABLE[State(conv.state)].script
                first = script is not None and script.choice == ""
                typed = str(offered.index(event.value) + 1)
                steps.append(Step("choice", "" if first else event.value, typed))
            app.intake.handle_event("console", user, event)
        app.db.dispose()
    return steps
