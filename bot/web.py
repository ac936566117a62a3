"""The ASGI `web` process: messenger webhooks (Telegram, LINE), each on its own path.

Every request is checked at the edge on raw bytes before anything is parsed: the secret
(constant-time) or signature, the body size, the JSON. Telegram's update is handled in a
thread (the storage layer is synchronous) and answered 200 once committed; a LINE body is
stored in the inbox and answered 200 at once (LINE waits 2 s), then applied in the
background. Nothing here logs a body, a user id or a secret.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from linebot.v3.webhook import SignatureValidator
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot

from bot.app import App
from bot.telegram import apply

log = logging.getLogger("madoguchi.web")

MAX_BODY = 256 * 1024
TELEGRAM_PATH = "/telegram/webhook"
LINE_PATH = "/line/webhook"


@dataclass
class TelegramWebhook:
    """What the Telegram route needs."""

    bot: Bot
    secret: str
    on_update: Callable[[], None] | None = None  # e.g. wake an in-process sender


@dataclass
class LineWebhook:
    """What the LINE route needs: the channel secret's validator, and where bodies go."""

    validator: SignatureValidator
    store: Callable[[str], Awaitable[Any]]  # keep a verified body durably (committed)
    submit: Callable[[Any], None]  # apply what `store` returned, in the background
    answering: Callable[[int], None] | None = None  # +1 / -1 around each request


async def read_capped(request: Request, limit: int) -> bytes | None:
    """Return the body, or None as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


SLACK_PATH = "/slack/events"


def create_web_app(
    app: App,
    *,
    telegram: TelegramWebhook | None = None,
    slack: Any = None,
    line: LineWebhook | None = None,
    lifespan: Callable[[Starlette], AsyncIterator[None]] | None = None,
) -> Starlette:
    """Return the ASGI application with a route per configured channel.

    `slack` is a bolt AsyncApp: its middleware verifies the signature and timestamp on the
    raw body (401 before any listener runs); only the size is checked here first.
    """
    slack_handler = None
    if slack is not None:
        from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

        slack_handler = AsyncSlackRequestHandler(slack)

    async def slack_events(request: Request) -> Response:
        assert slack_handler is not None
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit() or int(declared) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        return await slack_handler.handle(request)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def telegram_webhook(request: Request) -> Response:
        assert telegram is not None
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode("utf-8"), telegram.secret.encode("utf-8")):
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
            update = apply.parse(data, telegram.bot)
        except Exception:  # noqa: BLE001 - authenticated but unreadable: record, answer 200
            log.warning("update %s could not be parsed", data["update_id"])
            await run_in_threadpool(apply.record_unreadable, app, data["update_id"])
            return Response(status_code=200)
        callback_id = await run_in_threadpool(apply.process, app, update)
        if telegram.on_update is not None:
            telegram.on_update()
        if callback_id:  # answer the button within the webhook response: no extra call
            return JSONResponse({"method": "answerCallbackQuery", "callback_query_id": callback_id})
        return Response(status_code=200)

    async def line_webhook(request: Request) -> Response:
        assert line is not None
        if line.answering is None:
            return await line_checked(request)
        line.answering(1)
        try:
            return await line_checked(request)
        finally:
            line.answering(-1)

    async def line_checked(request: Request) -> Response:
        assert line is not None
        signature = request.headers.get("x-line-signature", "")
        if not signature:
            return PlainTextResponse("missing signature", status_code=400)
        body = await read_capped(request, MAX_BODY)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        try:
            text = body.decode("utf-8")  # LINE signs UTF-8 JSON; other bytes cannot be its
        except UnicodeDecodeError:
            return PlainTextResponse("invalid signature", status_code=401)
        if not line.validator.validate(text, signature):
            return PlainTextResponse("invalid signature", status_code=401)
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return PlainTextResponse("malformed JSON", status_code=400)
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            return PlainTextResponse("not a webhook body", status_code=400)
        if not events:  # the console's "Verify" button: nothing to keep
            return Response(status_code=200)
        stored = await line.store(text)
        line.submit(stored)
        return Response(status_code=200)

    routes = [Route("/healthz", health)]
    if telegram is not None:
        routes.append(Route(TELEGRAM_PATH, telegram_webhook, methods=["POST"]))
    if slack_handler is not None:
        routes.append(Route(SLACK_PATH, slack_events, methods=["POST"]))
    if line is not None:
        routes.append(Route(LINE_PATH, line_webhook, methods=["POST"]))
    return Starlette(routes=routes, lifespan=asynccontextmanager(lifespan) if lifespan else None)
