"""Telegram's webhook route: the edge check, then the update applied and answered.

The secret token is compared in constant time (403) before the body is read; then the size
(413) and the JSON (400) are checked. The update is handled in a thread (the storage layer is
synchronous) and answered 200 once committed. Never logs a body, a chat id or the secret.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot

from bot.app import App
from bot.channels.edge import MAX_BODY, read_capped
from bot.telegram import apply

log = logging.getLogger("madoguchi.telegram.webhook")

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
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return PlainTextResponse("not an update", status_code=400)
        try:
            update = apply.parse(data, bot)
        except Exception:  # noqa: BLE001 - authenticated but unreadable: record, answer 200
            log.warning("update %s could not be parsed", data["update_id"])
            await run_in_threadpool(apply.record_unreadable, app, data["update_id"])
            return Response(status_code=200)
        callback_id = await run_in_threadpool(apply.process, app, update)
        if on_update is not None:
            on_update()
        if callback_id:  # answer the button within the webhook response: no extra call
            return JSONResponse(
                {"method": "answerCallbackQuery", "callback_query_id": callback_id}
            )
        return Response(status_code=200)

    return Route(PATH, telegram_webhook, methods=["POST"])
