"""Post counselor notifications (the morning digest, the weekly usage figures) from the
outbox to the channel.

Paced at about one message per second per channel; a 429 waits its Retry-After; network
errors and 5xx retry later; the message's ts is stored with the booking in the same
transaction that marks the notification sent, so buttons can update it and nothing is
posted twice (save a crash between Slack's answer and that commit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs, metrics, operations, usage_report
from bot.pacing import Pacer
from bot.rendering import Renderer
from bot.slack.blocks import booking_message, schedule_blocks
from storage import offices, outbox
from storage.db import Database
from storage.models import Booking
from storage.vault import Vault

log = logging.getLogger("madoguchi.slack.sender")


class SlackSender:
    """Drains the counselors' outbox into one Slack channel."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        client: AsyncWebClient,
        *,
        channel: str,
        language: str,
        clock: Callable[[], datetime],
        office_code: str,
        per_channel_interval: float = 1.1,
        idle_seconds: float = 0.5,
    ) -> None:
        self.db, self.vault, self.client = db, vault, client
        self.channel = channel
        self.renderer = Renderer(language)
        self.clock = clock
        self.office_code = office_code
        self.pacer = Pacer(per_second=5, per_key_interval=per_channel_interval)
        self.idle_seconds = idle_seconds
        self.posted = 0
        self.rate_limited = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set."""
        while not stop.is_set():
            delivered = await self.drain_once()
            if not delivered:
                try:
                    await asyncio.wait_for(stop.wait(), self.idle_seconds)
                except TimeoutError:
                    pass

    async def drain_once(self) -> int:
        """Deliver what is pending now, in order, one message at a time; return how many."""
        count = 0
        while rows := await asyncio.to_thread(self._claim):
            for row_id, payload, attempts in rows:
                if not await self._deliver(row_id, payload, attempts):
                    return count  # it waits for a retry; the ones after it wait too
                count += 1
        return count

    def _claim(self) -> list[tuple[int, dict[str, Any], int]]:
        with self.db.transaction() as session:
            rows = outbox.claim_batch(
                session,
                channel=outbox.COUNSELORS,
                now=self.clock(),
                lease=timedelta(minutes=2),
                limit=50,
            )
            return [(r.id, r.payload, r.attempts) for r in rows]

    def _compose(self, payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        with self.db.transaction() as session:
            if payload["kind"] == "digest":
                office = offices.get_office(session, self.office_code)
                day = date.fromisoformat(payload["day"])
                rows = operations.schedule(session, office, self.vault, day, 1)
                title = self.renderer.text("slack.digest.title", date=day)
                return title, schedule_blocks(title, rows, self.renderer)
            if payload["kind"] == "usage_weekly":
                office = offices.get_office(session, payload["office"])
                start, end = (
                    date.fromisoformat(payload["start"]),
                    date.fromisoformat(payload["end"]),
                )
                found = usage_report.figures(session, office, start, end)
                title = self.renderer.text("slack.weekly.title", start=str(start), end=str(end))
                return title, usage_report.slack_blocks(found, self.renderer, title)
            booking = session.get(Booking, payload["booking_id"])
            assert booking is not None
            old = (
                session.get(Booking, payload["replaces_id"])
                if payload.get("replaces_id")
                else None
            )
            return booking_message(
                session, booking, self.vault, self.renderer, kind=payload["kind"], old=old
            )

    def _record(self, row_id: int, payload: dict[str, Any], ts: str) -> None:
        with self.db.transaction() as session:
            if payload["kind"] in ("booked", "rescheduled"):
                booking = session.get(Booking, payload["booking_id"])
                if booking is not None:
                    booking.counselor_channel = self.channel
                    booking.counselor_message_ts = ts
            outbox.finish(session, row_id, self.clock())

    def _retry(self, row_id: int, attempts: int, error: str) -> None:
        with self.db.transaction() as session:
            delay = min(300.0, 1.0 * 2 ** min(attempts, 8))
            outbox.retry_later(session, row_id, self.clock() + timedelta(seconds=delay), error)

    async def _deliver(self, row_id: int, payload: dict[str, Any], attempts: int) -> bool:
        text, blocks = await asyncio.to_thread(self._compose, payload)
        while True:
            await self.pacer.slot(self.channel)
            try:
                answer = await self.client.chat_postMessage(
                    channel=self.channel, text=text, blocks=blocks
                )
                break
            except SlackApiError as exc:
                status = exc.response.status_code
                if status == 429:
                    self.rate_limited += 1
                    metrics.sender_did("slack", "rate_limited")
                    self.pacer.pause(float(exc.response.headers.get("Retry-After", "1")))
                    continue
                log.warning(
                    "counselor notification %s not posted (%s); retrying later", row_id, status
                )
                metrics.sender_did("slack", "retried")
                await asyncio.to_thread(self._retry, row_id, attempts, f"slack {status}")
                return False
            except Exception as exc:  # noqa: BLE001 - network trouble: try again later
                log.warning(
                    "counselor notification %s: %s\n%s",
                    row_id,
                    type(exc).__name__,
                    logs.frames(exc),
                )
                metrics.sender_did("slack", "retried")
                await asyncio.to_thread(self._retry, row_id, attempts, type(exc).__name__)
                return False
        await asyncio.to_thread(self._record, row_id, payload, answer["ts"])
        self.posted += 1
        metrics.sender_did("slack", "delivered")
        return True
