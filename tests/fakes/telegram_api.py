"""A fake Telegram Bot API server for tests and benchmarks, spoken to over real HTTP.

It runs starlette on uvicorn in a daemon thread so the real python-telegram-bot client can use
it, records every call, keeps the chats as a user would see them and enforces Telegram's limits.

The limits as modelled: at most 30 sends and edits in any 1-second window overall, and per
chat a token bucket: about one per second sustained, with a short burst allowed after a
pause (3 by default). Telegram documents "avoid more than one message per second in a chat;
short bursts above it are tolerated, then 429" without numbers; a burst of 3 is our
assumption, and the bot's own pacing stays below it (2).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import mimetypes
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.server import ServedApp

JSONDict = dict[str, Any]

BOT_USERNAME = "madoguchi_test_bot"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

# Methods whose successful calls count against the per-chat and global sending limits.
RATE_LIMITED_METHODS = frozenset(
    {"sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)

# Form fields that are strings in the Bot API. PTB sends string values as they are and every
# other value JSON-encoded, so a text "123" and a number 123 look the same on the wire: these
# fields are never JSON-decoded.
_STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "certificate",
        "description",
        "document",
        "emoji",
        "file_id",
        "first_name",
        "inline_message_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "parse_mode",
        "phone_number",
        "photo",
        "query",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "thumbnail",
        "title",
        "url",
        "vcard",
        "video",
        "video_note",
        "voice",
    }
)

_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
}

_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_COMMAND_SHAPE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_PORTS = (None, 80, 88, 443, 8443)

_helper_message_ids = itertools.count(1)
_callback_query_ids = itertools.count(1)


@dataclass(frozen=True)
class Call:
    """One request the fake answered.

    Attributes:
        method: The Bot API method as documented (``"sendMessage"``), whatever its case in the
            URL (the Bot API is case-insensitive); an unknown method as requested.
        params: The decoded parameters. An uploaded file ``<field>`` appears as
            ``<field>_bytes``, ``<field>_filename`` and ``<field>_mime_type``.
        at: ``time.monotonic()`` when the request arrived.
        status: The HTTP status of the answer.
    """

    method: str
    params: dict[str, Any]
    at: float
    status: int


class _ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(detail: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {detail}")


def _too_many_requests(retry_after: int) -> _ApiError:
    return _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


class FakeTelegram(ServedApp):
    """A fake Bot API server for one bot; point ``telegram.Bot(token, base_url=...)`` at it.

    Use it with ``async with`` (served in the test's event loop) or ``with`` (served in a
    thread; or call :meth:`start` and :meth:`stop`). Everything it keeps is guarded by one
    lock, so tests may read it while the server answers requests.

    Args:
        token: The bot token the server accepts; any other is refused.
        global_per_second: Successful sends and edits allowed in any 1-second window overall.
        per_chat_per_second: The sustained rate of sends and edits per chat (a token bucket
            refilled at this rate; below 1, one per ``1 / per_chat_per_second`` seconds).
        per_chat_burst: The bucket's size: how many calls a chat that was quiet may receive at
            once; by default 3, or ``per_chat_per_second`` when that is larger.
        enforce_limits: Whether to answer 429 when a limit is exceeded.
        max_poll_seconds: The longest a getUpdates long poll waits, whatever its timeout.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        global_per_second: int = 30,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int | None = None,
        enforce_limits: bool = True,
        max_poll_seconds: float = 1.0,
    ) -> None:
        if global_per_second < 1 or per_chat_per_second <= 0:
            raise ValueError("the sending limits must be positive")
        if per_chat_burst is not None and per_chat_burst < 1:
            raise ValueError("per_chat_burst must be at least 1")
        self.token = token
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.per_chat_burst = (
            per_chat_burst if per_chat_burst is not None else max(3, int(per_chat_per_second))
        )
        self.on_sent: Callable[[int], None] | None = None
        """Called (in the server's thread, under its lock) with the chat of each successful
        send or edit, after the chat changed: benchmarks wait on it instead of polling."""
        self.enforce_limits = enforce_limits
        self.max_poll_seconds = max_poll_seconds
        self.port = 0

        bot_id = token.split(":", 1)[0]
        self.bot_user: JSONDict = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Madoguchi (test)",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._count_429 = 0
        self._failures: dict[str, deque[tuple[int, int, str | None]]] = {}
        self._updates: list[JSONDict] = []
        self._last_update_id = 0
        self._webhook: JSONDict | None = None
        self.webhook_error: tuple[int, str] | None = None
        """(unix time, message) getWebhookInfo reports as the last delivery error."""
        self._commands: dict[str, list[JSONDict]] = {}
        self._scoped_commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._sent: dict[int, dict[int, JSONDict]] = {}
        self._incoming: dict[int, dict[int, JSONDict]] = {}
        self._last_message_id: dict[int, int] = {}
        self._files: dict[str, tuple[JSONDict, bytes]] = {}
        self._file_paths: dict[str, str] = {}
        self._file_numbers = itertools.count(1)
        self._chat_buckets: dict[int, tuple[float, float]] = {}  # chat → (tokens, at)
        self._global_window: deque[float] = deque()

        handlers: dict[str, Callable[[JSONDict], Any] | None] = {
            "getMe": self._get_me,
            "getUpdates": None,  # asynchronous, see _get_updates
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
        }
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

        self._app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._file_endpoint, methods=["GET"]),
            ]
        )
        self._update_event: asyncio.Event | None = None
        self._closing = False
        self.answer_delay = 0.0
        """Seconds each answer takes to come back after the call was carried out."""

    # -- lifecycle -------------------------------------------------------------------------

    _name = "fake-telegram"

    async def _on_serving(self) -> None:
        self._closing = False
        self._update_event = asyncio.Event()

    def _on_stopping(self) -> None:
        """Release pending long polls at once; the recorded state is kept."""
        with self._lock:
            self._closing = True
        self._call_in_loop(self._wake)

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``telegram.Bot``, which appends the token to it."""
        return f"http://127.0.0.1:{self._running_port()}/bot"

    @property
    def base_file_url(self) -> str:
        """The ``base_file_url`` for ``telegram.Bot`` (downloads of files sent to the fake)."""
        return f"http://127.0.0.1:{self._running_port()}/file/bot"

    def _running_port(self) -> int:
        if not self.port:
            raise RuntimeError("the fake Telegram server has not been started")
        return self.port

    # -- what tests look at ----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request answered so far (a snapshot), in the order the answers were given."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The successful (status 200) calls of one method.

        Args:
            method: The method name, in any case (``"sendMessage"``).

        Returns:
            The calls, in the order they were answered.
        """
        name = self._methods.get(method.lower(), (method, None))[0]
        with self._lock:
            return [c for c in self._calls if c.method == name and c.status == 200]

    def messages(self, chat_id: int) -> list[JSONDict]:
        """The bot's messages in a chat as the user sees them now.

        Args:
            chat_id: The chat.

        Returns:
            Copies of the Message dicts sent by sendMessage and sendDocument, in the order they
            were sent, with edits applied and deleted messages left out.
        """
        with self._lock:
            return copy.deepcopy(list(self._sent.get(chat_id, {}).values()))

    def push_update(self, update: JSONDict) -> int:
        """Queue an update for getUpdates (a copy is kept).

        Args:
            update: An Update dict, e.g. from :func:`message_update` or :func:`callback_update`.
                Without ``update_id`` the next one is assigned (1, 2, ...).

        Returns:
            The update's ``update_id``.
        """
        update = copy.deepcopy(update)
        with self._lock:
            if "update_id" in update:
                self._last_update_id = max(self._last_update_id, int(update["update_id"]))
            else:
                self._last_update_id += 1
                update["update_id"] = self._last_update_id
            self._note_incoming(update)
            self._updates.append(update)
            update_id: int = update["update_id"]
        self._wake_pollers()
        return update_id

    @property
    def pending_updates(self) -> list[JSONDict]:
        """The updates not yet confirmed by a getUpdates offset (copies)."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next calls of a method fail, before any other check.

        Args:
            method: The method name, in any case.
            status: The HTTP status (400-599). 429 answers carry ``parameters.retry_after``;
                other statuses a plain error (``{"ok": false, "error_code", "description"}``).
            retry_after: Seconds in the 429 answer.
            count: How many calls fail.
            description: The error description; Telegram's usual one by default (403: "Forbidden:
                bot was blocked by the user", 5xx: the HTTP reason phrase).
        """
        if not 400 <= status <= 599 or count < 1:
            raise ValueError("status must be 400-599 and count at least 1")
        name = self._methods.get(method.lower(), (method, None))[0]
        with self._lock:
            queue = self._failures.setdefault(name, deque())
            queue.extend([(status, retry_after, description)] * count)

    @property
    def count_429(self) -> int:
        """How many 429 answers were given (limits and :meth:`fail_next`)."""
        with self._lock:
            return self._count_429

    @property
    def webhook(self) -> JSONDict | None:
        """What setWebhook set (url, secret_token, max_connections, allowed_updates), or None."""
        with self._lock:
            return copy.deepcopy(self._webhook)

    @property
    def commands(self) -> dict[str, list[JSONDict]]:
        """Commands set for the default scope, per language_code (``""`` for all languages)."""
        with self._lock:
            return copy.deepcopy(self._commands)

    @property
    def scoped_commands(self) -> dict[tuple[str, str], list[JSONDict]]:
        """Commands set for other scopes, per (scope as sorted JSON, language_code)."""
        with self._lock:
            return copy.deepcopy(self._scoped_commands)

    # -- HTTP ------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        at = time.monotonic()
        token: str = request.path_params["token"]
        requested: str = request.path_params["method"]
        name, handler = self._methods.get(requested.lower(), (requested, None))
        known = requested.lower() in self._methods
        params: JSONDict = {}
        parse_error: _ApiError | None = None
        try:
            params = await _read_params(request)
        except _ApiError as error:
            parse_error = error
        try:
            if token != self.token:
                if _TOKEN_SHAPE.fullmatch(token):
                    raise _ApiError(401, "Unauthorized")
                raise _ApiError(404, "Not Found")
            if not known:
                raise _ApiError(404, "Not Found")
            with self._lock:
                forced = self._pop_failure(name)
            if forced is not None:
                raise forced
            if parse_error is not None:
                raise parse_error
            if handler is None:
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = handler(params)
            status, body = 200, {"ok": True, "result": result}
        except _ApiError as error:
            status, body = error.status, error.body()
        except Exception:  # a bug in the fake: record it, then let starlette answer 500
            with self._lock:
                self._calls.append(Call(name, params, at, 500))
            raise
        with self._lock:
            if status == 429:
                self._count_429 += 1
            self._calls.append(Call(name, params, at, status))
        if self.answer_delay:  # the call was taken (a message is shown); its answer lags
            await asyncio.sleep(self.answer_delay)
        return _json_response(body, status)

    async def _file_endpoint(self, request: Request) -> Response:
        with self._lock:
            file_id = self._file_paths.get(request.path_params["file_path"])
            stored = self._files.get(file_id) if file_id else None
        if request.path_params["token"] != self.token or stored is None:
            return _json_response(_ApiError(404, "Not Found").body(), 404)
        document, content = stored
        return Response(content, media_type=document.get("mime_type", "application/octet-stream"))

    def _pop_failure(self, method: str) -> _ApiError | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        status, retry_after, description = queue.popleft()
        if status == 429:
            return _ApiError(
                429, description or f"Too Many Requests: retry after {retry_after}", retry_after
            )
        if description is None:
            try:
                description = _ERROR_DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
            except ValueError:
                description = "Error"
        return _ApiError(status, description)

    # -- updates ---------------------------------------------------------------------------

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = params.get("timeout") or 0
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            raise _bad_request("wrong parameter timeout")
        with self._lock:
            if self._webhook is not None:
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            batch = copy.deepcopy(self._updates[:limit])
        if batch or timeout <= 0:
            return batch
        deadline = time.monotonic() + min(timeout, self.max_poll_seconds)
        while True:
            with self._lock:
                batch = copy.deepcopy(self._updates[:limit])
                event, closing = self._update_event, self._closing
            remaining = deadline - time.monotonic()
            if batch or closing or event is None or remaining <= 0:
                return batch
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    def _wake_pollers(self) -> None:
        self._call_in_loop(self._wake)

    def _wake(self) -> None:
        event, self._update_event = self._update_event, asyncio.Event()
        if event is not None:
            event.set()

    def _note_incoming(self, update: JSONDict) -> None:
        for key in ("message", "edited_message"):
            message = update.get(key)
            if not isinstance(message, dict):
                continue
            chat_id = (message.get("chat") or {}).get("id")
            message_id = message.get("message_id")
            if isinstance(chat_id, int) and isinstance(message_id, int):
                self._incoming.setdefault(chat_id, {})[message_id] = message
                last = self._last_message_id.get(chat_id, 0)
                self._last_message_id[chat_id] = max(last, message_id)

    # -- methods ---------------------------------------------------------------------------

    def _get_me(self, params: JSONDict) -> JSONDict:
        return copy.deepcopy(self.bot_user)

    def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url", "")
        if not isinstance(url, str):
            raise _bad_request("bad webhook: Failed to resolve host: Name or service not known")
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        if not url:
            self._webhook = None
            return True
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if port not in _WEBHOOK_PORTS:
            raise _bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret_token = params.get("secret_token")
        if secret_token is not None and not (
            isinstance(secret_token, str) and _SECRET_TOKEN_SHAPE.fullmatch(secret_token)
        ):
            raise _bad_request("secret token contains unallowed characters")
        max_connections = _int_param(params, "max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise _bad_request("bad webhook: max_connections must be between 1 and 100")
        self._webhook = {
            "url": url,
            "secret_token": secret_token,
            "max_connections": max_connections,
            "allowed_updates": params.get("allowed_updates"),
        }
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["url"] = self._webhook["url"]
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook["allowed_updates"] is not None:
                info["allowed_updates"] = self._webhook["allowed_updates"]
            if self.webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    def _commands_store(self, params: JSONDict) -> tuple[dict[Any, list[JSONDict]], Any]:
        language = params.get("language_code") or ""
        # "A two-letter ISO 639-1 language code" (the Bot API's setMyCommands)
        if not isinstance(language, str) or not re.fullmatch(r"([a-z]{2})?", language):
            raise _bad_request("invalid language code specified")
        scope = params.get("scope")
        if scope is None or scope == {"type": "default"}:
            return self._commands, language
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad_request("can't parse BotCommandScope JSON object")
        return self._scoped_commands, (json.dumps(scope, sort_keys=True), language)

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        stored: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_SHAPE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": name, "description": description})
        store, key = self._commands_store(params)
        if stored:
            store[key] = stored
        else:
            store.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        store, key = self._commands_store(params)
        return copy.deepcopy(store.get(key, []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        store, key = self._commands_store(params)
        store.pop(key, None)
        return True

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = _chat_id(params)
        text = _message_text(params.get("text"))
        markup = _reply_markup(params)
        self._check_rate(chat_id)
        content: JSONDict = {"text": text}
        if isinstance(params.get("entities"), list) and params["entities"]:
            content["entities"] = params["entities"]
        return self._new_message(chat_id, params, content, markup)

    def _send_document(self, params: JSONDict) -> JSONDict:
        chat_id = _chat_id(params)
        caption = params.get("caption")
        if caption is not None and len(str(caption)) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        markup = _reply_markup(params)
        document = params.get("document")
        field = "document"
        if isinstance(document, str) and document.startswith("attach://"):
            field = document.removeprefix("attach://")
            for suffix in ("bytes", "filename", "mime_type"):
                if f"{field}_{suffix}" in params:
                    params[f"document_{suffix}"] = params[f"{field}_{suffix}"]
        upload: tuple[str, str, bytes] | None = None
        known: JSONDict | None = None
        if f"{field}_bytes" in params:
            content = params[f"{field}_bytes"]
            if not content:
                raise _bad_request("file must be non-empty")
            if len(content) > MAX_UPLOAD_BYTES:
                raise _ApiError(413, "Request Entity Too Large")
            filename = params.get(f"{field}_filename") or "document"
            mime_type = params.get(f"{field}_mime_type") or _guess_mime_type(filename)
            upload = (filename, mime_type, content)
        elif isinstance(document, str) and document in self._files:
            known = copy.deepcopy(self._files[document][0])
        elif isinstance(document, str) and document.startswith(("http://", "https://")):
            filename = PurePosixPath(urlsplit(document).path).name or "file"
            upload = (filename, _guess_mime_type(filename), b"")
        elif isinstance(document, str) and document:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise _bad_request("there is no document in the request")
        self._check_rate(chat_id)
        if known is None and upload is not None:
            known = self._store_file(*upload)
        message_content: JSONDict = {"document": known}
        if caption:
            message_content["caption"] = str(caption)
            if isinstance(params.get("caption_entities"), list) and params["caption_entities"]:
                message_content["caption_entities"] = params["caption_entities"]
        return self._new_message(chat_id, params, message_content, markup)

    def _store_file(self, filename: str, mime_type: str, content: bytes) -> JSONDict:
        number = next(self._file_numbers)
        document: JSONDict = {
            "file_name": filename,
            "mime_type": mime_type,
            "file_id": f"BQACAgUAAxkDAAI{number:010d}",
            "file_unique_id": f"AgAD{number:06d}",
        }
        if content:
            document["file_size"] = len(content)
        path = f"documents/file_{number}{PurePosixPath(filename).suffix}"
        self._files[document["file_id"]] = (document, content)
        self._file_paths[path] = document["file_id"]
        return copy.deepcopy(document)

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = params.get("file_id")
        stored = self._files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise _bad_request("invalid file_id")
        document, content = stored
        path = next(p for p, f in self._file_paths.items() if f == file_id)
        result: JSONDict = {k: document[k] for k in ("file_id", "file_unique_id") if k in document}
        result.update({"file_size": len(content), "file_path": path})
        return result

    def _new_message(
        self, chat_id: int, params: JSONDict, content: JSONDict, markup: JSONDict | None
    ) -> JSONDict:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message: JSONDict = {
            "message_id": message_id,
            "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "date": int(time.time()),
            **copy.deepcopy(content),
        }
        replied = self._replied_message(chat_id, params)
        if replied is not None:
            message["reply_to_message"] = replied
        attached = _attached_markup(markup)
        if attached is not None:
            message["reply_markup"] = attached
        self._sent.setdefault(chat_id, {})[message_id] = message
        self._note_sent(chat_id)
        return copy.deepcopy(message)

    def _replied_message(self, chat_id: int, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        target = reply.get("message_id") if isinstance(reply, dict) else None
        target = target if target is not None else params.get("reply_to_message_id")
        for store in (self._sent, self._incoming):
            found = store.get(chat_id, {}).get(target) if isinstance(target, int) else None
            if found is not None:
                return {k: copy.deepcopy(v) for k, v in found.items() if k != "reply_to_message"}
        return None

    def _message_to_edit(self, params: JSONDict) -> tuple[int, JSONDict]:
        if "inline_message_id" in params and "message_id" not in params:
            raise _bad_request("MESSAGE_ID_INVALID")
        chat_id = _chat_id(params)
        message_id = _message_id(params)
        message = self._sent.get(chat_id, {}).get(message_id)
        if message is None:
            raise _bad_request("message to edit not found")
        return chat_id, message

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        text = _message_text(params.get("text"))
        markup = _attached_markup(_reply_markup(params, inline_only=True))
        chat_id, message = self._message_to_edit(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        entities = params.get("entities") or None
        if (
            message["text"] == text
            and message.get("entities") == entities
            and message.get("reply_markup") == markup
        ):
            raise _ApiError(400, NOT_MODIFIED)
        self._check_rate(chat_id)
        message["text"] = text
        _set_or_drop(message, "entities", entities)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        self._note_sent(chat_id)
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        markup = _attached_markup(_reply_markup(params, inline_only=True))
        chat_id, message = self._message_to_edit(params)
        if message.get("reply_markup") == markup:
            raise _ApiError(400, NOT_MODIFIED)
        self._check_rate(chat_id)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        self._note_sent(chat_id)
        return copy.deepcopy(message)

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or not query_id:
            raise _bad_request("QUERY_ID_INVALID")
        return True

    def _delete_message(self, params: JSONDict) -> bool:
        chat_id = _chat_id(params)
        message_id = _message_id(params)
        for store in (self._sent, self._incoming):
            if store.get(chat_id, {}).pop(message_id, None) is not None:
                return True
        raise _bad_request("message to delete not found")

    def _send_chat_action(self, params: JSONDict) -> bool:
        _chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    # -- limits ----------------------------------------------------------------------------

    def _chat_tokens(self, chat_id: int, now: float) -> float:
        """The calls a chat may receive now: its bucket, refilled since it was last used."""
        tokens, at = self._chat_buckets.get(chat_id, (float(self.per_chat_burst), now))
        return min(float(self.per_chat_burst), tokens + (now - at) * self.per_chat_per_second)

    def _check_rate(self, chat_id: int) -> None:
        """Raise a 429 if one more send or edit in this chat would exceed a limit."""
        if not self.enforce_limits:
            return
        now = time.monotonic()
        _forget_before(self._global_window, now - 1.0)
        tokens = self._chat_tokens(chat_id, now)
        if tokens < 1.0:
            raise _too_many_requests(max(1, math.ceil((1.0 - tokens) / self.per_chat_per_second)))
        if len(self._global_window) >= self.global_per_second:
            raise _too_many_requests(1)

    def _note_sent(self, chat_id: int) -> None:
        if self.enforce_limits:
            now = time.monotonic()
            self._chat_buckets[chat_id] = (self._chat_tokens(chat_id, now) - 1.0, now)
            self._global_window.append(now)
        if self.on_sent is not None:
            self.on_sent(chat_id)


# -- update helpers --------------------------------------------------------------------------


def _user(user_id: int, language_code: str | None) -> JSONDict:
    user: JSONDict = {"id": user_id, "is_bot": False, "first_name": "Test"}
    if language_code is not None:
        user["language_code"] = language_code
    return user


def message_update(
    chat_id: int, text: str, *, language_code: str | None = "ja", user_id: int | None = None
) -> JSONDict:
    """Build an update of a user's text message in a private chat (no ``update_id``).

    Args:
        chat_id: The private chat (the user's id unless ``user_id`` is given).
        text: The text; a leading ``/command`` gets its bot_command entity, as Telegram adds.
        language_code: The user's app language, or None when Telegram does not send one.
        user_id: The sender's id; ``chat_id`` by default.

    Returns:
        The Update dict.
    """
    message: JSONDict = {
        "message_id": next(_helper_message_ids),
        "from": _user(chat_id if user_id is None else user_id, language_code),
        "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/") and len(text) > 1:
        command = text.split(maxsplit=1)[0]
        length = len(command.encode("utf-16-le")) // 2
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"message": message}


def callback_update(
    chat_id: int,
    data: str,
    *,
    message: JSONDict,
    user_id: int | None = None,
    language_code: str | None = "ja",
) -> JSONDict:
    """Build an update of a user pressing an inline button (no ``update_id``).

    Args:
        chat_id: The private chat the message is in.
        data: The pressed button's callback_data.
        message: The message with the button, as returned by sendMessage or ``messages()``.
        user_id: The user's id; ``chat_id`` by default.
        language_code: The user's app language, or None.

    Returns:
        The Update dict, with a unique callback_query id.

    Raises:
        ValueError: If the message is in another chat or has no button with that data (a
            Telegram client could not send it).
    """
    if (message.get("chat") or {}).get("id") != chat_id:
        raise ValueError(f"message {message.get('message_id')} is not in chat {chat_id}")
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    if data not in [button.get("callback_data") for row in keyboard for button in row]:
        raise ValueError(f"message {message.get('message_id')} has no button with data {data!r}")
    return {
        "callback_query": {
            "id": str(4_000_000_000_000_000_000 + next(_callback_query_ids)),
            "from": _user(chat_id if user_id is None else user_id, language_code),
            "message": copy.deepcopy(message),
            "chat_instance": str((chat_id * 2_654_435_761) % (1 << 63)),
            "data": data,
        }
    }


# -- request decoding and validation ---------------------------------------------------------


def _json_response(body: JSONDict, status: int) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(content, status_code=status, media_type="application/json")


async def _read_params(request: Request) -> JSONDict:
    """Decode query string and body (form, multipart/form-data or JSON) into parameters."""
    params: JSONDict = {k: _decode_field(k, v) for k, v in request.query_params.multi_items()}
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise _bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise _bad_request("can't parse JSON object")
        params.update(data)
    elif media_type == "multipart/form-data":
        fields, uploads = _parse_multipart(body, content_type)
        params.update({k: _decode_field(k, v) for k, v in fields.items()})
        for name, (filename, mime_type, content) in uploads.items():
            params[f"{name}_bytes"] = content
            params[f"{name}_filename"] = filename
            params[f"{name}_mime_type"] = mime_type
    else:
        text = body.decode("utf-8", "replace")
        for key, value in parse_qsl(text, keep_blank_values=True):
            params[key] = _decode_field(key, value)
    return params


def _decode_field(name: str, raw: str) -> Any:
    """Decode a form value: strings stay as sent, anything else was JSON-encoded by PTB."""
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """Split a multipart/form-data body into text fields and files (filename, type, bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise _bad_request("can't parse multipart/form-data: no boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        found = re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', headers.get("content-disposition", ""))
        disposition = {key.lower(): _unescape_form_param(value) for key, value in found}
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            filename = disposition["filename"]
            mime_type = headers.get("content-type") or _guess_mime_type(filename)
            files[name] = (filename, mime_type, content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


def _unescape_form_param(value: str) -> str:
    """Undo the HTML5 escaping httpx applies to multipart names and filenames."""
    value = re.sub(r"%([01][0-9A-Fa-f]|22)", lambda m: unquote(m.group(0)), value)
    return value.replace("\\\\", "\\")


def _guess_mime_type(filename: str) -> str:
    return mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


def _int_param(params: JSONDict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad_request(f"wrong parameter {name}")
    try:
        return int(value)
    except ValueError:
        raise _bad_request(f"wrong parameter {name}") from None


def _chat_id(params: JSONDict) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise _bad_request("chat_id is empty")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise _bad_request("chat not found")


def _message_id(params: JSONDict) -> int:
    value = params.get("message_id")
    if value is None or value == "":
        raise _bad_request("message identifier is not specified")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _bad_request("MESSAGE_ID_INVALID")


def _message_text(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _bad_request("message text is empty")
    text = str(value)
    if len(text) > MAX_TEXT_LENGTH:
        raise _bad_request("message is too long")
    return text


def _reply_markup(params: JSONDict, *, inline_only: bool = False) -> JSONDict | None:
    """Parse and check reply_markup as Telegram does; None when absent."""
    markup = params.get("reply_markup")
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif inline_only:
        raise _bad_request("inline keyboard expected")
    elif not any(key in markup for key in ("keyboard", "remove_keyboard", "force_reply")):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _check_inline_keyboard(keyboard: Any) -> None:
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise _bad_request("can't parse inline keyboard: expected an Array of Arrays")
    for button in (button for row in keyboard for button in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad_request("can't parse inline keyboard button: text must be a String")
        if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
            raise _bad_request("text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            data = button["callback_data"]
            size = len(data.encode("utf-8")) if isinstance(data, str) else 0
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"(https?|tg)://\S", url):
                raise _bad_request("BUTTON_URL_INVALID")


def _attached_markup(markup: JSONDict | None) -> JSONDict | None:
    """The markup a message carries: only a non-empty inline keyboard, as in the Bot API."""
    if markup is None or not any(markup.get("inline_keyboard") or []):
        return None
    return copy.deepcopy(markup)


def _set_or_drop(message: JSONDict, key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = copy.deepcopy(value)


def _forget_before(window: deque[float], cutoff: float) -> None:
    while window and window[0] <= cutoff:
        window.popleft()
