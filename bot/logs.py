"""Logging set-up: our loggers at the configured level; third-party loggers that would
print chat ids, message texts or tokens (PTB, httpx and line-bot-sdk request logs) held back."""

from __future__ import annotations

import logging
import sys
import traceback

QUIET = {
    "httpx": logging.WARNING,  # logs request URLs, which carry the bot token
    "httpcore": logging.WARNING,
    "telegram": logging.WARNING,  # DEBUG logs every request's parameters (chat ids, texts)
    "linebot": logging.WARNING,  # DEBUG logs response bodies of the Messaging API
    "aiohttp": logging.WARNING,
    "apscheduler": logging.WARNING,
    "alembic": logging.WARNING,
    "uvicorn.access": logging.WARNING,
}


def configure(level: str) -> None:
    """Send logs to stderr at `level`, with the noisy and revealing loggers held back."""
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    quiet_third_parties()


def quiet_third_parties() -> None:
    """Hold back third-party loggers that could reveal personal data or secrets."""
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)


def frames(exc: BaseException) -> str:
    """Return where an exception happened, without its message (which may quote data)."""
    return "".join(traceback.format_tb(exc.__traceback__)).rstrip()
