"""A fake Slack Web API server for tests, spoken to over real HTTP.

It runs starlette on uvicorn in a daemon thread so the real ``slack_sdk`` ``AsyncWebClient`` (and
slack-bolt on top of it) can use it, records every call, keeps the channels as a user would see
them, takes the POSTs bolt's ``respond()`` sends to a ``response_url`` and enforces Slack's
one-message-per-second-per-channel limit of chat.postMessage.

How slack_sdk talks to it: every method is ``/api/<method>`` with ``Authorization: Bearer``;
chat.* and views.* send a JSON body, auth.test a POST with its arguments in the query string,
conversations.members / conversations.info / users.info a GET with query parameters.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.server import ServedApp

JSONDict = dict[str, Any]

TEAM_ID = "T1"
TEAM_DOMAIN = "test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A1"
VERIFICATION_TOKEN = "verification-token"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_LENGTH = 40_000
MAX_SECTION_TEXT = 3000
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_TITLE = 24

_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)

# Form-encoded requests carry these as JSON strings; they are decoded (JSON bodies have objects).
_JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata"})

_view_numbers = itertools.count(1)


@dataclass(frozen=True)
class Call:
    """One request to ``/api/<method>`` the fake answered.

    Attributes:
        method: The Web API method as requested (``"chat.postMessage"``).
        params: The decoded parameters: query string plus body (form-encoded or JSON); form
            values ``blocks``, ``attachments``, ``view`` and ``metadata`` JSON-decoded.
        at: ``time.monotonic()`` when the request arrived.
        status: The HTTP status of the answer (200 also for ``{"ok": false}`` answers).
        headers: The request headers, names in lower case (``headers["authorization"]``).
    """

    method: str
    params: dict[str, Any]
    at: float
    status: int
    headers: dict[str, str]


class _SlackError(Exception):
    """An ``{"ok": false}`` answer (HTTP 200 unless told otherwise)."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        messages: list[str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.messages = messages or []

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error": self.error}
        if self.messages:
            body["errors"] = list(self.messages)
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


def _ratelimited(retry_after: int) -> _SlackError:
    return _SlackError("ratelimited", status=429, retry_after=retry_after)


class FakeSlack(ServedApp):
    """A fake Slack Web API for one bot; use ``AsyncWebClient(token, base_url=fake.base_url)``.

    Use it with ``async with`` (served in the test's event loop) or ``with`` (served in a
    thread; or call :meth:`start` and :meth:`stop`). Everything it keeps is guarded by one
    lock, so tests may read it while the server answers requests.

    Args:
        token: The bot token the server accepts; another gets ``invalid_auth``, none
            ``not_authed``.
        per_channel_per_second: chat.postMessage calls allowed per channel in any 1-second
            window (below 1, one per ``1 / per_channel_per_second`` seconds).
        enforce_limits: Whether to answer 429 when that limit is exceeded.
        members: Channel id -> member user ids, for conversations.members (a channel not in it
            is ``channel_not_found``) and chat.postEphemeral (``user_not_in_channel``).
    """

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        per_channel_per_second: float = 1.0,
        enforce_limits: bool = True,
        members: dict[str, list[str]] | None = None,
    ) -> None:
        if per_channel_per_second <= 0:
            raise ValueError("per_channel_per_second must be positive")
        self.token = token
        self.per_channel_per_second = per_channel_per_second
        self.enforce_limits = enforce_limits
        self.members: dict[str, list[str]] = {k: list(v) for k, v in (members or {}).items()}
        self.port = 0

        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._call_ok: list[bool] = []  # per call: whether the answer said "ok": true
        self._count_429 = 0
        self._failures: dict[str, deque[tuple[int, int, str | None]]] = {}
        self._messages: dict[str, dict[str, JSONDict]] = {}
        self._ephemerals: list[JSONDict] = []
        self._views: list[JSONDict] = []
        self._open_views: dict[str, JSONDict] = {}
        self._responses: list[JSONDict] = []
        self._channel_windows: dict[str, deque[float]] = {}
        self._last_ts_micros = 0
        self._block_ids = itertools.count(1)

        self._methods: dict[str, Callable[[JSONDict], JSONDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
        }

        self._app = Starlette(
            routes=[
                Route("/api/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/response/{id}", self._response_endpoint, methods=["POST"]),
            ]
        )

    # -- lifecycle -------------------------------------------------------------------------

    _name = "fake-slack"

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``AsyncWebClient`` (with its trailing slash)."""
        return f"http://127.0.0.1:{self._running_port()}/api/"

    def response_url(self, id: str) -> str:
        """A ``response_url`` for interaction payloads; POSTs to it land in :attr:`responses`."""
        return f"http://127.0.0.1:{self._running_port()}/response/{id}"

    def _running_port(self) -> int:
        if not self.port:
            raise RuntimeError("the fake Slack server has not been started")
        return self.port

    # -- what tests look at ----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every API request answered so far (a snapshot), in the order the answers were given."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The successful calls (HTTP 200 and ``"ok": true``) of one method, in order."""
        with self._lock:
            return [
                call
                for call, ok in zip(self._calls, self._call_ok, strict=True)
                if call.method == method and call.status == 200 and ok
            ]

    def messages(self, channel: str) -> list[JSONDict]:
        """The bot's messages in a channel as it shows them now (copies), in posting order.

        Each has ``type``, ``user``, ``bot_id``, ``ts``, ``channel``, ``text`` and ``blocks``
        (``[]`` when posted without; blocks get a ``block_id`` when they had none, as Slack
        assigns), plus ``thread_ts`` for thread replies; chat.update is applied.
        """
        with self._lock:
            return [
                {**copy.deepcopy(m), "channel": channel}
                for m in self._messages.get(channel, {}).values()
            ]

    @property
    def ephemerals(self) -> list[JSONDict]:
        """The chat.postEphemeral calls: channel, user, text, blocks and message_ts (copies)."""
        with self._lock:
            return copy.deepcopy(self._ephemerals)

    @property
    def views(self) -> list[JSONDict]:
        """The views.open / views.update / views.push requests (copies), in order.

        Each is the request's parameters (``trigger_id``, ``view``, ...) plus ``method`` and
        ``view_id``: the id of the view opened, pushed or updated.
        """
        with self._lock:
            return copy.deepcopy(self._views)

    @property
    def responses(self) -> list[JSONDict]:
        """The POSTs to :meth:`response_url` targets: ``{"id": ..., "body": <the JSON>}``."""
        with self._lock:
            return copy.deepcopy(self._responses)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next calls of a method fail, after the token check and before any other.

        Args:
            method: The method name (``"chat.postMessage"``).
            status: 429 answers HTTP 429 with ``Retry-After`` and ``{"ok": false, "error":
                "ratelimited"}``; another 4xx/5xx answers that status with ``{"ok": false,
                "error": error or "internal_error"}``.
            retry_after: Seconds in the ``Retry-After`` header of a 429 (0 allowed).
            count: How many calls fail.
            error: Given with the default status (or 200): Slack's usual error answer, HTTP 200
                ``{"ok": false, "error": error}`` (e.g. ``"channel_not_found"``).
        """
        if error is not None and status == 429:
            status = 200
        if not (status == 200 or 400 <= status <= 599) or count < 1 or retry_after < 0:
            raise ValueError("status must be 400-599 (or 200 with an error), count at least 1")
        if status == 200 and error is None:
            raise ValueError("a 200 failure needs an error")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend([(status, retry_after, error)] * count)

    @property
    def count_429(self) -> int:
        """How many 429 answers were given (the limit and :meth:`fail_next`)."""
        with self._lock:
            return self._count_429

    # -- HTTP ------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        at = time.monotonic()
        method: str = request.path_params["method"]
        headers = {k.lower(): v for k, v in request.headers.items()}
        params: JSONDict = {}
        parse_error: _SlackError | None = None
        try:
            params = await _read_params(request)
        except _SlackError as error:
            parse_error = error
        try:
            handler = self._methods.get(method)
            if handler is None:
                raise _SlackError("unknown_method")
            token = _bearer_token(headers.get("authorization", "")) or params.get("token")
            if not token:
                raise _SlackError("not_authed")
            if token != self.token:
                raise _SlackError("invalid_auth")
            with self._lock:
                forced = self._pop_failure(method)
            if forced is not None:
                raise forced
            if parse_error is not None:
                raise parse_error
            with self._lock:
                body = {"ok": True, **handler(params)}
            status, extra_headers = 200, {}
        except _SlackError as error:
            status, body, extra_headers = error.status, error.body(), error.headers()
            if error.error == "unknown_method":
                body["req_method"] = method
        except Exception:  # a bug in the fake: record it, then let starlette answer 500
            self._record(Call(method, params, at, 500, headers), ok=False)
            raise
        self._record(Call(method, params, at, status, headers), ok=bool(body["ok"]))
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return Response(
            content, status_code=status, headers=extra_headers, media_type="application/json"
        )

    def _record(self, call: Call, *, ok: bool) -> None:
        with self._lock:
            if call.status == 429:
                self._count_429 += 1
            self._calls.append(call)
            self._call_ok.append(ok)

    async def _response_endpoint(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        with self._lock:
            self._responses.append({"id": request.path_params["id"], "body": body})
        return PlainTextResponse("ok")

    def _pop_failure(self, method: str) -> _SlackError | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        status, retry_after, error = queue.popleft()
        if status == 429:
            return _ratelimited(retry_after)
        if error is None:
            try:
                error = HTTPStatus(status).phrase.lower().replace(" ", "_")
            except ValueError:
                error = "internal_error"
            if status >= 500:
                error = "internal_error"
        return _SlackError(error, status=status)

    # -- methods ---------------------------------------------------------------------------

    def _auth_test(self, params: JSONDict) -> JSONDict:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Test Workspace",
            "user": "madoguchi",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JSONDict) -> JSONDict:
        channel = _channel(params)
        text, blocks = _message_content(params, required=True)
        self._check_rate(channel)
        ts = self._next_ts()
        message: JSONDict = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
            "text": text or "",
            "blocks": self._with_block_ids(blocks or []),
        }
        thread_ts = params.get("thread_ts")
        if isinstance(thread_ts, str) and thread_ts:
            message["thread_ts"] = thread_ts
        self._messages.setdefault(channel, {})[ts] = message
        self._note_sent(channel)
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, params: JSONDict) -> JSONDict:
        channel = _channel(params)
        ts = params.get("ts")
        if not isinstance(ts, str) or not ts:
            raise _SlackError("message_not_found")
        text, blocks = _message_content(params, required=False)
        message = self._messages.get(channel, {}).get(ts)
        if message is None:
            raise _SlackError("message_not_found")
        if "text" in params:
            message["text"] = text or ""
        if "blocks" in params:
            message["blocks"] = self._with_block_ids(blocks or [])
        return {
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, params: JSONDict) -> JSONDict:
        channel = _channel(params)
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise _SlackError("user_not_found")
        text, blocks = _message_content(params, required=True)
        if channel in self.members and user not in self.members[channel]:
            raise _SlackError("user_not_in_channel")
        message_ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel,
                "user": user,
                "text": text or "",
                "blocks": self._with_block_ids(blocks or []),
                "message_ts": message_ts,
            }
        )
        return {"message_ts": message_ts}

    def _views_open(self, params: JSONDict) -> JSONDict:
        return self._new_view("views.open", params)

    def _views_push(self, params: JSONDict) -> JSONDict:
        return self._new_view("views.push", params)

    def _new_view(self, method: str, params: JSONDict) -> JSONDict:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not isinstance(trigger_id, str) or not trigger_id:
            raise _SlackError("invalid_trigger_id")
        view = _check_view(params.get("view"))
        view_id = f"V{next(_view_numbers):010d}"
        stored = self._store_view(view_id, view, previous=None)
        self._views.append({**copy.deepcopy(params), "method": method, "view_id": view_id})
        return {"view": copy.deepcopy(stored)}

    def _views_update(self, params: JSONDict) -> JSONDict:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            raise _SlackError("invalid_arguments", messages=["view_id or external_id required"])
        view = _check_view(params.get("view"))
        if view_id:
            previous = self._open_views.get(view_id)
        else:
            previous = next(
                (v for v in self._open_views.values() if v["external_id"] == external_id), None
            )
        if previous is None:
            raise _SlackError("not_found")
        wanted_hash = params.get("hash")
        if wanted_hash and wanted_hash != previous["hash"]:
            raise _SlackError("hash_conflict")
        stored = self._store_view(previous["id"], view, previous=previous)
        self._views.append(
            {**copy.deepcopy(params), "method": "views.update", "view_id": previous["id"]}
        )
        return {"view": copy.deepcopy(stored)}

    def _store_view(self, view_id: str, view: JSONDict, previous: JSONDict | None) -> JSONDict:
        stored: JSONDict = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type", "modal"),
            "blocks": self._with_block_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._block_ids):08d}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": None,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", previous["external_id"] if previous else ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self._open_views[view_id] = stored
        return stored

    def _conversations_members(self, params: JSONDict) -> JSONDict:
        channel = _channel(params)
        if channel not in self.members:
            raise _SlackError("channel_not_found")
        members = self.members[channel]
        limit = _int_param(params, "limit", 100)
        limit = 100 if limit <= 0 else min(limit, 1000)
        cursor = params.get("cursor") or ""
        start = 0
        if cursor:
            match = re.fullmatch(r"offset:(\d+)", str(cursor))
            if match is None:
                raise _SlackError("invalid_cursor")
            start = int(match.group(1))
        end = start + limit
        next_cursor = f"offset:{end}" if end < len(members) else ""
        return {
            "members": list(members[start:end]),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_info(self, params: JSONDict) -> JSONDict:
        channel = _channel(params)
        info: JSONDict = {
            "id": channel,
            "name": f"channel-{channel.lower()}",
            "is_channel": channel.startswith("C"),
            "is_group": False,
            "is_im": channel.startswith("D"),
            "is_private": channel.startswith("G"),
            "is_archived": False,
            "is_member": channel not in self.members or BOT_USER_ID in self.members[channel],
            "created": 1_700_000_000,
            "creator": "U0CREATOR",
            "context_team_id": TEAM_ID,
        }
        if channel in self.members and _truthy(params.get("include_num_members")):
            info["num_members"] = len(self.members[channel])
        return {"channel": info}

    def _users_info(self, params: JSONDict) -> JSONDict:
        user = params.get("user")
        if not isinstance(user, str) or not re.fullmatch(r"[UW][A-Z0-9]+", user):
            raise _SlackError("user_not_found")
        info: JSONDict = {
            "id": user,
            "team_id": TEAM_ID,
            "name": f"user-{user.lower()}",
            "real_name": f"User {user}",
            "deleted": False,
            "is_bot": user == BOT_USER_ID,
            "is_admin": False,
            "tz": "Asia/Tokyo",
            "tz_offset": 32400,
            "profile": {"real_name": f"User {user}", "display_name": f"user-{user.lower()}"},
        }
        if _truthy(params.get("include_locale")):
            info["locale"] = "ja-JP"
        return {"user": info}

    # -- helpers ---------------------------------------------------------------------------

    def _next_ts(self) -> str:
        """A message timestamp: "seconds.micros", unique and increasing."""
        micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _with_block_ids(self, blocks: list[JSONDict]) -> list[JSONDict]:
        """Copies of the blocks, each with a block_id (Slack assigns one where none is given)."""
        result = copy.deepcopy(blocks)
        for block in result:
            if isinstance(block, dict) and "block_id" not in block:
                block["block_id"] = f"b{next(self._block_ids):05d}"
        return result

    def _channel_window(self) -> tuple[float, int]:
        rate = self.per_channel_per_second
        if rate >= 1:
            return 1.0, int(rate)
        return 1.0 / rate, 1

    def _check_rate(self, channel: str) -> None:
        """Raise a 429 if one more chat.postMessage in this channel would exceed the limit."""
        if not self.enforce_limits:
            return
        now = time.monotonic()
        window, allowed = self._channel_window()
        sent = self._channel_windows.setdefault(channel, deque())
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) >= allowed:
            raise _ratelimited(max(1, math.ceil(sent[0] + window - now)))

    def _note_sent(self, channel: str) -> None:
        if self.enforce_limits:
            self._channel_windows.setdefault(channel, deque()).append(time.monotonic())


# -- payload builders -------------------------------------------------------------------------


def _user_ref(user_id: str, team_id: str) -> JSONDict:
    name = f"user-{user_id.lower()}"
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team_ref(team_id: str) -> JSONDict:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _find_element(message: JSONDict, action_id: str) -> tuple[str | None, JSONDict] | None:
    """The (block_id, element) of the interactive element with this action_id, if any."""
    for block in message.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None


def block_actions_payload(
    *,
    user_id: str,
    channel_id: str,
    message: JSONDict,
    action_id: str,
    value: str,
    response_url: str,
    trigger_id: str = "trig-1",
    team_id: str = "T1",
) -> JSONDict:
    """Build the interactivity payload of a button press on a bot message in a channel.

    Args:
        user_id: Who pressed.
        channel_id: The channel the message is in.
        message: The message, as in ``FakeSlack.messages()`` or chat.postMessage's ``message``.
        action_id: The pressed button's action_id.
        value: The button's value.
        response_url: Where ``respond()`` posts, e.g. ``FakeSlack.response_url("r1")``.
        trigger_id: For views.open.
        team_id: The workspace.

    Returns:
        The payload dict (send it form-encoded as ``payload=<json>``).

    Raises:
        ValueError: If the message has no button with that action_id, or the button's value is
            another (a Slack client could not send it).
    """
    found = _find_element(message, action_id)
    if found is None:
        raise ValueError(
            f"message {message.get('ts')} has no element with action_id {action_id!r}"
        )
    block_id, element = found
    if "value" in element and element["value"] != value:
        raise ValueError(f"the button {action_id!r} has the value {element['value']!r}")
    action: JSONDict = {
        "action_id": action_id,
        "block_id": block_id or "",
        "value": value,
        "type": element.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if "text" in element:
        action["text"] = copy.deepcopy(element["text"])
    if "style" in element:
        action["style"] = element["style"]
    shown = {k: copy.deepcopy(v) for k, v in message.items() if k != "channel"}
    return {
        "type": "block_actions",
        "user": _user_ref(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message.get("ts"),
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": _team_ref(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": f"channel-{channel_id.lower()}"},
        "message": shown,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def view_submission_payload(
    *,
    user_id: str,
    callback_id: str,
    private_metadata: str,
    values: JSONDict,
    view_id: str = "V1",
    team_id: str = "T1",
) -> JSONDict:
    """Build the interactivity payload of a modal's submission.

    Args:
        user_id: Who submitted.
        callback_id: The view's callback_id.
        private_metadata: The view's private_metadata.
        values: ``view.state.values``: ``{block_id: {action_id: {"type": ..., "value": ...}}}``.
        view_id: The view's id.
        team_id: The workspace.

    Returns:
        The payload dict (send it form-encoded as ``payload=<json>``).
    """
    return {
        "type": "view_submission",
        "team": _team_ref(team_id),
        "user": _user_ref(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": f"trig-view-{view_id}",
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": copy.deepcopy(values)},
            "hash": "1700000000.abcdefgh",
            "title": {"type": "plain_text", "text": "Modal"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command_form(
    *,
    user_id: str,
    channel_id: str,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str = "trig-2",
    team_id: str = "T1",
) -> dict[str, str]:
    """Build the form fields Slack POSTs for a slash command (all strings, form-encode them)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": f"channel-{channel_id.lower()}",
        "user_id": user_id,
        "user_name": f"user-{user_id.lower()}",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


# -- request decoding and validation ---------------------------------------------------------


async def _read_params(request: Request) -> JSONDict:
    """Decode query string and body (form-encoded or JSON) into parameters."""
    params: JSONDict = dict(request.query_params.multi_items())
    body = await request.body()
    if body:
        content_type = request.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise _SlackError("invalid_json") from None
            if not isinstance(data, dict):
                raise _SlackError("invalid_json")
            params.update(data)
        else:
            text = body.decode("utf-8", "replace")
            params.update(parse_qsl(text, keep_blank_values=True))
    for name in _JSON_PARAMS:
        value = params.get(name)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                params[name] = json.loads(value)
            except ValueError:
                pass  # left a string: the method answers invalid_blocks_format etc.
    return params


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true"))


def _int_param(params: JSONDict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _SlackError("invalid_arguments") from None


def _channel(params: JSONDict) -> str:
    channel = params.get("channel")
    if not isinstance(channel, str) or not channel.strip():
        raise _SlackError("channel_not_found")
    return channel


def _message_content(params: JSONDict, *, required: bool) -> tuple[str | None, list | None]:
    """The text and checked blocks of a message; ``no_text`` if required and both missing."""
    text = params.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = params.get("blocks")
    if blocks is not None:
        if isinstance(blocks, str):
            if blocks.strip() == "":
                blocks = None
            else:
                raise _SlackError("invalid_blocks_format")
        elif not isinstance(blocks, list):
            raise _SlackError("invalid_blocks_format")
    if blocks is not None:
        _check_blocks(blocks, MAX_MESSAGE_BLOCKS, "invalid_blocks")
    has_attachments = bool(params.get("attachments"))
    if required and not (text and text.strip()) and not blocks and not has_attachments:
        raise _SlackError("no_text")
    if text is not None and len(text) > MAX_TEXT_LENGTH:
        raise _SlackError("msg_too_long")
    return text, blocks


def _check_view(view: Any) -> JSONDict:
    if not isinstance(view, dict):
        raise _SlackError("invalid_arguments", messages=["view is required [json-pointer:/view]"])
    problems: list[str] = []
    if view.get("type") not in ("modal", "home"):
        problems.append("must be one of modal, home [json-pointer:/view/type]")
    if view.get("type") == "modal":
        title = view.get("title")
        if not isinstance(title, dict) or not isinstance(title.get("text"), str):
            problems.append("title is required for modals [json-pointer:/view/title]")
        elif len(title["text"]) > MAX_VIEW_TITLE:
            problems.append(
                f"must be less than {MAX_VIEW_TITLE + 1} characters "
                "[json-pointer:/view/title/text]"
            )
    metadata = view.get("private_metadata", "")
    if not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA:
        problems.append(
            f"must be less than {MAX_PRIVATE_METADATA + 1} characters "
            "[json-pointer:/view/private_metadata]"
        )
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        problems.append("blocks is required [json-pointer:/view/blocks]")
    else:
        problems += _block_problems(blocks, MAX_VIEW_BLOCKS, "/view/blocks")
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("type") == "modal" and not view.get("submit"):
            problems.append(
                "submit is required when an input block is present [json-pointer:/view]"
            )
    if problems:
        raise _SlackError("invalid_arguments", messages=problems)
    return view


def _check_blocks(blocks: list, limit: int, error: str) -> None:
    problems = _block_problems(blocks, limit, "/blocks")
    if problems:
        raise _SlackError(error, messages=problems)


def _block_problems(blocks: list, limit: int, pointer: str) -> list[str]:
    """What Slack's block kit validation would complain about (a useful subset)."""
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"must be less than {limit + 1} items [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        here = f"{pointer}/{index}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            problems.append(f"unsupported type [json-pointer:{here}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 1 <= len(block_id) <= 255:
                problems.append(f"must be 1-255 characters [json-pointer:{here}/block_id]")
            elif block_id in block_ids:
                problems.append(f"duplicate block_id [json-pointer:{here}/block_id]")
            else:
                block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"must provide text or fields [json-pointer:{here}]")
            if "text" in block:
                problems += _text_problems(block["text"], MAX_SECTION_TEXT, f"{here}/text")
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    problems.append(f"must be less than 11 items [json-pointer:{here}/fields]")
                else:
                    for n, field in enumerate(fields):
                        problems += _text_problems(field, 2000, f"{here}/fields/{n}")
            if "accessory" in block:
                problems += _element_problems(block["accessory"], f"{here}/accessory")
        elif kind == "header":
            problems += _text_problems(block.get("text"), 150, f"{here}/text", plain=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                problems.append(f"must have 1-25 items [json-pointer:{here}/elements]")
            else:
                action_ids: set[str] = set()
                for n, element in enumerate(elements):
                    problems += _element_problems(element, f"{here}/elements/{n}")
                    action_id = element.get("action_id") if isinstance(element, dict) else None
                    if action_id is not None and action_id in action_ids:
                        problems.append(
                            f"duplicate action_id [json-pointer:{here}/elements/{n}/action_id]"
                        )
                    if action_id is not None:
                        action_ids.add(action_id)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                problems.append(f"must have 1-10 items [json-pointer:{here}/elements]")
        elif kind == "input":
            problems += _text_problems(block.get("label"), 2000, f"{here}/label", plain=True)
            if not isinstance(block.get("element"), dict):
                problems.append(f"element is required [json-pointer:{here}/element]")
    return problems


def _text_problems(text: Any, limit: int, here: str, *, plain: bool = False) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must be a text object [json-pointer:{here}]"]
    if plain and text["type"] != "plain_text":
        return [f"must be plain_text [json-pointer:{here}/type]"]
    content = text.get("text")
    if not isinstance(content, str) or not content:
        return [f"must be more than 0 characters [json-pointer:{here}/text]"]
    if len(content) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{here}/text]"]
    return []


def _element_problems(element: Any, here: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must be an element [json-pointer:{here}]"]
    problems: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        problems.append(f"must be less than 256 characters [json-pointer:{here}/action_id]")
    if element["type"] == "button":
        problems += _text_problems(element.get("text"), 75, f"{here}/text", plain=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            problems.append(f"must be less than 2001 characters [json-pointer:{here}/value]")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"must be primary or danger [json-pointer:{here}/style]")
    return problems
