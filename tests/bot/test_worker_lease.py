"""Exactly one scheduler per database: a second worker refuses to start (a lease row), and
`/healthz` reports the database and the worker's heartbeat."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select

from bot import runner
from bot.web import health_report
from storage import worker_lease
from storage.models import WorkerLease
from tests.conftest import make_app


def test_a_second_holder_is_refused_until_the_first_goes_silent(app, clock):
    with app.db.transaction() as session:
        assert worker_lease.acquire(session, "host-a/1", clock()) is None
    with app.db.transaction() as session:
        held = worker_lease.acquire(session, "host-b/7", clock())
    assert held is not None and held.holder == "host-a/1"
    clock.advance(seconds=worker_lease.LEASE_SECONDS)
    with app.db.transaction() as session:
        assert worker_lease.acquire(session, "host-b/7", clock()) is not None
        assert worker_lease.beat(session, "host-a/1", clock())  # still alive: renewed
    clock.advance(seconds=worker_lease.LEASE_SECONDS + 1)
    with app.db.transaction() as session:  # silent past the lease: taken over
        assert worker_lease.acquire(session, "host-b/7", clock()) is None
    with app.db.transaction() as session:
        assert not worker_lease.beat(session, "host-a/1", clock())
        assert session.scalars(select(WorkerLease.holder)).all() == ["host-b/7"]


def test_the_same_holder_takes_its_lease_back_at_once_and_a_release_frees_it(app, clock):
    with app.db.transaction() as session:
        assert worker_lease.acquire(session, "web.1/1", clock()) is None
    with app.db.transaction() as session:  # a restarted container: the same name and pid 1
        assert worker_lease.acquire(session, "web.1/1", clock()) is None
        worker_lease.release(session, "web.1/1")
    with app.db.transaction() as session:
        assert worker_lease.last_heartbeat(session) is None
        assert worker_lease.acquire(session, "other/2", clock()) is None


@pytest.mark.asyncio
async def test_a_second_worker_on_the_same_database_refuses_to_start(sqlite_url, clock, tmp_path):
    first = make_app(sqlite_url, clock, tmp_path, MADOGUCHI_INSTANCE="worker-a")
    second = make_app(sqlite_url, clock, tmp_path, MADOGUCHI_INSTANCE="worker-b")
    stop = asyncio.Event()
    try:
        scheduler = runner.worker_duties(first)[0]
        async with scheduler(stop):
            with first.db.transaction() as session:
                assert worker_lease.last_heartbeat(session) == clock()
            with pytest.raises(runner.WorkerLeaseHeld) as refused:
                async with runner.worker_duties(second)[0](asyncio.Event()):
                    pass  # pragma: no cover - must not start
            assert refused.value.held.holder.startswith("worker-a/")
            stop.set()
        # a clean stop lets go: the next worker starts at once
        async with runner.worker_duties(second)[0](asyncio.Event()):
            pass
    finally:
        first.db.dispose()
        second.db.dispose()


def test_health_needs_the_database_and_a_fresh_heartbeat(app, clock):
    healthy, report = health_report(app)
    assert not healthy and report["database"] == "ok"
    with app.db.transaction() as session:
        worker_lease.acquire(session, "worker/1", clock())
    clock.advance(seconds=30)
    healthy, report = health_report(app)
    assert healthy and report["worker_heartbeat_seconds_ago"] == 30
    clock.advance(seconds=31)  # silent for more than a minute
    healthy, report = health_report(app)
    assert not healthy and report["worker"] != "ok"


def test_health_is_unhealthy_when_the_database_does_not_answer(sqlite_app, tmp_path):
    from storage.db import Database

    sqlite_app.db = Database(f"sqlite:///{tmp_path}/missing-dir/none.sqlite3")
    healthy, report = health_report(sqlite_app)
    assert not healthy and report["database"].startswith("error")


@pytest.mark.parametrize("argv", [["worker"], []], ids=["worker", "one-process-web"])
def test_the_command_line_refuses_a_second_worker_with_a_clear_message(
    argv, sqlite_url, clock, tmp_path, monkeypatch, capsys
):
    from datetime import UTC, datetime

    from bot import cli
    from tests.conftest import TEST_KEY

    app = make_app(sqlite_url, clock, tmp_path)
    with app.db.transaction() as session:  # a live worker elsewhere, heard from just now
        worker_lease.acquire(session, "other-host:8000/41", datetime.now(UTC))
    app.db.dispose()
    for name, value in {
        "DATABASE_URL": sqlite_url,
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "MADOGUCHI_SECRET_KEY": TEST_KEY,
        "MADOGUCHI_COUNSELOR_LANGUAGE": "en",
        # `madoguchi` alone with a webhook: the web process runs the worker's part too
        "LINE_CHANNEL_SECRET": "line-channel-secret-0123",
        "LINE_CHANNEL_ACCESS_TOKEN": "t",
    }.items():
        monkeypatch.setenv(name, value)
    # `madoguchi` alone serves LINE's webhook with uvicorn: the lease is taken before it starts
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Not started: another worker (other-host:8000/41, last heartbeat" in err
    assert "Run exactly one worker" in err


def test_a_killed_worker_of_this_instance_is_replaced_at_once_a_running_one_is_not(
    sqlite_url, clock, tmp_path
):
    import subprocess
    import sys

    app = make_app(sqlite_url, clock, tmp_path, MADOGUCHI_INSTANCE="worker-1")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for other, refused in (
            (f"worker-1/{running.pid}", True),  # same name, still running: a real second one
            (f"worker-2/{dead.pid}", True),  # another instance's process: cannot tell here
            (f"worker-1/{dead.pid}", False),  # killed and restarted by its process manager
        ):
            with app.db.transaction() as session:
                session.execute(delete(WorkerLease))
                assert worker_lease.acquire(session, other, clock()) is None
            if refused:
                with pytest.raises(runner.WorkerLeaseHeld):
                    runner.take_lease(app)
            else:
                assert runner.take_lease(app) == runner.lease_holder(app)
    finally:
        running.kill()
        running.wait()
        app.db.dispose()


@pytest.mark.asyncio
async def test_a_worker_that_lost_its_lease_stops(app, clock):
    holder = runner.take_lease(app)
    with app.db.transaction() as session:
        session.execute(delete(WorkerLease))
        assert worker_lease.acquire(session, "other/1", clock()) is None
    stop = asyncio.Event()
    await asyncio.wait_for(runner.heartbeat(app, holder, stop, every=0.01), 5)
    assert stop.is_set()
    with app.db.transaction() as session:
        assert session.scalars(select(WorkerLease.holder)).all() == ["other/1"]
