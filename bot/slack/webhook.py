"""Slack's HTTP route (`/slack/events`): the size checked here, then bolt.

bolt's middleware verifies the signature and timestamp on the raw body (401 before any
listener runs). This module never parses a body and never decides anything.
"""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.edge import MAX_BODY

PATH = "/slack/events"


def route(bolt: AsyncApp) -> Route:
    """Return the route handing verified-size requests to the bolt app."""
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if (
            declared is None
            or not (declared.isascii() and declared.isdigit())
            or int(declared) > MAX_BODY
        ):
            return PlainTextResponse("too large", status_code=413)
        return await handler.handle(request)

    return Route(PATH, slack_events, methods=["POST"])
