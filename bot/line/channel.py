"""LINE as a registered channel: its settings, its webhook with the inbox, its sender.

Wiring only, and light: the SDK and the running parts are imported when a part is built,
so reading the configuration never loads line-bot-sdk.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from bot.app import App
from bot.channels.protocol import Runner, WebPart
from bot.checks import Check
from bot.line import CHANNEL
from bot.line.settings import LineSettings, read


class Line:
    """Jobseekers on LINE: a webhook answered from the inbox at once; replies and pushes."""

    name = CHANNEL
    outbox = CHANNEL
    jobseekers = True

    def read_settings(self, env: Mapping[str, str], problems: list[str]) -> LineSettings | None:
        """Read LINE_*; None when LINE is off."""
        return read(env, problems)

    def web(self, app: App, settings: LineSettings, *, with_worker: bool) -> WebPart:
        """The webhook and its inbox processor; in one process, the sender too."""
        from bot.line.runner import InWebProcess

        part = InWebProcess(app, settings, with_sender=with_worker)
        return WebPart(route=part.route, running=part.running)

    def worker(self, app: App, settings: LineSettings) -> Runner:
        """The sender (replies and pushes, within LINE's limits)."""
        from bot.line.runner import deliver

        return partial(deliver, app, settings)

    def alone(self, app: App, settings: LineSettings) -> Runner | None:
        """None: LINE only speaks by webhook, so it needs the web server."""
        return None

    def doctor(self, settings: LineSettings) -> list[Check]:
        """Read-only calls that show whether the token and the webhook are right."""
        from bot.line.doctor import checks

        return checks(settings)


LINE = Line()
