"""Outbound, I/O part: deliver LINE outbox rows through the Messaging API, reliably.

A row's messages go out in requests of at most five. The first request answers with the
event's reply token when that is safe (not a redelivery, under 50 s old: tokens are
single-use and expire after about a minute); everything else is a push carrying an
`X-Line-Retry-Key` fixed at the first attempt, so a retry after a timeout or a crash is
recognised by LINE (409: already accepted) and shown once. The reply API has no retry key,
but the single-use token does that work: the row's plan (fixed at the first attempt)
records that it answers with a reply, and an attempt resuming it (after a crash, a timeout
or a 5xx) replies again with the same token while it is under 50 s old. If LINE then calls
the token invalid, the attempt before used it: the message was delivered, and is counted
(`reply_used_before`), not pushed. A token LINE refuses on the row's first try falls back
to a push at once, the plan changed to push first so a retry is not mistaken for a used
token (only a crash between that refusal and the change could be). Past 50 s a resumed
reply is pushed: if the reply before it did reach LINE, that is the one case that shows
twice. 429, 5xx and network errors retry later with backoff. Rows of users who unfollowed
are dropped, never sent. Logs carry row ids and statuses only: never a user id, a text, a
token or the access token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
)

from bot.delivery import LEASE, OutboxSender, SenderStats
from bot.line import CHANNEL
from bot.line.outbound import Message, render, requests
from bot.pacing import Pacer
from storage import contacts, outbox
from storage.db import Database

log = logging.getLogger("madoguchi.line.sender")

REPLY_TOKEN_MAX_AGE = timedelta(seconds=50)
INVALID_REPLY_TOKEN = "invalid reply token"
"""What LINE answers (400) to a reply token used before or expired, lower-cased."""


@dataclass
class LineStats(SenderStats):
    """SenderStats, with how each request went out."""

    replies: int = 0
    pushes: int = 0
    reply_fallbacks: int = 0  # a reply token refused (expired, used), pushed instead
    reply_used_before: int = 0  # a resumed reply's fresh token was used: delivered before
    accepted_before: int = 0  # 409 on a retried push: LINE had it already
    dropped: int = 0  # rows of users who unfollowed


class Result(Enum):
    """How one request ended."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    TOKEN_REFUSED = "token refused"  # a reply token LINE calls invalid (used or expired)


def make_api(access_token: str, api_base_url: str) -> AsyncApiClient:
    """Return an async API client for `api_base_url` (LINE, or a test fake); call in a loop."""
    return AsyncApiClient(Configuration(host=api_base_url, access_token=access_token))


def retry_key(base: str, index: int) -> str:
    """Return the X-Line-Retry-Key of request `index` of a row (a UUID, stable per row)."""
    return str(uuid.uuid5(uuid.UUID(base), str(index)))


def reply_token_usable(payload: dict[str, Any], now: datetime) -> bool:
    """Return True when the payload's reply token is fresh enough to try once."""
    token, received = payload.get("reply_token"), payload.get("received_at")
    if not token or not received or payload.get("redelivered"):
        return False
    return now - datetime.fromisoformat(received) < REPLY_TOKEN_MAX_AGE


def _error_detail(exc: ApiException) -> str:
    """Return the status and LINE's own message of an error answer (no request content)."""
    message = ""
    try:
        message = str(json.loads(exc.body or "{}").get("message", ""))
    except (ValueError, AttributeError):
        pass
    return f"LINE {exc.status} {message}".strip()[:200]


def _outcome(exc: ApiException) -> Result:
    """Return what to do after an error answer: 429 and 5xx are worth another try."""
    status = exc.status or 0
    return Result.RETRY if status == 429 or status >= 500 else Result.FAILED


class LineSender(OutboxSender):
    """Drains the LINE outbox."""

    channel = CHANNEL

    def __init__(
        self,
        db: Database,
        api: AsyncMessagingApi,
        *,
        clock: Callable[[], datetime],
        per_second: float = 200.0,
        request_timeout: float = 10.0,
        lease: timedelta = LEASE,
        idle_seconds: float = 0.2,
        batch: int = 200,
        owner: str | None = None,
    ) -> None:
        super().__init__(
            db, clock=clock, lease=lease, idle_seconds=idle_seconds, batch=batch, owner=owner
        )
        self.api = api
        # LINE allows 2,000 push requests/s per channel; no per-user spacing is needed.
        self.pacer = Pacer(per_second=per_second, per_key_interval=0.0)
        self.request_timeout = request_timeout
        self.stats: LineStats = LineStats(channel=CHANNEL)

    def _claim(self, room: int) -> list[tuple[int, str, dict[str, Any], int, int, dict[str, Any]]]:
        """Lease a batch, drop rows of unreachable users, fix each row's retry key."""
        now = self.clock()
        claimed = []
        with self.db.transaction() as session:
            rows = self._claim_rows(session, room)
            blocked = contacts.unreachable(session, CHANNEL, [r.recipient for r in rows])
            for r in rows:
                if r.recipient in blocked:
                    outbox.finish(session, r.id, now, status="failed", error="unfollowed")
                    self.stats.dropped += 1
                    continue
                first_attempt = r.plan_context is None and r.parts_sent == 0
                usable = reply_token_usable(r.payload, now)
                plan = outbox.start_plan(
                    session, r.id, {"retry_key": str(uuid.uuid4()), "reply": usable}
                )
                context = {
                    **plan,
                    # a reply while the token is fresh, also when resumed (it may be used)
                    "reply": bool(plan.get("reply")) and r.parts_sent == 0 and usable,
                    "resumed": not first_attempt,
                }
                claimed.append((r.id, r.recipient, r.payload, r.parts_sent, r.attempts, context))
        return claimed

    def _stop_replying(self, row_id: int) -> None:
        """Change the row's plan to push its first request (LINE refused the token)."""
        with self.db.transaction() as session:
            outbox.amend_plan(session, row_id, {"reply": False})

    def _after_request(self, row_id: int, *, last: bool) -> None:
        """Record a delivered request (and, after the last one, the row) in one transaction."""
        with self.db.transaction() as session:
            outbox.record_part(session, row_id)
            if last:
                outbox.finish(session, row_id, self.clock())

    async def _deliver(
        self,
        row_id: int,
        user: str,
        payload: dict[str, Any],
        parts_sent: int,
        attempts: int,
        context: dict[str, Any],
    ) -> None:
        batches = requests(render(payload))
        for index, messages in enumerate(batches):
            if index < parts_sent:
                continue
            if self.stopping:  # stopped between requests: the next run resumes at this one
                return
            await self.pacer.slot(user)
            token = payload.get("reply_token") if context["reply"] and index == 0 else None
            with self.in_call(row_id):  # from here a stop waits for the answer's record
                result, error = await self._send(
                    row_id,
                    user,
                    messages,
                    reply_token=token,
                    resumed=context["resumed"],
                    key=retry_key(context["retry_key"], index),
                )
                if result is Result.RETRY:
                    self.stats.retried += 1
                    log.warning("outbox %s: %s; retrying later", row_id, error)
                    await asyncio.to_thread(self._retry, row_id, attempts, error)
                    return
                if result is Result.FAILED:
                    self.stats.failed += 1
                    log.error("outbox %s refused by LINE: %s", row_id, error)
                    await asyncio.to_thread(self._finish, row_id, status="failed", error=error)
                    return
                self.stats.calls += 1
                last = index == len(batches) - 1
                await asyncio.to_thread(self._after_request, row_id, last=last)
        if len(batches) <= parts_sent:  # everything was sent before a crash; close the row
            await asyncio.to_thread(self._finish, row_id)
        self.stats.delivered += 1

    async def _send(
        self,
        row_id: int,
        user: str,
        messages: list[Message],
        *,
        reply_token: str | None,
        resumed: bool,
        key: str,
    ) -> tuple[Result, str]:
        """Send one request: reply when given a token, else push.

        A fresh token LINE calls invalid is one an attempt before this one used (`resumed`):
        delivered then. On the first try it falls back to a push.
        """
        if reply_token is not None:
            result, error = await self._reply(reply_token, messages)
            if result is Result.TOKEN_REFUSED and resumed:
                self.stats.reply_used_before += 1
                log.info("outbox %s: its reply token was used before; delivered", row_id)
                return Result.SENT, ""
            if result not in (Result.FAILED, Result.TOKEN_REFUSED):
                return result, error
            self.stats.reply_fallbacks += 1  # expired or used: the push below delivers it
            await asyncio.to_thread(self._stop_replying, row_id)  # before: a crash resumes it
        return await self._push(user, messages, key)

    async def _reply(self, token: str, messages: list[Message]) -> tuple[Result, str]:
        request = ReplyMessageRequest.from_dict({"replyToken": token, "messages": messages})
        try:
            await self.api.reply_message(request, _request_timeout=self.request_timeout)
        except ApiException as exc:
            detail = _error_detail(exc)
            if exc.status == 400 and INVALID_REPLY_TOKEN in detail.lower():
                return Result.TOKEN_REFUSED, detail
            return _outcome(exc), detail
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Unknown whether LINE took it: the retry replies again, and the token tells.
            return Result.RETRY, type(exc).__name__
        self.stats.replies += 1
        return Result.SENT, ""

    async def _push(self, user: str, messages: list[Message], key: str) -> tuple[Result, str]:
        request = PushMessageRequest.from_dict({"to": user, "messages": messages})
        try:
            await self.api.push_message(
                request, x_line_retry_key=key, _request_timeout=self.request_timeout
            )
        except ApiException as exc:
            if exc.status == 409:  # this retry key was accepted before: delivered once
                self.stats.accepted_before += 1
                return Result.SENT, ""
            self.stats.rate_limited += exc.status == 429
            return _outcome(exc), _error_detail(exc)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Result.RETRY, type(exc).__name__
        self.stats.pushes += 1
        return Result.SENT, ""
