"""A stateful, property-based drive of the real engine: random event sequences from every
state, with the invariants that must hold after each step. Shared by the suite (bounded) and
`bench/fuzz.py` (long).

The users are terminal-chat users of one app on a SQLite file: they type text (odd Unicode,
numbers, the jobseeker number), commands (known and unknown), press offered, stale and
garbled buttons, follow the scripted path to reach deep states; meanwhile counselors cancel
and stop the service, the clock moves and the worker sweeps expired holds.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from bot import config, worker
from bot.app import App, build
from bot.console.chat import CHANNEL
from bot.rendered import render_payload
from flows import languages
from flows.intake import TABLE, State
from flows.model import Event
from flows.script import scripted_event
from storage import conversations, offices, outbox
from storage.models import Booking, OutboxMessage, Slot
from storage.vault import Vault

USERS = ("u1", "u2", "u3")
ACTIONS = ("claim", "cancel", "no_show", "stop_service")
ODD_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "²",
            "١٢",
            "１",
            "13010-12345678",
            "１３０１０ー１２３４５６７８",
            "0",
            "-1",
            "99",
            "1e3",
            "\x00\x1b[31m",
            "🙂" * 2500,
            "/",
            "/start@bot",
            " 1 ",
            "٣",
            "Ⅻ",
            "𝟙",
        ]
    ),
)
COMMANDS = st.sampled_from(
    [
        "start",
        "help",
        "mybooking",
        "mydata",
        "restart",
        "language",
        "cancel",
        "START",
        "nonsense",
        "",
    ]
)


class Clock:
    """A clock that stands still until moved."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class EngineFuzz(RuleBasedStateMachine):
    """Random users against the real engine; every step keeps the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = Clock()
        settings = config.load(
            {
                "DATABASE_URL": f"sqlite:///{Path(self.tmp.name) / 'fuzz.sqlite3'}",
                "MADOGUCHI_DATA_DIR": self.tmp.name,
                "MADOGUCHI_SECRET_KEY": Vault.new_key(),
            }
        )
        self.app: App = build(settings, clock=self.clock, migrate=True)
        self.events = 0
        self.visited: set[str] = set()

    def teardown(self) -> None:
        self.app.db.dispose()
        self.tmp.cleanup()

    # --- what users and counselors do ------------------------------------------------------

    def _handle(self, user: str, event: Event) -> None:
        self.visited.add(self.app.intake.handle_event(CHANNEL, user, event).state)
        self.events += 1

    def _position(self, user: str) -> tuple[str, list[str], int, str | None] | None:
        with self.app.db.transaction() as session:
            conv = conversations.peek(
                session, channel=CHANNEL, user_ref=user, vault=self.app.vault
            )
        if conv is None:
            return None
        return conv.state, list(conv.data.get("offered", [])), conv.turn, conv.language

    @rule(user=st.sampled_from(USERS), text=ODD_TEXT)
    def types(self, user: str, text: str) -> None:
        self._handle(user, Event("text", text))

    @rule(user=st.sampled_from(USERS), name=COMMANDS)
    def commands(self, user: str, name: str) -> None:
        self._handle(user, Event("command", name))

    @rule(
        user=st.sampled_from(USERS),
        index=st.integers(0, 20),
        shift=st.sampled_from([0, 0, 0, -1, 1]),  # mostly the live question, sometimes stale
    )
    def presses_a_button(self, user: str, index: int, shift: int) -> None:
        position = self._position(user)
        if position is None or not position[1]:
            return
        _, offered, turn, _ = position
        self._handle(user, Event("choice", offered[index % len(offered)], turn + shift))

    @rule(user=st.sampled_from(USERS), data=st.text(max_size=70), turn=st.integers(-5, 10**12))
    def presses_garbage(self, user: str, data: str, turn: int) -> None:
        self._handle(user, Event("choice", data, turn))

    @rule(
        user=st.sampled_from(USERS),
        steps=st.integers(1, 25),
        lang=st.sampled_from(languages.codes()),
    )
    def follows_the_script(self, user: str, steps: int, lang: str) -> None:
        for _ in range(steps):
            position = self._position(user)
            if position is None:
                self._handle(user, Event("command", "start"))
                continue
            state, offered, turn, _ = position
            event = scripted_event(state, offered, turn=turn, language=lang)
            if event is None:
                return
            self._handle(user, event)

    @rule(action=st.sampled_from(ACTIONS), pick=st.integers(0, 50), repeat=st.booleans())
    def counselor_acts(self, action: str, pick: int, repeat: bool) -> None:
        with self.app.db.transaction() as session:
            references = list(
                session.scalars(select(Booking.reference).where(Booking.reference.is_not(None)))
            )
        if not references:
            return
        reference = references[pick % len(references)]
        assert reference is not None
        for _ in range(2 if repeat else 1):
            self.app.intake.office_action(reference, action, counselor="U0FUZZ", reason="fuzz")

    @rule(
        setting=st.sampled_from(
            [
                ("hours", "mon-fri 09:00-09:30"),
                ("places_per_slot", "1"),
                ("horizon_days", "2"),
                ("places_per_slot", "2"),
                ("hours", "mon-fri 08:30-17:15"),
                ("horizon_days", "21"),
            ]
        )
    )
    def office_changes_its_calendar(self, setting: tuple[str, str]) -> None:
        with self.app.db.transaction() as session:
            office = offices.get_office(session, self.app.settings.office)
            offices.update_office(session, office, *setting)

    @rule(minutes=st.sampled_from([1, 9, 11, 31, 60 * 24]))
    def time_passes(self, minutes: int) -> None:
        self.clock.now += timedelta(minutes=minutes)

    @precondition(lambda self: self.events > 0)
    @rule()
    def worker_sweeps_holds(self) -> None:
        worker.expire_holds(self.app)

    # --- what must always hold -----------------------------------------------------------

    @invariant()
    def every_state_is_declared_and_its_question_renders(self) -> None:
        with self.app.db.transaction() as session:
            rows = session.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == CHANNEL)
            ).all()
            latest = {}
            for row in rows:
                latest[row.recipient] = row.payload
            for message in outbox.pending(session, channel=CHANNEL):
                outbox.mark_sent(session, message.id, self.clock())
        for user in USERS:
            position = self._position(user)
            if position is None:
                continue
            state, offered, _, _ = position
            assert state in TABLE, state
            assert len(offered) == len(set(offered)), offered
        for payload in latest.values():
            for code in languages.codes():
                rendered = render_payload({**payload, "language": code}, files=False)
                assert rendered.blocks
                assert all(choice.label for choice in rendered.choices)

    @invariant()
    def places_taken_equal_holds_and_bookings(self) -> None:
        with self.app.db.transaction() as session:
            slots = session.execute(select(Slot.id, Slot.taken)).all()
            counted = dict(
                session.execute(
                    select(Booking.slot_id, func.count())
                    .where(Booking.status.in_(["held", "booked", "no_show"]))
                    .group_by(Booking.slot_id)
                ).all()
            )
        for slot_id, taken in slots:
            assert taken == counted.get(slot_id, 0), (slot_id, taken, counted)

    @invariant()
    def no_booking_without_its_counselor_notification(self) -> None:
        with self.app.db.transaction() as session:
            booked = set(session.scalars(select(Booking.id).where(Booking.reference.is_not(None))))
            notified = {
                row.payload.get("booking_id")
                for row in session.scalars(
                    select(OutboxMessage).where(OutboxMessage.channel == outbox.COUNSELORS)
                )
            }
        assert booked <= notified, booked - notified


def reached_states(machine: EngineFuzz) -> set[str]:
    """Return the states the machine's users reached after any of their events."""
    return {State(state).value for state in machine.visited if state}
