"""A fake LINE Messaging API server for tests and benchmarks, spoken to over real HTTP.

It runs starlette on uvicorn in a daemon thread on 127.0.0.1 so the real line-bot-sdk client
can use it (`Configuration(host=fake.url)`). It records every reply and push per user,
enforces LINE's limits (reply tokens single-use and short-lived: a used, expired or unknown
one answers 400 `Invalid reply token`; at most 5 messages, quick reply at most 13 items,
text within 5,000 UTF-16 units, labels and postback data within theirs), answers 409 to a
push whose X-Line-Retry-Key it accepted before, and can be told to answer 429 or 5xx
(taking nothing), or to take a reply or a push and answer too late (a timeout). Also here:
builders of webhook events and the signature LINE puts on a webhook body.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import ServedApp

JSONDict = dict[str, Any]

ACCESS_TOKEN = "test-line-access-token"
CHANNEL_SECRET = "test-line-channel-secret"
MAX_MESSAGES = 5
MAX_TEXT_UNITS = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL = 20
MAX_POSTBACK_DATA = 300
REPLY_TOKEN_SECONDS = 60.0

_event_ids = itertools.count(1)
_message_ids = itertools.count(1)


def utf16_units(text: str) -> int:
    """Return the length of a text in UTF-16 code units, as LINE counts."""
    return len(text.encode("utf-16-le")) // 2


def sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    """Return the x-line-signature LINE puts on `body`: base64(HMAC-SHA256(secret, body))."""
    return base64.b64encode(
        hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    ).decode()


@dataclass(frozen=True)
class Delivery:
    """Messages the fake showed to one user, by one request."""

    kind: str  # "reply" or "push"
    user: str
    messages: list[JSONDict]
    retry_key: str | None
    at: float


@dataclass(frozen=True)
class Call:
    """One request the fake answered."""

    endpoint: str  # "reply" or "push"
    status: int
    retry_key: str | None
    at: float


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeLine(ServedApp):
    """A fake Messaging API for one channel. Use ``async with`` (served in the test's event
    loop) or ``with`` (served in a thread).

    Args:
        access_token: The channel access token it accepts (Bearer).
        reply_token_seconds: How long an issued reply token stays valid.
        latency: Seconds every answer waits (to look like a real network).
    """

    def __init__(
        self,
        *,
        access_token: str = ACCESS_TOKEN,
        reply_token_seconds: float = REPLY_TOKEN_SECONDS,
        latency: float = 0.0,
    ) -> None:
        self.access_token = access_token
        self.reply_token_seconds = reply_token_seconds
        self.latency = latency
        self.port = 0
        self._lock = threading.RLock()
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (user, issued at)
        self._used_tokens: set[str] = set()
        self._accepted_keys: dict[str, str] = {}  # retry key -> request id
        self._deliveries: list[Delivery] = []
        self._calls: list[Call] = []
        self._failures: dict[str, deque[int]] = {"reply": deque(), "push": deque()}
        self._slow: dict[str, deque[float]] = {"reply": deque(), "push": deque()}
        self.bot_info: JSONDict = {
            "userId": "Ubot0000000000000000000000000000",
            "basicId": "@123abcde",
            "displayName": "Madoguchi (test)",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
        """What GET /v2/bot/info answers."""
        self.webhook: JSONDict = {"endpoint": "", "active": False}
        """What GET /v2/bot/channel/webhook/endpoint answers (set in the console)."""
        self._app = Starlette(
            routes=[
                Route("/v2/bot/message/reply", self._reply, methods=["POST"]),
                Route("/v2/bot/message/push", self._push, methods=["POST"]),
                Route("/v2/bot/info", self._bot_info, methods=["GET"]),
                Route("/v2/bot/channel/webhook/endpoint", self._webhook_endpoint, methods=["GET"]),
            ]
        )

    # -- lifecycle ---------------------------------------------------------------------------

    _name = "fake-line"

    @property
    def url(self) -> str:
        """The base URL to give line-bot-sdk's Configuration(host=...)."""
        return f"http://127.0.0.1:{self.port}"

    # -- what tests set up and look at -------------------------------------------------------

    def issue_reply_token(self, user: str) -> str:
        """Return a new reply token for an event of `user`, as LINE puts in a webhook."""
        token = uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = (user, time.monotonic())
        return token

    def expire_reply_tokens(self) -> None:
        """Make every reply token issued so far too old."""
        with self._lock:
            self._tokens = {t: (u, 0.0) for t, (u, _) in self._tokens.items()}

    def fail_next(self, endpoint: str, *, status: int, count: int = 1) -> None:
        """Make the next `count` requests of "reply" or "push" answer `status`, untouched."""
        with self._lock:
            self._failures[endpoint].extend([status] * count)

    def answer_late(self, endpoint: str, seconds: float) -> None:
        """Take the next request of an endpoint (deliver it) but answer after `seconds`."""
        with self._lock:
            self._slow[endpoint].append(seconds)

    def messages(self, user: str) -> list[JSONDict]:
        """Every message the user was shown, in order (copies)."""
        with self._lock:
            return [
                copy.deepcopy(m) for d in self._deliveries if d.user == user for m in d.messages
            ]

    def deliveries(self, user: str | None = None) -> list[Delivery]:
        """The accepted requests (all, or of one user), in order."""
        with self._lock:
            return [d for d in self._deliveries if user is None or d.user == user]

    @property
    def calls(self) -> list[Call]:
        """Every request answered, in order."""
        with self._lock:
            return list(self._calls)

    # -- the API -----------------------------------------------------------------------------

    async def _bot_info(self, request: Request) -> Response:
        return self._read_only(request, self.bot_info)

    async def _webhook_endpoint(self, request: Request) -> Response:
        return self._read_only(request, self.webhook)

    def _read_only(self, request: Request, answer: JSONDict) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return JSONResponse(
                {"message": "Authentication failed due to the following reason: invalid token."},
                status_code=401,
            )
        with self._lock:
            return JSONResponse(copy.deepcopy(answer))

    async def _reply(self, request: Request) -> Response:
        return await self._answer(request, "reply")

    async def _push(self, request: Request) -> Response:
        return await self._answer(request, "push")

    async def _answer(self, request: Request, endpoint: str) -> Response:
        at = time.monotonic()
        key = request.headers.get("x-line-retry-key")
        headers: dict[str, str] = {"x-line-request-id": uuid.uuid4().hex}
        late = 0.0
        try:
            if request.headers.get("authorization") != f"Bearer {self.access_token}":
                raise _Refused(
                    401, "Authentication failed due to the following reason: invalid token."
                )
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise _Refused(400, "The request body has 1 error(s)") from None
            with self._lock:
                if self._failures[endpoint]:
                    status = self._failures[endpoint].popleft()
                    raise _Refused(
                        status, "Too Many Requests" if status == 429 else "Internal error"
                    )
                messages = _check_messages(body.get("messages"))
                if endpoint == "reply":
                    user = self._use_reply_token(body.get("replyToken"))
                else:
                    user = body.get("to")
                    if not isinstance(user, str) or not user.startswith("U"):
                        raise _Refused(400, "The property, 'to', in the request body is invalid")
                    if key is not None:
                        _check_retry_key(key)
                        if key in self._accepted_keys:
                            headers["x-line-accepted-request-id"] = self._accepted_keys[key]
                            raise _Refused(409, "The retry key is already accepted")
                        self._accepted_keys[key] = headers["x-line-request-id"]
                self._deliveries.append(Delivery(endpoint, user, messages, key, at))
                if self._slow[endpoint]:
                    late = self._slow[endpoint].popleft()
            status, answer = (
                200,
                {"sentMessages": [{"id": str(next(_message_ids))} for _ in messages]},
            )
        except _Refused as refused:
            status, answer = refused.status, {"message": refused.message}
        await asyncio.sleep(self.latency + late)
        with self._lock:
            self._calls.append(Call(endpoint, status, key, at))
        return JSONResponse(answer, status_code=status, headers=headers)

    def _use_reply_token(self, token: Any) -> str:
        issued = self._tokens.get(token) if isinstance(token, str) else None
        if issued is None or token in self._used_tokens:
            raise _Refused(400, "Invalid reply token")
        user, at = issued
        if time.monotonic() - at > self.reply_token_seconds:
            raise _Refused(400, "Invalid reply token")
        self._used_tokens.add(token)
        return user


def _check_retry_key(key: str) -> None:
    try:
        uuid.UUID(key)
    except ValueError:
        raise _Refused(400, "The value of the X-Line-Retry-Key header is invalid") from None


def _check_messages(messages: Any) -> list[JSONDict]:
    """Refuse messages LINE would refuse: count, text length, quick reply and its actions."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        raise _Refused(400, "Size must be between 1 and 5")
    for message in messages:
        if not isinstance(message, dict) or message.get("type") != "text":
            raise _Refused(400, "This fake takes text messages only")
        text = message.get("text")
        if not isinstance(text, str) or not text or utf16_units(text) > MAX_TEXT_UNITS:
            raise _Refused(400, "Length must be between 1 and 5000")
        items = (message.get("quickReply") or {}).get("items", [])
        if len(items) > MAX_QUICK_REPLY_ITEMS:
            raise _Refused(400, "Size must be between 0 and 13")
        for item in items:
            action = item.get("action") or {}
            label = action.get("label")
            if not isinstance(label, str) or not 1 <= utf16_units(label) <= MAX_LABEL:
                raise _Refused(400, "Length must be between 1 and 20 (label)")
            data = action.get("data")
            if action.get("type") != "postback" or not isinstance(data, str):
                raise _Refused(400, "This fake takes postback actions only")
            if not 1 <= len(data) <= MAX_POSTBACK_DATA:
                raise _Refused(400, "Length must be between 1 and 300 (data)")
            if len(action.get("displayText") or "") > 300:
                raise _Refused(400, "Length must be between 0 and 300 (displayText)")
    return copy.deepcopy(messages)


# -- webhook bodies ----------------------------------------------------------------------------


def _base(
    user: str, kind: str, *, reply_token: str | None, event_id: str | None, redelivery: bool
) -> JSONDict:
    event: JSONDict = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id or f"01TEST{next(_event_ids):020d}",
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    return event


def text_event(
    user: str,
    text: str,
    *,
    reply_token: str | None = None,
    event_id: str | None = None,
    redelivery: bool = False,
) -> JSONDict:
    """Build a webhook event of a user's text message."""
    event = _base(
        user, "message", reply_token=reply_token, event_id=event_id, redelivery=redelivery
    )
    event["message"] = {
        "type": "text",
        "id": str(next(_message_ids)),
        "quoteToken": "q",
        "text": text,
    }
    return event


def postback_event(
    user: str,
    data: str,
    *,
    reply_token: str | None = None,
    event_id: str | None = None,
    redelivery: bool = False,
) -> JSONDict:
    """Build a webhook event of a user tapping a postback button."""
    event = _base(
        user, "postback", reply_token=reply_token, event_id=event_id, redelivery=redelivery
    )
    event["postback"] = {"data": data}
    return event


def follow_event(
    user: str, *, reply_token: str | None = None, event_id: str | None = None
) -> JSONDict:
    """Build a webhook event of a user adding the account as a friend."""
    event = _base(user, "follow", reply_token=reply_token, event_id=event_id, redelivery=False)
    event["follow"] = {"isUnblocked": False}
    return event


def unfollow_event(user: str, *, event_id: str | None = None) -> JSONDict:
    """Build a webhook event of a user blocking the account (no reply token)."""
    return _base(user, "unfollow", reply_token=None, event_id=event_id, redelivery=False)


def webhook_body(
    *events: JSONDict, destination: str = "Ubot0000000000000000000000000000"
) -> bytes:
    """Return the bytes of a webhook request carrying `events`, as LINE serialises it."""
    return json.dumps(
        {"destination": destination, "events": list(events)},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
