"""Run the configured channels: the web process, the worker, or everything in one process.

`madoguchi` alone runs all in one process (webhooks or polling, and the senders). With the
Procfile, `web` serves webhooks (and Slack) and applies LINE's inbox, and `worker` runs the
scheduler and the senders, so N web processes share one sender per channel that alone keeps
the platform's rate limits, and there is exactly one scheduler.
Each channel's own parts live in `bot/<channel>/runner.py`, imported only when configured.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack

import uvicorn
from starlette.applications import Starlette

from bot import counselors
from bot.app import App
from bot.web import create_web_app

log = logging.getLogger("madoguchi.runner")


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGINT and SIGTERM."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass


async def counselor_sink(app: App, stop: asyncio.Event, every: float = 1.0) -> None:
    """Deliver counselor notifications: to Slack when configured, else printed and logged."""
    if app.settings.slack is not None:
        from bot.slack.context import make_client
        from bot.slack.sender import SlackSender

        slack = app.settings.slack
        await SlackSender(
            app.db, app.vault, make_client(slack), channel=slack.channel_id,
            language=app.settings.counselor_language, clock=app.clock, office_code=app.settings.office,
        ).run(stop)
        return
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


def start_scheduler(app: App):  # type: ignore[no-untyped-def]
    """Start this deployment's one scheduler (reminders, hold expiry, retention, digest)."""
    from bot.worker import build_scheduler

    scheduler = build_scheduler(app)
    scheduler.start()
    return scheduler


async def run_worker(app: App) -> None:
    """The Procfile's worker: the scheduler and every channel's sender, until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    tasks: list[Awaitable[None]] = [counselor_sink(app, stop)]
    if app.settings.telegram is not None:
        from bot.telegram import runner as telegram_runner

        tasks.append(telegram_runner.deliver(app, stop))
    if app.settings.line is not None:
        from bot.line import runner as line_runner

        tasks.append(line_runner.deliver(app, stop))
    slack = app.settings.slack
    if slack is not None and slack.app_token:
        tasks.append(slack_socket_mode(app, stop))
    scheduler = start_scheduler(app)
    log.info("worker started: scheduler and senders")
    try:
        await asyncio.gather(*tasks)
    finally:
        scheduler.shutdown(wait=False)


async def slack_socket_mode(app: App, stop: asyncio.Event) -> None:
    """Receive Slack's interactions over Socket Mode (an office without a public endpoint).

    The same bolt app and listeners as `/slack/events`; Slack authenticates the connection
    with the app-level token instead of signing each request.
    """
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.slack.app import build_slack_app

    assert app.settings.slack is not None
    bolt, context = build_slack_app(app, app.settings.slack)
    handler = AsyncSocketModeHandler(bolt, app_token=app.settings.slack.app_token, web_client=context.client)
    await handler.connect_async()
    log.info("Slack Socket Mode connected")
    try:
        await stop.wait()
    finally:
        await handler.close_async()


def web_app(app: App, *, with_sender: bool) -> Starlette:
    """Return the ASGI app with each configured channel's route and background work."""
    channels = []
    hooks = {}
    telegram = app.settings.telegram
    if telegram is not None and (telegram.uses_webhook or with_sender):
        from bot.telegram.runner import TelegramChannel

        channels.append(TelegramChannel(app, with_sender=with_sender))
        hooks["telegram"] = channels[-1].hook
    if app.settings.line is not None:
        from bot.line.runner import LineChannel

        channels.append(LineChannel(app, with_sender=with_sender))
        hooks["line"] = channels[-1].hook
    slack = None
    if app.settings.slack is not None:
        from bot.slack.app import build_slack_app

        slack = build_slack_app(app, app.settings.slack)[0]
    if not channels:
        return create_web_app(app, slack=slack)

    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            for channel in channels:
                await stack.enter_async_context(channel.running(stop))
            sink = asyncio.create_task(counselor_sink(app, stop)) if with_sender else None
            scheduler = start_scheduler(app) if with_sender else None  # one process: the worker
            yield
            stop.set()
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            if sink is not None:
                await sink

    return create_web_app(app, lifespan=lifespan, slack=slack, **hooks)


def run_web(app: App, *, with_sender: bool) -> None:
    """Serve the ASGI app with uvicorn on HOST:PORT."""
    uvicorn.run(
        web_app(app, with_sender=with_sender),
        host=app.settings.host,
        port=app.settings.port,
        log_level=app.settings.log_level.lower(),
        access_log=False,
        timeout_keep_alive=75,  # Telegram keeps webhook connections open; don't race it
    )
