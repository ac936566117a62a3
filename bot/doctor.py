"""`madoguchi doctor`: is this deployment ready? The configuration, the database (reachable,
schema current, clock and time zone) and each configured platform, with harmless calls.

Nothing here writes: no migration, no webhook registration, no message. Each check is one
line (a catalog message in the counselors' language) saying what to do when it failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text

from bot import config
from bot.channels import registry
from bot.checks import Check, failed, passed
from bot.settings import Settings
from storage import schema
from storage.db import Database
from storage.models import Office

CLOCK_SKEW_SECONDS = 5.0
DEFAULT_ZONE = "Asia/Tokyo"


def configuration(env: Mapping[str, str] | None = None) -> tuple[Settings | None, Check]:
    """Read the configuration; return it (None when unusable) and its check."""
    try:
        settings = config.load(None if env is None else dict(env))
    except config.ConfigError as exc:
        problems = str(exc).split("\n", 1)[-1].replace("\n", ";")
        return None, failed("operator.doctor.config.failed", problems=problems.strip())
    names = ", ".join(channel.name for channel, _ in registry.enabled(settings)) or "-"
    return settings, passed("operator.doctor.config.ok", channels=names)


def _database_now(db: Database) -> datetime:
    with db.engine.connect() as connection:
        if db.is_sqlite:
            raw = connection.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
            return datetime.fromisoformat(str(raw.scalar_one())).replace(tzinfo=UTC)
        value = connection.execute(text("SELECT now()")).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


def database(settings: Settings, now: datetime | None = None) -> list[Check]:
    """Check that the database answers, its schema is current, and the clocks agree."""
    db = Database(settings.database_url)
    backend = "SQLite" if db.is_sqlite else "PostgreSQL"
    try:
        try:
            at_database = _database_now(db)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is the answer
            return [
                failed(
                    "operator.doctor.database.failed", backend=backend, error=type(exc).__name__
                )
            ]
        found = [passed("operator.doctor.database.ok", backend=backend)]
        current, head = schema.current_revision(db.engine), schema.head_revision()
        if current == head:
            found.append(passed("operator.doctor.schema.ok", revision=head))
        else:
            found.append(
                failed("operator.doctor.schema.behind", current=current or "-", head=head)
            )
        here = now or datetime.now(UTC)
        skew = abs((here - at_database).total_seconds())
        if skew > CLOCK_SKEW_SECONDS:
            found.append(failed("operator.doctor.clock.skew", seconds=int(skew)))
        else:
            found.append(passed("operator.doctor.clock.ok", seconds=f"{skew:.1f}"))
        zone = DEFAULT_ZONE
        if current == head:
            with db.transaction() as session:
                stored = session.scalar(
                    select(Office.timezone).where(Office.code == settings.office)
                )
                zone = stored or zone
        try:
            local = here.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            found.append(failed("operator.doctor.timezone.unknown", zone=zone))
        else:
            found.append(
                passed(
                    "operator.doctor.timezone.ok",
                    zone=zone,
                    office=settings.office,
                    local=f"{local:%Y-%m-%d %H:%M %Z}",
                )
            )
        return found
    finally:
        db.dispose()


def platforms(settings: Settings) -> list[Check]:
    """Run each configured channel's own checks; say so when none is configured."""
    found: list[Check] = []
    for channel, own in registry.enabled(settings):
        try:
            found.extend(channel.doctor(own))
        except Exception as exc:  # noqa: BLE001 - a check that breaks is a failed check
            found.append(
                failed(
                    "operator.doctor.channel.broken",
                    channel=channel.name,
                    error=type(exc).__name__,
                )
            )
    if not found:
        found.append(passed("operator.doctor.channels.none"))
    return found


def run(env: Mapping[str, str] | None = None) -> tuple[Settings | None, list[Check]]:
    """Run every check in order; the platforms and the database only with a configuration."""
    settings, read = configuration(env)
    if settings is None:
        return None, [read]
    return settings, [read, *database(settings), *platforms(settings)]
