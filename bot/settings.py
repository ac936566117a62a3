"""The validated configuration of one process: what `bot.config.load` read and checked.

Plain values only. It never reads the environment and never imports a channel: each
channel's own settings sit in `channels`, under the channel's name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.vault import Vault

log = logging.getLogger("madoguchi.config")

STEPS_AT_ONCE = 2
"""How many conversation steps one process runs at once, by default (see `Intake`)."""


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one process."""

    data_dir: Path
    database_url: str
    secret_key: str = field(repr=False)
    office: str
    meeting_app: str
    meeting_link_template: str
    counselor_language: str
    log_level: str
    # each registered channel's settings by its name; None when that channel is off
    channels: Mapping[str, Any] = field(default_factory=dict)
    host: str = "0.0.0.0"
    port: int = 8000
    # This process's stable name among the running ones: it holds leases under it, and a
    # restart under the same name takes them back at once (not after they run out).
    instance: str = "local"
    log_format: str = "text"  # or "json": one JSON object per line, for a log collector
    # The worker's own counters (its senders) on this port's /metrics; None: not served
    worker_metrics_port: int | None = None
    # Where the embedded default keeps its generated key: never inside `data_dir`, so a
    # copy of the data folder does not carry the key that opens it.
    secret_key_file: Path | None = None
    # How many conversation steps this process runs at once (bot.service.intake.Intake)
    steps_at_once: int = STEPS_AT_ONCE

    @property
    def embedded(self) -> bool:
        """Return True on the embedded default (SQLite file, migrations applied at start)."""
        return self.database_url.startswith("sqlite")

    def __getattr__(self, name: str) -> Any:
        """Return a channel's settings by its name (`settings.telegram`); None when it is off."""
        channels = self.__dict__.get("channels", {})
        if name in channels:
            return channels[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def default_secret_key_file(env: Mapping[str, str]) -> Path:
    """Return where the embedded default keeps its key: `MADOGUCHI_SECRET_KEY_FILE`, else
    `$XDG_CONFIG_HOME/madoguchi/secret.key` (`~/.config/madoguchi/secret.key`)."""
    named = env.get("MADOGUCHI_SECRET_KEY_FILE", "").strip()
    if named:
        return Path(named).expanduser().resolve()
    # where this user's configuration lives is the process's, whatever `env` was given
    config_home = (
        env.get("XDG_CONFIG_HOME", "").strip()
        or os.environ.get("XDG_CONFIG_HOME", "").strip()
        or str(Path.home() / ".config")
    )
    return (Path(config_home).expanduser() / "madoguchi" / "secret.key").resolve()


def embedded_secret_key(settings: Settings) -> str:
    """Return the configured key, or (embedded default only) the one kept in the key file.

    The file is created (0600, its folder 0700) on first use. A key an earlier version
    kept in the data directory is moved to the key file, so the data stays readable and a
    copy of the data folder no longer carries its key.
    """
    if settings.secret_key:
        return settings.secret_key
    path = settings.secret_key_file or default_secret_key_file(os.environ)
    legacy = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text("ascii").strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = legacy.read_text("ascii").strip() if legacy.exists() else Vault.new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    if legacy.exists():
        legacy.unlink()
        log.warning("the secret key was moved out of the data directory to %s", path)
    return key
