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


class UnknownOffice(Exception):
    """MADOGUCHI_OFFICE names an office the database does not have."""

    def __init__(self, code: str, known: list[str]) -> None:
        super().__init__(code)
        self.code, self.known = code, known


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
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool | None = None,
    office_needed: bool = True,
) -> App:
    """Connect, migrate (embedded default) or check the schema, and check the office.

    A database with no office at all gets the default one (the embedded default works out
    of the box); any other office must be created first (`madoguchi office create`), so a
    mistyped MADOGUCHI_OFFICE is an error, never a silent new office.
    """
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate if migrate is not None else settings.embedded:
        schema.upgrade(db.engine)
    elif schema.current_revision(db.engine) != schema.head_revision():
        raise SchemaBehind("the database schema is not current: run `madoguchi db upgrade` first")
    vault = Vault(embedded_secret_key(settings))
    with db.transaction() as session:
        known = offices.office_codes(session)
        if not known and settings.office == offices.DEFAULT_OFFICE:
            offices.ensure_office(
                session,
                code=settings.office,
                meeting_app=settings.meeting_app,
                meeting_link_template=settings.meeting_link_template,
            )
        elif settings.office not in known and office_needed:
            raise UnknownOffice(settings.office, known)
    intake = Intake(
        db=db,
        vault=vault,
        clock=clock,
        office_code=settings.office,
        steps_at_once=settings.steps_at_once,
    )
    return App(settings=settings, db=db, vault=vault, intake=intake, clock=clock)
