"""Run the Telegram channel in the test's event loop: real PTB client, our polling or webhook
(under uvicorn on 127.0.0.1), our sender, against the fake Bot API server; and a simulated
user who clicks buttons by their label and awaits until the bot has answered."""

from __future__ import annotations

import asyncio
import copy
import time
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

import httpx
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
from tests.fakes.server import serving
from tests.fakes.telegram_api import FakeTelegram, callback_update, message_update
from tests.waiting import wait_until

WEBHOOK_SECRET = "test-secret-0123456789"


class Harness:
    """The channel's pieces as tasks of the running loop: `async with Harness(...) as h:`.

    Polling mode runs our long poll; webhook mode serves our route under uvicorn. Both run
    the sender (unless `sending=False`). Leaving the block stops them and shuts the bot down.
    """

    def __init__(
        self,
        app: App,
        fake: FakeTelegram,
        *,
        mode: str = "polling",
        per_chat_interval: float = 0.02,
        per_chat_burst: int = 2,
        per_second: float = 28.0,
        poll_timeout: int = 1,
        sending: bool = True,
    ) -> None:
        self.app, self.fake, self.mode = app, fake, mode
        self.bot = make_bot(fake.token, fake.base_url.removesuffix("/bot"))
        self.sender = TelegramSender(
            app.db,
            self.bot,
            clock=app.clock,
            per_second=per_second,
            per_chat_interval=per_chat_interval,
            per_chat_burst=per_chat_burst,
            idle_seconds=0.02,
        )
        self.poll_timeout = poll_timeout
        self.sending = sending
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.webhook_url = ""
        self.webhook_answers: list[dict[str, Any]] = []
        self._resources = AsyncExitStack()
        self.http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Harness:
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        await self.bot.initialize()
        self._resources.push_async_callback(self.bot.shutdown)
        if self.mode == "polling":
            self.tasks.append(
                asyncio.create_task(
                    poll(
                        self.app, self.bot, self.sender, self.stop_event, timeout=self.poll_timeout
                    )
                )
            )
        if self.sending:
            self.tasks.append(asyncio.create_task(self.sender.run(self.stop_event)))
        if self.mode == "webhook":
            route = webhook.route(
                self.app, self.bot, secret=WEBHOOK_SECRET, on_update=self.sender.wake.set
            )
            base = await self._resources.enter_async_context(
                serving(create_web_app([route]), name="telegram-webhook")
            )
            self.webhook_url = f"{base}{webhook.PATH}"
            self.http = await self._resources.enter_async_context(httpx.AsyncClient(timeout=30))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async with self._resources:  # then the webhook server, the client and the bot stop
            self.stop_event.set()
            for task in self.tasks:
                try:
                    await asyncio.wait_for(task, 5)
                except TimeoutError:  # a poll stuck in getUpdates is cancelled
                    pass

    async def deliver(
        self, update: dict[str, Any], *, secret: str = WEBHOOK_SECRET
    ) -> httpx.Response | int:
        """Give an update to the bot (queue it for polling, or POST it to the webhook)."""
        if self.mode == "polling":
            return self.fake.push_update(update)
        update.setdefault("update_id", int(time.monotonic_ns() % 2_000_000_000))
        response = await self.post(update, secret=secret)
        if response.status_code == 200 and response.content:
            self.webhook_answers.append(response.json())
        return response

    async def post(
        self,
        update: dict[str, Any] | None = None,
        *,
        content: bytes | None = None,
        secret: str | None = WEBHOOK_SECRET,
    ) -> httpx.Response:
        """POST to the webhook as Telegram would: JSON (or raw bytes), with the secret header."""
        assert self.http is not None, "the webhook is served in webhook mode only"
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        return await self.http.post(
            self.webhook_url, json=update, content=content, headers=headers
        )

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
    """A jobseeker in a private chat with the bot; each action returns once it is answered."""

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

    async def _settle(self, update: dict[str, Any]) -> None:
        result = await self.h.deliver(update)
        update_id = update.get("update_id") if self.h.mode == "webhook" else result
        assert isinstance(update_id, int)
        await wait_until(lambda: self.h.processed(update_id) and self.h.idle(self.chat_id))

    async def send(self, text: str) -> TelegramUser:
        await self._settle(message_update(self.chat_id, text, language_code=self.language_code))
        return self

    def buttons(self, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        target = message or (self.keyboard_messages or [{}])[-1]
        return [
            b for row in (target.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
        ]

    async def press_text(
        self, text: str, *, message: dict[str, Any] | None = None
    ) -> TelegramUser:
        target = copy.deepcopy(message or self.keyboard_messages[-1])
        button = next((b for b in self.buttons(target) if b["text"] == text), None)
        assert button is not None, (
            f"no button {text!r} in {[b['text'] for b in self.buttons(target)]}"
        )
        update = callback_update(
            self.chat_id, button["callback_data"], message=target, language_code=self.language_code
        )
        await self._settle(update)
        return self

    async def click(self, label_id: str, **params: Any) -> TelegramUser:
        """Press the button whose label is this catalog message, in the user's language."""
        return await self.press_text(Renderer(self.language).text(label_id, **params))

    async def press_index(self, index: int) -> TelegramUser:
        return await self.press_text(self.buttons()[index]["text"])

    def sees(self, message_id: str, **params: Any) -> bool:
        """Return True when the latest message shows this catalog text (its first line)."""
        expected = Renderer(self.language).text(message_id, **params).split("\n")[0][:40]
        live = self.keyboard_messages[-1].get("text", "") if self.keyboard_messages else ""
        return expected in self.last_text or expected in live  # edited in place, or new
