"""The registry: every channel Madoguchi can run, one line each, in the order they start.

`bot.config`, `bot.web`, `bot.runner` and `bot.cli` loop over it and name no channel. A new
channel is its package (see README, "Adding a channel") plus one line here. Nothing here
may import a channel's SDK: each channel imports its own when a part is built.
"""

from __future__ import annotations

from typing import Any

from bot.channels.protocol import Channel, Channels
from bot.line.channel import LINE
from bot.settings import Settings
from bot.slack.channel import SLACK
from bot.telegram.channel import TELEGRAM

CHANNELS: Channels = (
    TELEGRAM,
    LINE,
    SLACK,
)


def enabled(settings: Settings) -> list[tuple[Channel[Any], Any]]:
    """Return each configured channel with its settings, in registry order."""
    found = []
    for channel in CHANNELS:
        own = settings.channels.get(channel.name)
        if own is not None:
            found.append((channel, own))
    return found
