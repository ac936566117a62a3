"""Slack's settings (counselors), read from the environment (`SLACK_*`) with every problem.

Plain values: this module never imports the SDK; the app-level token never shows in a repr.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MIN_SECRET = 16
"""A shorter secret is a typo or a placeholder (Slack's own are 32 characters)."""


@dataclass(frozen=True)
class SlackSettings:
    """Slack for counselors, enabled by SLACK_BOT_TOKEN."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    channel_id: str
    counselor_ids: frozenset[str]
    api_base_url: str
    app_token: str = field(default="", repr=False)  # xapp-…: Socket Mode, no public endpoint


def read(env: Mapping[str, str], problems: list[str]) -> SlackSettings | None:
    """Read the Slack settings; None when Slack is not enabled."""
    if "SLACK_BOT_TOKEN" not in env:
        return None
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    channel = env.get("SLACK_CHANNEL_ID", "").strip()
    if not token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN is empty or not a bot token (xoxb-...)")
    if not secret:
        problems.append(
            "SLACK_SIGNING_SECRET is required with Slack (requests are verified with it)"
        )
    elif len(secret) < MIN_SECRET:
        problems.append(
            f"SLACK_SIGNING_SECRET is too short (at least {MIN_SECRET} characters; copy the "
            "app's Signing Secret from its Basic Information page)"
        )
    if not re.fullmatch(r"[CG][A-Z0-9]{4,}", channel):
        problems.append("SLACK_CHANNEL_ID must be the counselors' channel id (C0123ABCD)")
    base = env.get("SLACK_API_BASE_URL", "https://slack.com/api/").strip()
    if not base.startswith(("https://", "http://")):
        problems.append("SLACK_API_BASE_URL must be an http(s) URL")
    ids = frozenset(i.strip() for i in env.get("SLACK_COUNSELOR_IDS", "").split(",") if i.strip())
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if "SLACK_APP_TOKEN" in env and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN (Socket Mode) must be an app-level token (xapp-...)")
    return SlackSettings(
        bot_token=token,
        signing_secret=secret,
        channel_id=channel,
        counselor_ids=ids,
        api_base_url=base if base.endswith("/") else base + "/",
        app_token=app_token,
    )
