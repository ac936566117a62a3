"""Slack's HTTP route (`/slack/events`): the size and the timestamp's form checked here,
then bolt.

bolt's middleware verifies the signature and timestamp on the raw body (401 before any
listener runs); a timestamp that is not a plain number ("abc", "1e10", "1.5") would make it
raise instead, so it is refused here with the same 401. This module never parses a body
and never decides anything.
"""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.edge import MAX_BODY

PATH = "/slack/events"


def plain_timestamp(value: str) -> bool:
    """Return True when a request timestamp is whole seconds in ASCII digits, as Slack
    sends it (at most 12 digits: a longer one is far outside the 300 s window anyway)."""
    return value.isascii() and value.isdigit() and len(value) <= 12


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
        if not plain_timestamp(request.headers.get("x-slack-request-timestamp", "")):
            return JSONResponse({"error": "invalid request"}, status_code=401)  # as bolt's
        return await handler.handle(request)

    return Route(PATH, slack_events, methods=["POST"])
