"""Telegram's settings, read from the environment (`TELEGRAM_*`) with every problem found.

Plain values: this module never imports the SDK and never prints or logs the token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TelegramSettings:
    """Telegram is enabled by TELEGRAM_BOT_TOKEN; a webhook URL switches off polling."""

    token: str = field(repr=False)
    api_base_url: str
    webhook_url: str
    webhook_secret: str = field(repr=False)
    max_connections: int
    per_second: float

    @property
    def uses_webhook(self) -> bool:
        """Return True when updates come by webhook rather than long polling."""
        return bool(self.webhook_url)


def read(env: Mapping[str, str], problems: list[str]) -> TelegramSettings | None:
    """Read the Telegram settings; None when Telegram is not enabled."""
    if "TELEGRAM_BOT_TOKEN" not in env and not env.get("TELEGRAM_WEBHOOK_URL"):
        return None
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token or ":" not in token:
        problems.append(
            "TELEGRAM_BOT_TOKEN is empty or not a bot token (it looks like 123456:ABC...)"
        )
    base = env.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org").strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        problems.append("TELEGRAM_API_BASE_URL must be an http(s) URL")
    webhook = env.get("TELEGRAM_WEBHOOK_URL", "").strip()
    secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if webhook:
        if not webhook.startswith("https://"):
            problems.append("TELEGRAM_WEBHOOK_URL must be an https:// URL (Telegram requires it)")
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            problems.append(
                "TELEGRAM_WEBHOOK_SECRET is required with a webhook: 16-256 characters of "
                "A-Z a-z 0-9 _ -"
            )
    connections = env.get("TELEGRAM_WEBHOOK_MAX_CONNECTIONS", "40")
    if not (connections.isascii() and connections.isdigit()) or not 1 <= int(connections) <= 100:
        problems.append("TELEGRAM_WEBHOOK_MAX_CONNECTIONS must be 1 to 100")
    try:
        per_second = float(env.get("TELEGRAM_MESSAGES_PER_SECOND", "29"))
        if not 0 < per_second <= 30:
            raise ValueError
    except ValueError:
        problems.append("TELEGRAM_MESSAGES_PER_SECOND must be above 0 and at most 30")
        per_second = 29.0
    return TelegramSettings(
        token=token,
        api_base_url=base,
        webhook_url=webhook,
        webhook_secret=secret,
        max_connections=int(connections)
        if (connections.isascii() and connections.isdigit())
        else 40,
        per_second=per_second,
    )
