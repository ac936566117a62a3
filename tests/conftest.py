"""Fixtures: a database per test on SQLite and PostgreSQL, an app with a movable clock.

PostgreSQL: `DATABASE_URL` when given (tables are reset per test), otherwise a throwaway
server started from the machine's binaries. Without either, PostgreSQL tests are skipped
with the reason, unless MADOGUCHI_REQUIRE_POSTGRES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot import config
from bot.app import App, build
from storage.models import Base
from storage.throwaway_pg import PostgresUnavailable, ThrowawayPostgres
from storage.vault import Vault
from tests.chat_client import FakeClock

TEST_KEY = Vault.new_key()
_db_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _own_config_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keep generated keys out of the real ~/.config (the subprocesses inherit it too)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("MADOGUCHI_SECRET_KEY_FILE", raising=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres | str | None]:
    """Yield the external DATABASE_URL, a throwaway server, or None (unavailable)."""
    external = os.environ.get("DATABASE_URL", "")
    if external.startswith("postgres"):
        yield external
        return
    try:
        server = ThrowawayPostgres().start()
    except PostgresUnavailable as exc:
        if os.environ.get("MADOGUCHI_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but unavailable: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
        return
    yield server
    server.stop()


def _fresh_postgres_url(postgres: ThrowawayPostgres | str) -> str:
    if isinstance(postgres, ThrowawayPostgres):
        return postgres.create_database(f"test_{os.getpid()}_{next(_db_numbers)}")
    url = postgres.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return _fresh_postgres_url(request.getfixturevalue("postgres"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Return the URL of an empty SQLite file (for tests about the flow, not the backend)."""
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def clock() -> FakeClock:
    """Return a clock set to Tuesday 2026-11-24 09:00 in Tokyo."""
    return FakeClock()


def make_app(url: str, clock: FakeClock, data_dir: Path, **env: str) -> App:
    """Build the application on `url` with the test key and clock."""
    settings = config.load(
        {
            "DATABASE_URL": url,
            "MADOGUCHI_DATA_DIR": str(data_dir),
            "MADOGUCHI_SECRET_KEY": TEST_KEY,
            **env,
        }
    )
    return build(settings, clock=clock, migrate=True)


@pytest.fixture
def app(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[App]:
    """Return an app on each backend."""
    application = make_app(db_url, clock, tmp_path)
    yield application
    application.db.dispose()


@pytest.fixture
def sqlite_app(sqlite_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[App]:
    """Return an app on SQLite only."""
    application = make_app(sqlite_url, clock, tmp_path)
    yield application
    application.db.dispose()


def operator_cli(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock):  # type: ignore[no-untyped-def]
    """Return (run, app): `madoguchi` on the database at `url` at the tests' clock, sharing it
    with a chat app; run(lang, *argv) → (exit status, stdout, stderr) in that counselors'
    language. The caller disposes of `app.db`."""
    import contextlib
    import io

    from bot import cli

    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", TEST_KEY)
    monkeypatch.setattr(cli, "build", lambda settings, **kw: build(settings, clock=clock, **kw))
    app = make_app(url, clock, tmp_path)

    def run(lang: str, *argv: str) -> tuple[int, str, str]:
        monkeypatch.setenv("MADOGUCHI_COUNSELOR_LANGUAGE", lang)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(list(argv))
        return status, out.getvalue(), err.getvalue()

    return run, app
