"""Build the bolt AsyncApp: the Web API client on the configured base URL (GovSlack, or a
test fake), bolt's request verification with the signing secret, and the listeners.

Listeners get their context from `bot.slack.context`; nothing may import this module but
the channel's entry points (the route, Socket Mode).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import logs
from bot.app import App
from bot.rendering import Renderer
from bot.slack.context import SlackContext, make_client
from bot.slack.listeners import actions, closures, commands, views
from bot.slack.settings import SlackSettings


def build_slack_app(app: App, settings: SlackSettings) -> tuple[AsyncApp, SlackContext]:
    """Return the bolt app with every listener registered."""
    client = make_client(settings)
    bolt = AsyncApp(
        signing_secret=settings.signing_secret,
        client=client,
        logger=logs.bolt_logger(),
        process_before_response=False,  # ack() answers Slack at once; work goes on after
    )
    context = SlackContext(app, settings, client, Renderer(app.settings.counselor_language))
    actions.register(bolt, context)
    views.register(bolt, context)
    commands.register(bolt, context)
    closures.register(bolt, context)
    return bolt, context
