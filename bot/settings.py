"""The validated configuration of one process: what `bot.config.load` read and checked.

Plain values only. It never reads the environment and never imports a channel: each
channel's own settings sit in `channels`, under the channel's name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.vault import Vault


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one process."""

    data_dir: Path
    database_url: str
    secret_key: str
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


def embedded_secret_key(settings: Settings) -> str:
    """Return the configured key, or (embedded default only) one kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text("ascii").strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = Vault.new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
