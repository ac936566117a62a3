"""Logging set-up: our loggers at the configured level; third-party loggers that would
print chat ids, message texts or tokens (PTB, httpx and line-bot-sdk request logs) held back."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime

QUIET = {
    "httpx": logging.WARNING,  # logs request URLs, which carry the bot token
    "httpcore": logging.WARNING,
    "telegram": logging.WARNING,  # DEBUG logs every request's parameters (chat ids, texts)
    "linebot": logging.WARNING,  # DEBUG logs response bodies of the Messaging API
    "aiohttp": logging.WARNING,
    "apscheduler": logging.WARNING,
    "alembic": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    "slack_sdk": logging.WARNING,  # DEBUG logs every API call's body (notes, languages)
    "slack_bolt": logging.WARNING,  # INFO logs a request failing verification with its body
}

OURS = ("madoguchi", "uvicorn")
"""Loggers whose messages we write (or uvicorn's, which carry no request data): a third
party's message is cut to its first words (`ThirdPartyDetails`)."""
_DETAIL = re.compile(r"\s*[(:{\[=\n].*", re.S)


class ThirdPartyDetails(logging.Filter):
    """Cut a third-party record to its first words, before any "(", ":", "{", "[", "=" or
    line break, and drop its exception's text: libraries quote request bodies, payloads and
    URLs there ("Invalid request signature detected (... body: ...)"), and this handler
    must never print them, at any level."""

    def __init__(self, *, every_record: bool = False) -> None:
        super().__init__()
        self.every_record = every_record  # also records logged under one of our names

    def filter(self, record: logging.LogRecord) -> bool:
        if self.every_record or not record.name.startswith(OURS):
            head = _DETAIL.sub("", record.getMessage()).strip()
            record.msg, record.args = head or "(details withheld)", ()
            if record.exc_info and record.exc_info[1] is not None:
                record.msg += f" [{type(record.exc_info[1]).__name__}]"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
PSEUDONYM = re.compile(r"[0-9a-f]{24}")  # storage.vault.Vault.pseudonym's shape


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the
    pseudonyms the message names (the keyed ids our log lines already use, never raw ids).

    An exception adds its type and where it happened, never its text (which may quote data).
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args if isinstance(record.args, tuple) else ()
        named = [a for a in args if isinstance(a, str) and PSEUDONYM.fullmatch(a)]
        if named:
            entry["pseudonyms"] = named
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = type(record.exc_info[1]).__name__
            entry["frames"] = frames(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    """Send logs to stderr at `level` (as text, or one JSON object per line), with the noisy
    and revealing loggers held back."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ThirdPartyDetails())
    logging.basicConfig(level=level, handlers=[handler])
    quiet_third_parties()


def quiet_third_parties() -> None:
    """Hold back third-party loggers that could reveal personal data or secrets."""
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)


def bolt_logger() -> logging.Logger:
    """The logger bolt's app and middleware use (bolt copies its level to theirs): ours,
    held at WARNING whatever the configured level, so no bolt line carries a request."""
    logger = logging.getLogger("madoguchi.slack.bolt")
    logger.setLevel(logging.WARNING)
    logger.addFilter(ThirdPartyDetails(every_record=True))  # bolt writes under our name
    return logger


def frames(exc: BaseException) -> str:
    """Return where an exception happened, without its message (which may quote data)."""
    return "".join(traceback.format_tb(exc.__traceback__)).rstrip()
