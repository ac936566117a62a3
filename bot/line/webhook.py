"""LINE's webhook route: the edge check on raw bytes, then the body kept and answered at once.

`x-line-signature` is checked with the SDK's validator on the raw body before anything is
parsed (missing 400, wrong 401), after the size (413); then the JSON (400). A verified body
is stored durably and answered 200 (LINE waits 2 s), then applied in the background. Never
logs a body, a user id or the channel secret.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from linebot.v3.webhook import SignatureValidator
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.edge import MAX_BODY, read_capped

PATH = "/line/webhook"


def route(
    *,
    validator: SignatureValidator,
    store: Callable[[str], Awaitable[Any]],
    submit: Callable[[Any], None],
    answering: Callable[[int], None] | None = None,
) -> Route:
    """Return the webhook route.

    Args:
        validator: the channel secret's signature validator.
        store: keeps a verified body durably (returns once committed).
        submit: applies what `store` returned, in the background.
        answering: told +1 / -1 around each request (answers go before applying).
    """

    async def line_webhook(request: Request) -> Response:
        if answering is None:
            return await line_checked(request)
        answering(1)
        try:
            return await line_checked(request)
        finally:
            answering(-1)

    async def line_checked(request: Request) -> Response:
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
        if not validator.validate(text, signature):
            return PlainTextResponse("invalid signature", status_code=401)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, too deep, or a number too long
            return PlainTextResponse("malformed JSON", status_code=400)
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):  # an odd event inside is recorded, not refused
            return PlainTextResponse("not a webhook body", status_code=400)
        if not events:  # the console's "Verify" button: nothing to keep
            return Response(status_code=200)
        stored = await store(text)
        submit(stored)
        return Response(status_code=200)

    return Route(PATH, line_webhook, methods=["POST"])
