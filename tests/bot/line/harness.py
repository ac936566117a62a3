"""Run the LINE channel for a test: our webhook route, inbox processor and sender on the real
line-bot-sdk client, against the fake Messaging API; and a simulated LINE user who taps quick
replies by their label."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import uvicorn
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
from storage import outbox
from storage.models import ProcessedEvent
from tests.bot.telegram.harness import free_port, wait_until
from tests.fakes.line_api import (
    CHANNEL_SECRET,
    FakeLine,
    follow_event,
    postback_event,
    sign,
    text_event,
    webhook_body,
)


class LineHarness:
    """The webhook server (uvicorn thread) and, in a background loop, processor and sender."""

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
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.processor = InboxProcessor(
            app, CHANNEL, apply_body, sweep_seconds=0.1, on_applied=self._wake
        )
        self.sender: LineSender | None = None
        self.server: uvicorn.Server | None = None
        self.url = ""
        self.futures: list[Any] = []
        self.stop_event: asyncio.Event | None = None
        self.client: Any = None

    def _wake(self) -> None:
        if self.sender is not None:
            self.sender.wake.set()

    def start(self) -> LineHarness:
        self.thread.start()
        self.stop_event = self._run(self._event())
        if self.processing:
            self.futures.append(
                asyncio.run_coroutine_threadsafe(self.processor.run(self.stop_event), self.loop)
            )
        if self.sending:
            self.client = self._run(self._client())
            self.sender = LineSender(
                self.app.db,
                AsyncMessagingApi(self.client),
                clock=self.app.clock,
                idle_seconds=0.02,
                request_timeout=self.request_timeout,
            )
            self.futures.append(
                asyncio.run_coroutine_threadsafe(self.sender.run(self.stop_event), self.loop)
            )
        submit = self.processor.submit if self.processing else (lambda row: None)
        route = webhook.route(
            validator=SignatureValidator(CHANNEL_SECRET), store=self.processor.store, submit=submit
        )
        port = free_port()
        config = uvicorn.Config(
            create_web_app([route]), host="127.0.0.1", port=port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        threading.Thread(target=self.server.run, daemon=True).start()
        wait_until(lambda: self.server is not None and self.server.started)
        self.url = f"http://127.0.0.1:{port}{webhook.PATH}"
        return self

    async def _event(self) -> asyncio.Event:
        return asyncio.Event()

    async def _client(self):  # type: ignore[no-untyped-def]
        return make_api(self.fake.access_token, self.fake.url)

    def _run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        for future in self.futures:
            future.result(timeout=10)
        if self.client is not None:
            self._run(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def post(self, body: bytes, *, signature: str | None = None) -> httpx.Response:
        """POST a webhook body, signed with the channel secret unless told otherwise."""
        headers = {"content-type": "application/json"}
        signature = sign(body) if signature is None else signature
        if signature:
            headers["x-line-signature"] = signature
        return httpx.post(self.url, content=body, headers=headers, timeout=30)

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
    """A jobseeker in a one-to-one chat with the official account."""

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

    def deliver(self, event: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """Post one event and wait until it is applied and its replies are sent."""
        response = self.h.post(webhook_body(event), **kwargs)
        assert response.status_code == 200, response.text
        event_id = event["webhookEventId"]
        wait_until(lambda: self.h.processed(event_id) and self.h.idle(self.user_id))
        return response

    def send(self, text: str) -> LineUser:
        token = self.h.fake.issue_reply_token(self.user_id)
        self.deliver(text_event(self.user_id, text, reply_token=token))
        return self

    def follow(self) -> LineUser:
        token = self.h.fake.issue_reply_token(self.user_id)
        self.deliver(follow_event(self.user_id, reply_token=token))
        return self

    def tap(self, action: dict[str, Any]) -> LineUser:
        token = self.h.fake.issue_reply_token(self.user_id)
        self.deliver(postback_event(self.user_id, action["data"], reply_token=token))
        return self

    def tap_label(self, text: str) -> LineUser:
        """Tap the quick reply showing `text` (its label, or in full as it will be echoed)."""
        for action in self.quick_replies:
            if text in (action["label"], action.get("displayText")):
                return self.tap(action)
        raise AssertionError(f"no button {text!r} in {[a['label'] for a in self.quick_replies]}")

    def click(self, label_id: str, **params: Any) -> LineUser:
        """Tap the button whose label is this catalog message, in the user's language."""
        return self.tap_label(Renderer(self.language).text(label_id, **params))

    def press_index(self, index: int) -> LineUser:
        return self.tap(self.quick_replies[index])

    def sees(self, message_id: str, **params: Any) -> bool:
        """Return True when one of the newest messages shows this catalog text (first line)."""
        expected = Renderer(self.language).text(message_id, **params).split("\n")[0][:40]
        return any(expected in m["text"] for m in self.messages[-3:])
