"""What every Slack listener is given: the app, the settings, the Web API client, a renderer.

Listeners import this module, never `bot.slack.app` (which imports them to register them);
it must never import a listener.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import App
from bot.rendering import Renderer
from bot.slack.settings import SlackSettings

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
