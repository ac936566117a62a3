"""Run the Telegram channel for a test: real PTB client, our polling or webhook, our sender,
against the fake Bot API server; and a simulated user who clicks buttons by their label."""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from bot.app import App
from bot.rendering import Renderer
from bot.telegram import CHANNEL, webhook
from bot.telegram.polling import poll
from bot.telegram.sender import TelegramSender
from bot.telegram.setup import make_bot
from bot.web import create_web_app
from storage import outbox
from storage.models import ProcessedEvent
from tests.fakes.telegram_api import FakeTelegram, callback_update, message_update

WEBHOOK_SECRET = "test-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float = 20.0, every: float = 0.02) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError("timed out waiting")


class Harness:
    """The channel running in a background event loop (polling or webhook)."""

    def __init__(
        self,
        app: App,
        fake: FakeTelegram,
        *,
        mode: str = "polling",
        per_chat_interval: float = 0.02,
        per_second: float = 28.0,
        poll_timeout: int = 1,
    ) -> None:
        self.app, self.fake, self.mode = app, fake, mode
        self.base = fake.base_url.removesuffix("/bot")
        self.bot = make_bot(fake.token, self.base)
        self.sender = TelegramSender(
            app.db,
            self.bot,
            clock=app.clock,
            per_second=per_second,
            per_chat_interval=per_chat_interval,
            idle_seconds=0.02,
        )
        self.poll_timeout = poll_timeout
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: uvicorn.Server | None = None
        self.webhook_url = ""
        self.webhook_answers: list[dict[str, Any]] = []
        self.tasks: list[Any] = []

    def start(self, *, polling: bool = True, sending: bool = True) -> Harness:
        self.thread.start()
        self._run(self.bot.initialize())
        self.stop_event = self._run(self._make_event())
        if self.mode == "polling" and polling:
            self.tasks.append(
                asyncio.run_coroutine_threadsafe(
                    poll(
                        self.app, self.bot, self.sender, self.stop_event, timeout=self.poll_timeout
                    ),
                    self.loop,
                )
            )
        if sending:
            self.tasks.append(
                asyncio.run_coroutine_threadsafe(self.sender.run(self.stop_event), self.loop)
            )
        if self.mode == "webhook":
            port = free_port()
            route = webhook.route(self.app, self.bot, secret=WEBHOOK_SECRET, on_update=self._wake)
            config = uvicorn.Config(
                create_web_app([route]), host="127.0.0.1", port=port, log_level="warning"
            )
            self.server = uvicorn.Server(config)
            threading.Thread(target=self.server.run, daemon=True).start()
            wait_until(lambda: self.server is not None and self.server.started)
            self.webhook_url = f"http://127.0.0.1:{port}{webhook.PATH}"
        return self

    def _wake(self) -> None:
        self.loop.call_soon_threadsafe(self.sender.wake.set)

    async def _make_event(self) -> asyncio.Event:
        return asyncio.Event()

    def _run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        for task in self.tasks:
            try:
                task.result(timeout=5)
            except BaseException:  # noqa: BLE001 - a poll stuck in getUpdates is cancelled
                task.cancel()
        try:
            self._run(self.bot.shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    def deliver(
        self, update: dict[str, Any], *, secret: str = WEBHOOK_SECRET
    ) -> httpx.Response | int:
        """Give an update to the bot (queue it for polling, or POST it to the webhook)."""
        if self.mode == "polling":
            return self.fake.push_update(update)
        update.setdefault("update_id", int(time.monotonic_ns() % 2_000_000_000))
        response = httpx.post(
            self.webhook_url,
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            timeout=30,
        )
        if response.status_code == 200 and response.content:
            self.webhook_answers.append(response.json())
        return response

    def processed(self, update_id: int) -> bool:
        with self.app.db.transaction() as session:
            return (
                session.scalar(
                    select(ProcessedEvent.id).where(
                        ProcessedEvent.channel == CHANNEL,
                        ProcessedEvent.event_key == str(update_id),
                    )
                )
                is not None
            )

    def idle(self, chat_id: int) -> bool:
        with self.app.db.transaction() as session:
            return not outbox.pending(session, channel=CHANNEL, recipient=str(chat_id))


class TelegramUser:
    """A jobseeker in a private chat with the bot."""

    def __init__(
        self, harness: Harness, chat_id: int, *, language_code: str | None = "ja"
    ) -> None:
        self.h, self.chat_id, self.language_code = harness, chat_id, language_code
        self.language = "ja"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.h.fake.messages(self.chat_id)

    @property
    def last_text(self) -> str:
        texts = [m.get("text") or m.get("caption") or "" for m in self.messages]
        return texts[-1] if texts else ""

    @property
    def keyboard_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if (m.get("reply_markup") or {}).get("inline_keyboard")]

    def _settle(self, update: dict[str, Any]) -> None:
        result = self.h.deliver(update)
        update_id = update.get("update_id") if self.h.mode == "webhook" else result
        assert isinstance(update_id, int)
        wait_until(lambda: self.h.processed(update_id) and self.h.idle(self.chat_id))

    def send(self, text: str) -> TelegramUser:
        self._settle(message_update(self.chat_id, text, language_code=self.language_code))
        return self

    def buttons(self, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        target = message or (self.keyboard_messages or [{}])[-1]
        return [
            b for row in (target.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
        ]

    def press_text(self, text: str, *, message: dict[str, Any] | None = None) -> TelegramUser:
        target = copy.deepcopy(message or self.keyboard_messages[-1])
        button = next((b for b in self.buttons(target) if b["text"] == text), None)
        assert button is not None, (
            f"no button {text!r} in {[b['text'] for b in self.buttons(target)]}"
        )
        update = callback_update(
            self.chat_id, button["callback_data"], message=target, language_code=self.language_code
        )
        self._settle(update)
        return self

    def click(self, label_id: str, **params: Any) -> TelegramUser:
        """Press the button whose label is this catalog message, in the user's language."""
        return self.press_text(Renderer(self.language).text(label_id, **params))

    def press_index(self, index: int) -> TelegramUser:
        return self.press_text(self.buttons()[index]["text"])

    def sees(self, message_id: str, **params: Any) -> bool:
        """Return True when the latest message shows this catalog text (its first line)."""
        expected = Renderer(self.language).text(message_id, **params).split("\n")[0][:40]
        live = self.keyboard_messages[-1].get("text", "") if self.keyboard_messages else ""
        return expected in self.last_text or expected in live  # edited in place, or new
