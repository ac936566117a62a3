"""Telegram as a registered channel: its settings, its web part, its sender, polling alone.

Wiring only, and light: the SDK and the running parts are imported when a part is built,
so reading the configuration never loads python-telegram-bot.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from bot.app import App
from bot.channels.protocol import Runner, WebPart
from bot.checks import Check
from bot.telegram import CHANNEL
from bot.telegram.settings import TelegramSettings, read


class Telegram:
    """Jobseekers on Telegram: a webhook or long polling; replies paced by the sender."""

    name = CHANNEL
    outbox = CHANNEL
    jobseekers = True

    def read_settings(
        self, env: Mapping[str, str], problems: list[str]
    ) -> TelegramSettings | None:
        """Read TELEGRAM_*; None when Telegram is off."""
        return read(env, problems)

    def web(self, app: App, settings: TelegramSettings, *, with_worker: bool) -> WebPart | None:
        """The webhook and its registration; in one process, polling and the sender too."""
        if not settings.uses_webhook and not with_worker:
            return None  # polling belongs to the one process that also delivers
        from bot.telegram.runner import InWebProcess

        part = InWebProcess(app, settings, with_sender=with_worker)
        return WebPart(route=part.route, running=part.running)

    def worker(self, app: App, settings: TelegramSettings) -> Runner:
        """The sender, within Telegram's rate limits."""
        from bot.telegram.runner import deliver

        return partial(deliver, app, settings)

    def alone(self, app: App, settings: TelegramSettings) -> Runner | None:
        """Long polling and the sender; None with a webhook (it needs the web server)."""
        if settings.uses_webhook:
            return None
        from bot.telegram.runner import poll_alone

        return partial(poll_alone, app, settings)

    def doctor(self, settings: TelegramSettings) -> list[Check]:
        """Read-only calls that show whether the token and the webhook are right."""
        from bot.telegram.doctor import checks

        return checks(settings)


TELEGRAM = Telegram()
