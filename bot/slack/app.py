"""Build the bolt AsyncApp: the Web API client on the configured base URL (GovSlack, or a
test fake), bolt's request verification with the signing secret, and the listeners."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import App
from bot.config import SlackSettings
from bot.rendering import Renderer

MEMBERS_TTL = 300.0


@dataclass
class SlackContext:
    """What every listener needs."""

    app: App
    settings: SlackSettings
    client: AsyncWebClient
    renderer: Renderer
    _members: frozenset[str] = frozenset()
    _members_at: float = field(default=-MEMBERS_TTL)

    async def is_counselor(self, user_id: str) -> bool:
        """Return True for configured counselors (or, with none configured, channel members)."""
        if self.settings.counselor_ids:
            return user_id in self.settings.counselor_ids
        if time.monotonic() - self._members_at > MEMBERS_TTL:
            try:
                answer = await self.client.conversations_members(channel=self.settings.channel_id)
                self._members = frozenset(answer.get("members", []))
                self._members_at = time.monotonic()
            except SlackApiError:
                return user_id in self._members
        return user_id in self._members

    async def in_thread(self, function, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run blocking storage work off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)


def make_client(settings: SlackSettings) -> AsyncWebClient:
    """Return a Web API client for the configured base URL."""
    return AsyncWebClient(token=settings.bot_token, base_url=settings.api_base_url)


def build_slack_app(app: App, settings: SlackSettings) -> tuple[AsyncApp, SlackContext]:
    """Return the bolt app with every listener registered."""
    from bot.slack.listeners import actions, commands, views

    client = make_client(settings)
    bolt = AsyncApp(
        signing_secret=settings.signing_secret,
        client=client,
        process_before_response=False,  # ack() answers Slack at once; work goes on after
    )
    context = SlackContext(app, settings, client, Renderer(app.settings.counselor_language))
    actions.register(bolt, context)
    views.register(bolt, context)
    commands.register(bolt, context)
    return bolt, context
