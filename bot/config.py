"""Configuration from environment variables (12-factor), checked once at start.

Every problem is reported in one message that says which variable to fix; a secret that is
required and empty stops start-up. Each channel reads its own variables (the registry);
this module names no channel.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from bot.channels.registry import CHANNELS
from bot.settings import STEPS_AT_ONCE, Settings, default_secret_key_file, embedded_secret_key
from storage.offices import check_link_template
from storage.vault import Vault

__all__ = ["ConfigError", "Settings", "embedded_secret_key", "load"]

DEFAULT_LINK_TEMPLATE = "https://meet.madoguchi.invalid/{office}/{token}"


class ConfigError(Exception):
    """The environment does not describe a usable configuration."""


def _data_dir(env: dict[str, str]) -> Path:
    raw = env.get("MADOGUCHI_DATA_DIR") or str(Path.cwd() / "data")
    return Path(raw).expanduser().resolve()


def _whole_number(raw: str, low: int, high: int) -> int | None:
    """Return `raw` as a whole number from `low` to `high`, or None (ASCII digits only)."""
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    return None


def load(env: dict[str, str] | None = None) -> Settings:
    """Read and check the configuration; raise ConfigError listing every problem."""
    env = dict(os.environ if env is None else env)
    problems: list[str] = []
    data_dir = _data_dir(env)
    url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'madoguchi.sqlite3'}"
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")):
        problems.append("DATABASE_URL must be a sqlite:/// file or a postgresql:// URL")

    key = env.get("MADOGUCHI_SECRET_KEY", "").strip()
    if key:
        try:
            Vault.check_key(key)
        except ValueError as exc:
            problems.append(
                f"MADOGUCHI_SECRET_KEY is not a valid key ({exc}); make one with "
                "`madoguchi secret-key`"
            )
    elif not url.startswith("sqlite"):
        problems.append(
            "MADOGUCHI_SECRET_KEY is required with PostgreSQL (it seals personal data at rest); "
            "make one with `madoguchi secret-key`"
        )

    key_file = default_secret_key_file(env)
    if key_file == data_dir or data_dir in key_file.parents:
        problems.append(
            "MADOGUCHI_SECRET_KEY_FILE must not be inside MADOGUCHI_DATA_DIR (a copy of the "
            "data folder would carry the key that opens it)"
        )

    template = env.get("MADOGUCHI_MEETING_LINK_TEMPLATE", "").strip() or DEFAULT_LINK_TEMPLATE
    try:
        check_link_template(template)
    except ValueError:
        problems.append(
            "MADOGUCHI_MEETING_LINK_TEMPLATE must start with https:// and contain {token} "
            "(it may also use {reference} and {office})"
        )

    level = env.get("MADOGUCHI_LOG_LEVEL", "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        problems.append(f"MADOGUCHI_LOG_LEVEL {level!r} is not a logging level")
    log_format = env.get("MADOGUCHI_LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        problems.append("MADOGUCHI_LOG_FORMAT must be text or json")
    metrics_raw = env.get("MADOGUCHI_WORKER_METRICS_PORT", "").strip()
    worker_metrics_port = _whole_number(metrics_raw, 1, 65535) if metrics_raw else None
    if metrics_raw and worker_metrics_port is None:
        problems.append("MADOGUCHI_WORKER_METRICS_PORT must be a TCP port number")

    steps_raw = env.get("MADOGUCHI_STEPS_AT_ONCE", "").strip()
    steps_at_once = _whole_number(steps_raw, 1, 64) if steps_raw else STEPS_AT_ONCE
    if steps_at_once is None:
        problems.append("MADOGUCHI_STEPS_AT_ONCE must be a whole number from 1 to 64")
        steps_at_once = STEPS_AT_ONCE

    counselor_language = env.get("MADOGUCHI_COUNSELOR_LANGUAGE", "ja")
    from flows import languages

    if counselor_language not in languages.counselor_codes():
        problems.append(
            f"MADOGUCHI_COUNSELOR_LANGUAGE must be one of {languages.counselor_codes()}"
        )

    channels = {channel.name: channel.read_settings(env, problems) for channel in CHANNELS}
    port = _whole_number(env.get("PORT", "8000"), 1, 65535)
    if port is None:
        problems.append("PORT must be a TCP port number")
        port = 8000
    # Stable across restarts, unique among the running processes: a process manager's own
    # name (Heroku's DYNO "web.1"), else this host and the port it serves on.
    instance = (
        env.get("MADOGUCHI_INSTANCE", "").strip()
        or env.get("DYNO", "").strip()
        or f"{socket.gethostname()}:{port}"
    )

    if problems:
        raise ConfigError("configuration problems:\n  - " + "\n  - ".join(problems))
    return Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key=key,
        office=env.get("MADOGUCHI_OFFICE", "shinagawa"),
        meeting_app=env.get("MADOGUCHI_MEETING_APP", "Zoom"),
        meeting_link_template=template,
        counselor_language=counselor_language,
        log_level=level,
        channels=channels,
        host=env.get("HOST", "0.0.0.0"),
        port=port,
        instance=instance[:56],
        log_format=log_format,
        worker_metrics_port=worker_metrics_port,
        secret_key_file=key_file,
        steps_at_once=steps_at_once,
    )
