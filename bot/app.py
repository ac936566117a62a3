"""Build one process's parts from the settings: database, vault, clock, the intake.

On the embedded default (SQLite) the schema is migrated at start; in production the
operator runs `madoguchi db upgrade` and start-up refuses a database behind the code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.service.intake import Intake
from bot.settings import Settings, embedded_secret_key
from storage import offices, schema
from storage.db import Database
from storage.vault import Vault


class SchemaBehind(Exception):
    """The database needs `madoguchi db upgrade` before this code can run."""


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class App:
    """The parts every entry point needs."""

    settings: Settings
    db: Database
    vault: Vault
    intake: Intake
    clock: Callable[[], datetime]


def build(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, migrate: bool | None = None
) -> App:
    """Connect, migrate (embedded default) or check the schema, and make sure the office exists."""
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate if migrate is not None else settings.embedded:
        schema.upgrade(db.engine)
    elif schema.current_revision(db.engine) != schema.head_revision():
        raise SchemaBehind("the database schema is not current: run `madoguchi db upgrade` first")
    vault = Vault(embedded_secret_key(settings))
    with db.transaction() as session:
        offices.ensure_office(
            session,
            code=settings.office,
            meeting_app=settings.meeting_app,
            meeting_link_template=settings.meeting_link_template,
        )
    intake = Intake(db=db, vault=vault, clock=clock, office_code=settings.office)
    return App(settings=settings, db=db, vault=vault, intake=intake, clock=clock)
