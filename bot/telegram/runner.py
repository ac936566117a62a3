"""Run Telegram: long polling (default) or the webhook server, with the sender.

`madoguchi` runs everything in one process: polling or webhook, and the sender. With the
Procfile, `web` serves webhooks only and `worker` runs the sender, so N web processes
share one sender that alone keeps Telegram's rate limits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from bot import counselors
from bot.app import App
from bot.telegram.polling import ALLOWED_UPDATES, poll
from bot.telegram.sender import TelegramSender
from bot.telegram.setup import make_bot, register_commands
from bot.web import TELEGRAM_PATH, TelegramWebhook, create_web_app
from bot.worker import build_scheduler

log = logging.getLogger("madoguchi.telegram.runner")


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass


async def counselor_sink(app: App, stop: asyncio.Event, every: float = 1.0) -> None:
    """Deliver counselor notifications: to Slack when configured, else printed and logged."""
    import sys

    if app.settings.slack is not None:
        from bot.slack.app import make_client
        from bot.slack.sender import SlackSender

        slack = app.settings.slack
        await SlackSender(
            app.db, app.vault, make_client(slack), channel=slack.channel_id,
            language=app.settings.counselor_language, clock=app.clock, office_code=app.settings.office,
        ).run(stop)
        return
    while not stop.is_set():
        await asyncio.to_thread(
            counselors.deliver, app.db, app.vault, language=app.settings.counselor_language,
            out=sys.stderr, now=app.clock,
        )
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


def _sender(app: App, bot) -> TelegramSender:  # type: ignore[no-untyped-def]
    assert app.settings.telegram is not None
    return TelegramSender(app.db, bot, clock=app.clock, per_second=app.settings.telegram.per_second)


async def run_polling(app: App) -> None:
    """Poll for updates and deliver replies until SIGINT/SIGTERM."""
    settings = app.settings.telegram
    assert settings is not None
    bot = make_bot(settings.token, settings.api_base_url)
    async with bot:
        await bot.delete_webhook()
        await register_commands(bot)
        stop = asyncio.Event()
        _stop_on_signals(stop)
        sender = _sender(app, bot)
        loop = asyncio.get_running_loop()
        scheduler = build_scheduler(app, wake=lambda: loop.call_soon_threadsafe(sender.wake.set))
        scheduler.start()  # single-process mode: this process is the one worker
        log.info("Telegram long polling started")
        try:
            await asyncio.gather(poll(app, bot, sender, stop), sender.run(stop), counselor_sink(app, stop))
        finally:
            scheduler.shutdown(wait=False)


async def run_worker(app: App) -> None:
    """The Procfile's worker: the scheduler and the outbox senders, until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    _stop_on_signals(stop)
    tasks = [counselor_sink(app, stop)]
    wake = None
    if app.settings.telegram is not None:
        settings = app.settings.telegram
        bot = make_bot(settings.token, settings.api_base_url)
        await bot.initialize()
        sender = _sender(app, bot)
        loop = asyncio.get_running_loop()
        wake = lambda: loop.call_soon_threadsafe(sender.wake.set)  # noqa: E731
        tasks.append(sender.run(stop))
    scheduler = build_scheduler(app, wake=wake)
    scheduler.start()
    log.info("worker started: scheduler and senders")
    try:
        await asyncio.gather(*tasks)
    finally:
        scheduler.shutdown(wait=False)


def _slack_app(app: App):  # type: ignore[no-untyped-def]
    if app.settings.slack is None:
        return None
    from bot.slack.app import build_slack_app

    return build_slack_app(app, app.settings.slack)[0]


def web_app(app: App, *, with_sender: bool) -> Starlette:
    """Return the ASGI app; registers the webhook at start, runs the sender if asked."""
    settings = app.settings.telegram
    if settings is None or not settings.uses_webhook:
        return create_web_app(app, slack=_slack_app(app))
    bot = make_bot(settings.token, settings.api_base_url)
    sender = _sender(app, bot) if with_sender else None
    hook = TelegramWebhook(bot=bot, secret=settings.webhook_secret, on_update=sender.wake.set if sender else None)

    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await bot.initialize()
        await bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            max_connections=settings.max_connections,
            allowed_updates=ALLOWED_UPDATES,
        )
        await register_commands(bot)
        stop = asyncio.Event()
        background = []
        scheduler = None
        if sender is not None:  # single-process mode: this process is the one worker
            background = [asyncio.create_task(sender.run(stop)), asyncio.create_task(counselor_sink(app, stop))]
            loop = asyncio.get_running_loop()
            scheduler = build_scheduler(app, wake=lambda: loop.call_soon_threadsafe(sender.wake.set))
            scheduler.start()
        log.info("Telegram webhook registered at %s", TELEGRAM_PATH)
        yield
        stop.set()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await asyncio.gather(*background, return_exceptions=True)
        await bot.shutdown()

    return create_web_app(app, telegram=hook, slack=_slack_app(app), lifespan=lifespan)


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
