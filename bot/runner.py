"""Run the configured channels: the web process, the worker, or everything in one process.

`madoguchi` alone runs all in one process (webhooks or polling, and the senders). With the
Procfile, `web` serves the channels' webhooks, and `worker` runs the scheduler and every
channel's sender, so N web processes share one sender per channel that alone keeps the
platform's rate limits, and there is exactly one scheduler. Channels come from the registry:
this module names none, and no channel imports it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import uvicorn
from apscheduler.schedulers.base import BaseScheduler

from bot import counselors
from bot.app import App
from bot.channels import registry
from bot.channels.protocol import Runner, Running, running_task
from bot.web import web_app
from storage import outbox, worker_lease

log = logging.getLogger("madoguchi.runner")


def settle_start_up() -> None:
    """Take what start-up made (modules, catalogs, compiled statements, the engine) out of
    the garbage collector's sight, before serving.

    They live as long as the process; left in, every full collection walks them all (~140k
    objects: ~45 ms on a 2-core VM, measured in bench/scale.py), a pause inside whichever
    step or write transaction it falls on. `gc.freeze()` moves them to a generation the
    collector never scans; what the process makes afterwards is collected as before.
    """
    gc.collect()
    gc.freeze()


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGINT and SIGTERM."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass


def counselors_unserved(app: App) -> bool:
    """Return True when no configured channel delivers counselor notifications."""
    return all(c.outbox != outbox.COUNSELORS for c, _ in registry.enabled(app.settings))


async def print_counselor_notifications(app: App, stop: asyncio.Event, every: float = 1.0) -> None:
    """Deliver counselor notifications when no channel does: printed (stderr) and logged."""
    while not stop.is_set():
        await asyncio.to_thread(
            counselors.deliver,
            app.db,
            app.vault,
            language=app.settings.counselor_language,
            out=sys.stderr,
            now=app.clock,
        )
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


def start_scheduler(app: App) -> BaseScheduler:
    """Start this deployment's one scheduler (reminders, hold expiry, retention, digest)."""
    from bot.worker import build_scheduler

    scheduler = build_scheduler(app)
    scheduler.start()
    return scheduler


class WorkerLeaseHeld(Exception):
    """Another worker runs the scheduler against this database."""

    def __init__(self, held: worker_lease.Held) -> None:
        super().__init__(held.holder)
        self.held = held


def lease_holder(app: App) -> str:
    """Return this process's name on the scheduler's lease (its stable name and its pid)."""
    return f"{app.settings.instance}/{os.getpid()}"


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def holder_gone(app: App, other: str) -> bool:
    """Whether `other` was this instance (same name: this host and port, or the process
    manager's name) in a process that no longer runs — killed, then restarted here."""
    instance, _, pid = other.rpartition("/")
    return instance == app.settings.instance and pid.isdigit() and not _pid_runs(int(pid))


def take_lease(app: App) -> str:
    """Take the scheduler's lease for this process, or raise WorkerLeaseHeld."""
    holder = lease_holder(app)
    with app.db.transaction() as session:
        held = worker_lease.acquire(
            session, holder, app.clock(), gone=lambda other: holder_gone(app, other)
        )
    if held is not None:
        raise WorkerLeaseHeld(held)
    log.info("scheduler lease taken")
    return holder


async def heartbeat(
    app: App, holder: str, stop: asyncio.Event, every: float = worker_lease.HEARTBEAT_SECONDS
) -> None:
    """Renew the lease's heartbeat until `stop`. If another worker took the lease (after a
    long silence of this one), say so loudly and stop this one: never two schedulers."""

    def beat() -> bool:
        with app.db.transaction() as session:
            return worker_lease.beat(session, holder, app.clock())

    while not stop.is_set():
        try:
            if not await asyncio.to_thread(beat):
                log.error("scheduler lease lost: another worker took it; this one stops")
                stop.set()
                return
        except Exception as exc:  # noqa: BLE001 - the database may be back at the next beat
            log.error("heartbeat failed: %s", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


def worker_duties(app: App, *, holder: str | None = None) -> list[Running]:
    """Return what the one worker runs besides the channels: the scheduler (under the lease,
    with its heartbeat), and the printed counselor notifications when no channel delivers
    them. `holder`: the lease was taken already (under that name)."""

    @asynccontextmanager
    async def scheduler(stop: asyncio.Event) -> AsyncIterator[None]:
        held = holder or take_lease(app)
        beating = asyncio.create_task(heartbeat(app, held, stop), name="heartbeat")
        started = start_scheduler(app)
        try:
            yield
        finally:
            started.shutdown(wait=False)
            beating.cancel()
            with app.db.transaction() as session:
                worker_lease.release(session, held)

    duties: list[Running] = [scheduler]
    if counselors_unserved(app):
        printed = partial(print_counselor_notifications, app)
        duties.append(running_task(printed, "printed counselor notifications"))
    return duties


async def run_as_worker(app: App, runners: list[Runner]) -> None:
    """Run `runners` and the worker's duties until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with AsyncExitStack() as stack:
        for duty in worker_duties(app):
            await stack.enter_async_context(duty(stop))
        await asyncio.gather(stop.wait(), *(runner(stop) for runner in runners))


async def run_worker(app: App) -> None:
    """The Procfile's worker: the scheduler and every channel's sender, until SIGINT/SIGTERM."""
    runners = [
        channel.worker(app, settings) for channel, settings in registry.enabled(app.settings)
    ]
    if app.settings.worker_metrics_port is not None:
        from prometheus_client import start_http_server

        from bot import metrics

        # the worker has no web server: its senders' counters on a port of their own
        start_http_server(
            app.settings.worker_metrics_port, addr=app.settings.host, registry=metrics.REGISTRY
        )
    log.info("worker started: scheduler and senders")
    await run_as_worker(app, runners)


def run_web(app: App, *, with_worker: bool) -> None:
    """Serve the ASGI app with uvicorn on HOST:PORT; `with_worker`: the worker's part too."""
    # the lease is taken before uvicorn starts, so a refusal reaches the command line
    besides = worker_duties(app, holder=take_lease(app)) if with_worker else []
    uvicorn.run(
        web_app(app, with_worker=with_worker, running=besides),
        host=app.settings.host,
        port=app.settings.port,
        log_level=app.settings.log_level.lower(),
        # json: uvicorn's loggers go through ours (one JSON object per line) instead of its own
        log_config=None if app.settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        access_log=False,
        timeout_keep_alive=75,  # Telegram keeps webhook connections open; don't race it
    )


def run_one_process(app: App) -> None:
    """Run every configured channel and the worker here: without a web server when every
    channel can do without one (Telegram's long polling), else the web app with senders."""
    alone = [channel.alone(app, settings) for channel, settings in registry.enabled(app.settings)]
    runners = [runner for runner in alone if runner is not None]
    if len(runners) == len(alone):
        asyncio.run(run_as_worker(app, runners))
    else:
        run_web(app, with_worker=True)
