"""Run the LINE channel in the test's event loop: our webhook route (under uvicorn on
127.0.0.1), inbox processor and sender on the real line-bot-sdk client, against the fake
Messaging API; and a simulated LINE user who taps quick replies by their label and awaits
until the bot has answered."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

import httpx
from linebot.v3.messaging import AsyncMessagingApi
from linebot.v3.webhook import SignatureValidator
from sqlalchemy import select

from bot.app import App
from bot.channels.inbox_processor import InboxProcessor
from bot.line import CHANNEL, webhook
from bot.line.apply import apply_body
from bot.line.sender import LineSender, make_api
from bot.rendering import Renderer
from bot.web import create_web_app
from flows.codec import reply_to_json
from storage import outbox
from storage.models import ProcessedEvent
from tests.fakes.line_api import (
    CHANNEL_SECRET,
    FakeLine,
    follow_event,
    postback_event,
    sign,
    text_event,
    webhook_body,
)
from tests.fakes.server import serving
from tests.waiting import wait_until


def queue_to(app: App, user: str, replies: list[Any], **payload: Any) -> int:
    """Queue replies (flow `Reply`s) to `user` as the intake (or a counselor) would; the rest
    of the payload (language, turn, webhook delivery data) as given; return the row id."""
    with app.db.transaction() as session:
        return outbox.enqueue(
            session,
            channel=CHANNEL,
            recipient=user,
            now=app.clock(),
            payload={"turn": 0, "replies": [reply_to_json(r) for r in replies], **payload},
        )


class LineHarness:
    """The webhook server, processor and sender as tasks of the running loop:
    `async with LineHarness(...) as h:`; leaving the block stops them."""

    def __init__(
        self,
        app: App,
        fake: FakeLine,
        *,
        processing: bool = True,
        sending: bool = True,
        request_timeout: float = 5.0,
    ) -> None:
        self.app, self.fake = app, fake
        self.processing, self.sending = processing, sending
        self.request_timeout = request_timeout
        self.processor = InboxProcessor(
            app, CHANNEL, apply_body, sweep_seconds=0.1, on_applied=self._wake
        )
        self.sender: LineSender | None = None
        self.url = ""
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self._resources = AsyncExitStack()
        self.http: httpx.AsyncClient | None = None

    def _wake(self) -> None:
        if self.sender is not None:
            self.sender.wake.set()

    async def __aenter__(self) -> LineHarness:
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        if self.processing:
            self.tasks.append(asyncio.create_task(self.processor.run(self.stop_event)))
        if self.sending:
            client = make_api(self.fake.access_token, self.fake.url)
            self._resources.push_async_callback(client.close)
            self.sender = LineSender(
                self.app.db,
                AsyncMessagingApi(client),
                clock=self.app.clock,
                idle_seconds=0.02,
                request_timeout=self.request_timeout,
            )
            self.tasks.append(asyncio.create_task(self.sender.run(self.stop_event)))
        submit = self.processor.submit if self.processing else (lambda row: None)
        route = webhook.route(
            validator=SignatureValidator(CHANNEL_SECRET),
            store=self.processor.store,
            submit=submit,
        )
        base = await self._resources.enter_async_context(
            serving(create_web_app([route]), name="line-webhook")
        )
        self.url = f"{base}{webhook.PATH}"
        self.http = await self._resources.enter_async_context(httpx.AsyncClient(timeout=30))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async with self._resources:  # then the webhook server and the clients stop
            self.stop_event.set()
            await asyncio.wait_for(asyncio.gather(*self.tasks), 10)

    async def post(self, body: bytes, *, signature: str | None = None) -> httpx.Response:
        """POST a webhook body, signed with the channel secret unless told otherwise."""
        assert self.http is not None, "the harness is not running"
        headers = {"content-type": "application/json"}
        signature = sign(body) if signature is None else signature
        if signature:
            headers["x-line-signature"] = signature
        return await self.http.post(self.url, content=body, headers=headers)

    def processed(self, event_id: str) -> bool:
        with self.app.db.transaction() as session:
            return (
                session.scalar(
                    select(ProcessedEvent.id).where(
                        ProcessedEvent.channel == CHANNEL, ProcessedEvent.event_key == event_id
                    )
                )
                is not None
            )

    def idle(self, user: str) -> bool:
        with self.app.db.transaction() as session:
            return not outbox.pending(session, channel=CHANNEL, recipient=user)


class LineUser:
    """A jobseeker in a one-to-one chat with the official account; each action returns once
    it is applied and answered."""

    def __init__(self, harness: LineHarness, user_id: str, *, language: str = "ja") -> None:
        self.h, self.user_id, self.language = harness, user_id, language

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.h.fake.messages(self.user_id)

    @property
    def last_text(self) -> str:
        return self.messages[-1]["text"] if self.messages else ""

    @property
    def quick_replies(self) -> list[dict[str, Any]]:
        """The buttons under the newest message (LINE shows them there only)."""
        if not self.messages:
            return []
        return [
            item["action"] for item in (self.messages[-1].get("quickReply") or {}).get("items", [])
        ]

    async def deliver(self, event: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """Post one event and wait until it is applied and its replies are sent."""
        response = await self.h.post(webhook_body(event), **kwargs)
        assert response.status_code == 200, response.text
        event_id = event["webhookEventId"]
        await wait_until(lambda: self.h.processed(event_id) and self.h.idle(self.user_id))
        return response

    async def send(self, text: str) -> LineUser:
        token = self.h.fake.issue_reply_token(self.user_id)
        await self.deliver(text_event(self.user_id, text, reply_token=token))
        return self

    async def follow(self) -> LineUser:
        token = self.h.fake.issue_reply_token(self.user_id)
        await self.deliver(follow_event(self.user_id, reply_token=token))
        return self

    async def tap(self, action: dict[str, Any]) -> LineUser:
        token = self.h.fake.issue_reply_token(self.user_id)
        await self.deliver(postback_event(self.user_id, action["data"], reply_token=token))
        return self

    async def tap_label(self, text: str) -> LineUser:
        """Tap the quick reply showing `text` (its label, or in full as it will be echoed)."""
        for action in self.quick_replies:
            if text in (action["label"], action.get("displayText")):
                return await self.tap(action)
        raise AssertionError(f"no button {text!r} in {[a['label'] for a in self.quick_replies]}")

    async def click(self, label_id: str, **params: Any) -> LineUser:
        """Tap the button whose label is this catalog message, in the user's language."""
        return await self.tap_label(Renderer(self.language).text(label_id, **params))

    async def press_index(self, index: int) -> LineUser:
        return await self.tap(self.quick_replies[index])

    def sees(self, message_id: str, **params: Any) -> bool:
        """Return True when one of the newest messages shows this catalog text (first line)."""
        expected = Renderer(self.language).text(message_id, **params).split("\n")[0][:40]
        return any(expected in m["text"] for m in self.messages[-3:])
