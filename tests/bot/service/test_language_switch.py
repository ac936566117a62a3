"""A person can switch language at any step: from any state the real engine reaches (random
users, counselors, time, the worker: `engine_fuzz.py`), `/language` and a choice of any
offered language come back to the very same step, offering the same choices, with every
stored answer kept."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from bot.console.chat import CHANNEL
from flows import languages
from flows.intake import INITIAL
from flows.model import Conversation, Event
from storage import conversations
from tests.bot.service.engine_fuzz import USERS, EngineFuzz


class LanguageSwitch(EngineFuzz):
    """The engine fuzz, plus a user who switches language wherever they stand."""

    def _conversation(self, user: str) -> Conversation | None:
        with self.app.db.transaction() as session:
            return conversations.peek(
                session, channel=CHANNEL, user_ref=user, vault=self.app.vault
            )

    @rule(user=st.sampled_from(USERS), lang=st.sampled_from(languages.codes()))
    def switches_language(self, user: str, lang: str) -> None:
        before = self._conversation(user)
        if before is None or before.state == INITIAL:
            return  # the language question itself: choosing goes on to the terms
        self._handle(user, Event("command", "language"))
        asked = self._conversation(user)
        assert asked is not None and asked.state == INITIAL
        assert f"lang:{lang}" in asked.data["offered"]
        self._handle(user, Event("choice", f"lang:{lang}", asked.turn))
        after = self._conversation(user)
        assert after is not None
        assert (after.state, after.language) == (before.state, lang)
        assert after.data == before.data  # every answer, hold and offered choice kept


LanguageSwitch.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
TestLanguageSwitch = LanguageSwitch.TestCase
