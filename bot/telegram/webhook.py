"""Telegram's webhook route: the edge check, then the update applied and answered.

The secret token is compared in constant time (403) before the body is read; then the size
(413) and the JSON (400) are checked. The update is handled in a thread (the storage layer is
synchronous) and answered 200 once committed; an authenticated update of any unexpected
shape is answered 200 too, and recorded as failed, never 500 (Telegram would resend it
for hours). Never logs a body, a chat id or the secret.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot

from bot.app import App
from bot.channels.edge import MAX_BODY, read_capped
from bot.telegram import apply

PATH = "/telegram/webhook"


def route(
    app: App, bot: Bot, *, secret: str, on_update: Callable[[], None] | None = None
) -> Route:
    """Return the webhook route; `on_update` runs after each handled update (wake a sender)."""

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8")):
            return PlainTextResponse("forbidden", status_code=403)
        body = await read_capped(request, MAX_BODY)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return PlainTextResponse("malformed JSON", status_code=400)
        except (ValueError, RecursionError):  # JSON, but too deep or a number too long
            data = None  # an update of an unexpected shape: recorded below, answered 200
        callback_id = await run_in_threadpool(apply.handle, app, data, bot)
        if on_update is not None:
            on_update()
        if callback_id:  # answer the button within the webhook response: no extra call
            return JSONResponse(
                {"method": "answerCallbackQuery", "callback_query_id": callback_id}
            )
        return Response(status_code=200)

    return Route(PATH, telegram_webhook, methods=["POST"])
