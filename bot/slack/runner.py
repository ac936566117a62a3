"""Slack's running parts (counselors): the notification sender, and Socket Mode when the
office has no public endpoint.

Wired by `bot/slack/channel.py`; this module never reads the environment and never names
another channel.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import App
from bot.slack.app import build_slack_app
from bot.slack.context import make_client
from bot.slack.sender import SlackSender
from bot.slack.settings import SlackSettings

log = logging.getLogger("madoguchi.slack.runner")


async def deliver(app: App, settings: SlackSettings, stop: asyncio.Event) -> None:
    """Post counselor notifications to the channel until `stop` is set."""
    await SlackSender(
        app.db,
        app.vault,
        make_client(settings),
        channel=settings.channel_id,
        language=app.settings.counselor_language,
        clock=app.clock,
        office_code=app.settings.office,
    ).run(stop)


async def socket_mode(app: App, settings: SlackSettings, stop: asyncio.Event) -> None:
    """Receive Slack's interactions over Socket Mode (an office without a public endpoint).

    The same bolt app and listeners as `/slack/events`; Slack authenticates the connection
    with the app-level token instead of signing each request.
    """
    bolt, context = build_slack_app(app, settings)
    handler = AsyncSocketModeHandler(bolt, app_token=settings.app_token, web_client=context.client)
    await handler.connect_async()
    log.info("Slack Socket Mode connected")
    try:
        await stop.wait()
    finally:
        await handler.close_async()


async def work(app: App, settings: SlackSettings, stop: asyncio.Event) -> None:
    """The worker's part: the sender, and Socket Mode when SLACK_APP_TOKEN is set."""
    parts = [deliver(app, settings, stop)]
    if settings.app_token:
        parts.append(socket_mode(app, settings, stop))
    await asyncio.gather(*parts)
