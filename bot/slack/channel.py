"""Slack as a registered channel, for counselors: its settings, `/slack/events`, the
notification sender and Socket Mode.

Wiring only, and light: bolt and the SDK are imported when a part is built. Slack drains the
counselors' outbox, so no printed fallback runs while it is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from bot.app import App
from bot.channels.protocol import Runner, WebPart, running_task
from bot.checks import Check
from bot.slack.settings import SlackSettings, read
from storage.outbox import COUNSELORS


class Slack:
    """Counselors in Slack: notifications, buttons and modals, `/madoguchi`."""

    name = "slack"
    outbox = COUNSELORS
    jobseekers = False

    def read_settings(self, env: Mapping[str, str], problems: list[str]) -> SlackSettings | None:
        """Read SLACK_*; None when Slack is off."""
        return read(env, problems)

    def web(self, app: App, settings: SlackSettings, *, with_worker: bool) -> WebPart:
        """`/slack/events` (bolt verifies each request); in one process, the worker part."""
        from bot.slack import webhook
        from bot.slack.app import build_slack_app

        bolt, _ = build_slack_app(app, settings)
        running = running_task(self.worker(app, settings), "slack") if with_worker else None
        return WebPart(route=webhook.route(bolt), running=running)

    def worker(self, app: App, settings: SlackSettings) -> Runner:
        """The notification sender, and Socket Mode when SLACK_APP_TOKEN is set."""
        from bot.slack.runner import work

        return partial(work, app, settings)

    def alone(self, app: App, settings: SlackSettings) -> Runner | None:
        """The worker part: notifications need no web server (interactions come over Socket
        Mode, or to `/slack/events` of a `web` process)."""
        return self.worker(app, settings)

    def doctor(self, settings: SlackSettings) -> list[Check]:
        """Read-only calls that show whether the token and the webhook are right."""
        from bot.slack.doctor import checks

        return checks(settings)


SLACK = Slack()
