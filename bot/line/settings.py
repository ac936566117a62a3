"""LINE's settings, read from the environment (`LINE_*`) with every problem found.

Plain values: this module never imports the SDK; the secret and the token never show in a
repr, a log or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MIN_SECRET = 16
"""A shorter secret is a typo or a placeholder (LINE's own are 32 characters)."""


@dataclass(frozen=True)
class LineSettings:
    """LINE is enabled by LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN (both needed)."""

    channel_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    api_base_url: str = "https://api.line.me"


def read(env: Mapping[str, str], problems: list[str]) -> LineSettings | None:
    """Read the LINE settings; None when LINE is not enabled."""
    names = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")
    if not any(name in env for name in names):
        return None
    values = {name: env.get(name, "").strip() for name in names}
    for name, value in values.items():
        if not value:
            problems.append(
                f"{name} is empty or missing: LINE needs both LINE_CHANNEL_SECRET and "
                "LINE_CHANNEL_ACCESS_TOKEN (from the LINE Developers console)"
            )
    secret = values["LINE_CHANNEL_SECRET"]
    if secret and len(secret) < MIN_SECRET:
        problems.append(
            f"LINE_CHANNEL_SECRET is too short (at least {MIN_SECRET} characters; copy the "
            "channel secret from the LINE Developers console)"
        )
    base = env.get("LINE_API_BASE_URL", "https://api.line.me").strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        problems.append("LINE_API_BASE_URL must be an http(s) URL")
    return LineSettings(
        channel_secret=values["LINE_CHANNEL_SECRET"],
        access_token=values["LINE_CHANNEL_ACCESS_TOKEN"],
        api_base_url=base,
    )
