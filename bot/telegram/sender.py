"""Outbound, I/O part: deliver Telegram outbox rows through the Bot API, reliably.

Rows are leased from the outbox (several senders never take the same row; each chat's
oldest first, fairly across chats), delivered one call at a time within the pacer's limits,
each call recorded, then marked sent. A 429 pauses all calls for its retry-after; network
errors and 5xx retry later with backoff; a crash resumes at the first unrecorded call, at
once when the same sender restarts, else when the short lease runs out. A call whose answer
was lost (timeout) is the one case that can show a message twice: the Bot API has no
idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery import LEASE, OutboxSender
from bot.pacing import Pacer
from bot.telegram import CHANNEL
from bot.telegram.outbound import Call, markup, plan, render
from storage import contacts, outbox
from storage.db import Database

log = logging.getLogger("madoguchi.telegram.sender")

HARMLESS_EDIT_ERRORS = ("not modified", "message to edit not found", "can't be edited")


def _keyboard(raw: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    if not raw:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in raw["inline_keyboard"]
        ]
    )


def _seconds(retry_after: Any) -> float:
    return (
        retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)
    )


class TelegramSender(OutboxSender):
    """Drains the Telegram outbox."""

    channel = CHANNEL

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        clock: Callable[[], datetime],
        per_second: float = 29.0,
        per_chat_interval: float = 1.05,
        per_chat_burst: int = 2,
        lease: timedelta = LEASE,
        idle_seconds: float = 0.2,
        batch: int = 200,
        max_in_flight: int = 100,
        owner: str | None = None,
    ) -> None:
        super().__init__(
            db,
            clock=clock,
            lease=lease,
            idle_seconds=idle_seconds,
            batch=batch,
            max_in_flight=max_in_flight,
            owner=owner,
        )
        self.bot = bot
        # Telegram allows about one message per second per chat, and short bursts above it:
        # two calls at once (a typed answer, the booking confirmation) go out together.
        # Tidying up after an answer (closing a question, taking a keyboard off) gives way
        # to other chats' answers for a moment: under a bunch of answers, answers go first.
        self.pacer = Pacer(
            per_second=per_second,
            per_key_interval=per_chat_interval,
            per_key_burst=per_chat_burst,
            window=29,
        )

    def _claim(self, room: int) -> list[tuple[int, str, dict[str, Any], int, int, dict[str, Any]]]:
        """Lease a batch and fix each row's plan context, in one transaction."""
        with self.db.transaction() as session:
            rows = self._claim_rows(session, room)
            keyboards = contacts.keyboard_messages(session, CHANNEL, [r.recipient for r in rows])
            return [
                (
                    r.id,
                    r.recipient,
                    r.payload,
                    r.parts_sent,
                    r.attempts,
                    outbox.start_plan(
                        session, r.id, {"keyboard_message_id": keyboards.get(r.recipient)}
                    ),
                )
                for r in rows
            ]

    def _after_call(
        self, row_id: int, chat: str, call: Call, message_id: int | None, *, last: bool
    ) -> None:
        """Record a delivered call (and, after the last one, the row) in one transaction."""
        with self.db.transaction() as session:
            outbox.record_part(session, row_id)
            removed = call.method == "editMessageReplyMarkup"
            if call.sets_keyboard and call.part is not None:
                keyboard = str(message_id) if call.part.keyboard and message_id else None
                contacts.set_keyboard_message(session, CHANNEL, chat, keyboard)
            elif removed and call.params.get("message_id"):
                contact = contacts.get(session, CHANNEL, chat)
                if contact.keyboard_message_id == str(call.params["message_id"]):
                    contact.keyboard_message_id = None
            if last:  # after the contact: the last message to an erased person drops it
                outbox.finish(session, row_id, self.clock())

    def _unreachable(self, chat: str) -> None:
        with self.db.transaction() as session:
            contacts.mark_unreachable(session, CHANNEL, chat, self.clock())

    async def _deliver(
        self,
        row_id: int,
        chat: str,
        payload: dict[str, Any],
        parts_sent: int,
        attempts: int,
        context: dict[str, Any],
    ) -> None:
        calls = plan(payload, render(payload), keyboard_message_id=context["keyboard_message_id"])
        for index, call in enumerate(calls):
            if index < parts_sent:
                continue
            last = index == len(calls) - 1
            while True:
                if self.stopping:  # stopped between calls: the next run resumes at this one
                    return
                await self.pacer.slot(chat, later=call.tidy)
                with self.in_call(row_id):  # from here a stop waits for the answer's record
                    try:
                        message_id = await self._call(int(chat), call)
                    except RetryAfter as exc:
                        self.stats.rate_limited += 1
                        self.pacer.pause(_seconds(exc.retry_after))
                        continue
                    except BadRequest as exc:
                        if not call.method.startswith("edit") or not any(
                            text in str(exc).lower() for text in HARMLESS_EDIT_ERRORS
                        ):
                            self.stats.failed += 1
                            log.error("outbox %s refused by Telegram: %s", row_id, exc)
                            await asyncio.to_thread(
                                self._finish, row_id, status="failed", error=str(exc)[:200]
                            )
                            return
                        message_id = None
                    except Forbidden as exc:
                        self.stats.failed += 1
                        log.info("outbox %s: chat unreachable (%s)", row_id, exc)
                        await asyncio.to_thread(self._unreachable, chat)
                        await asyncio.to_thread(
                            self._finish, row_id, status="failed", error=str(exc)[:200]
                        )
                        return
                    except (TimedOut, NetworkError) as exc:
                        self.stats.retried += 1
                        log.warning(
                            "outbox %s: %s; retrying later", row_id, exc.__class__.__name__
                        )
                        await asyncio.to_thread(self._retry, row_id, attempts, str(exc))
                        return
                    finally:
                        self.pacer.finished()  # answered or not, it counts a second
                    self.stats.calls += 1
                    await asyncio.to_thread(
                        self._after_call, row_id, chat, call, message_id, last=last
                    )
                    break
        if len(calls) <= parts_sent:  # everything was sent before a crash; close the row
            await asyncio.to_thread(self._finish, row_id)
        self.stats.delivered += 1

    async def _call(self, chat_id: int, call: Call) -> int | None:
        """Make one Bot API call; return the id of the message it showed."""
        part = call.part
        if call.method == "sendMessage":
            assert part is not None
            sent = await self.bot.send_message(
                chat_id, part.text, reply_markup=_keyboard(markup(part.keyboard))
            )
            return sent.message_id
        if call.method == "sendDocument":
            assert part is not None and part.document is not None
            sent = await self.bot.send_document(
                chat_id,
                document=InputFile(part.document, filename=part.filename),
                caption=part.text or None,
                reply_markup=_keyboard(markup(part.keyboard)),
            )
            return sent.message_id
        if call.method == "editMessageText":
            keyboard = _keyboard(markup(part.keyboard)) if part else None
            await self.bot.edit_message_text(
                call.params["text"],
                chat_id=chat_id,
                message_id=call.params["message_id"],
                reply_markup=keyboard,
            )
            return int(call.params["message_id"])
        if call.method == "editMessageReplyMarkup":
            await self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=call.params["message_id"], reply_markup=None
            )
            return None
        raise ValueError(f"unknown call {call.method}")
