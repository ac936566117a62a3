"""Configuration from environment variables (12-factor), checked once at start.

Every problem is reported in one message that says which variable to fix; a secret that is
required and empty stops start-up.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from storage.offices import check_link_template
from storage.vault import Vault

DEFAULT_LINK_TEMPLATE = "https://meet.madoguchi.invalid/{office}/{token}"


class ConfigError(Exception):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class TelegramSettings:
    """Telegram is enabled by TELEGRAM_BOT_TOKEN; a webhook URL switches off polling."""

    token: str
    api_base_url: str
    webhook_url: str
    webhook_secret: str
    max_connections: int
    per_second: float

    @property
    def uses_webhook(self) -> bool:
        """Return True when updates come by webhook rather than long polling."""
        return bool(self.webhook_url)


@dataclass(frozen=True)
class SlackSettings:
    """Slack for counselors, enabled by SLACK_BOT_TOKEN."""

    bot_token: str
    signing_secret: str
    channel_id: str
    counselor_ids: frozenset[str]
    api_base_url: str
    app_token: str = field(default="", repr=False)  # xapp-…: Socket Mode, no public endpoint


@dataclass(frozen=True)
class LineSettings:
    """LINE is enabled by LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN (both needed)."""

    channel_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    api_base_url: str = "https://api.line.me"


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
    telegram: TelegramSettings | None = None
    slack: SlackSettings | None = None
    line: LineSettings | None = None
    host: str = "0.0.0.0"
    port: int = 8000

    @property
    def embedded(self) -> bool:
        """Return True on the embedded default (SQLite file, migrations applied at start)."""
        return self.database_url.startswith("sqlite")


def _data_dir(env: dict[str, str]) -> Path:
    raw = env.get("MADOGUCHI_DATA_DIR") or str(Path.cwd() / "data")
    return Path(raw).expanduser().resolve()


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

    template = env.get("MADOGUCHI_MEETING_LINK_TEMPLATE", "").strip() or DEFAULT_LINK_TEMPLATE
    try:
        check_link_template(template)
    except ValueError as exc:
        problems.append(f"MADOGUCHI_MEETING_LINK_TEMPLATE: {exc}")

    level = env.get("MADOGUCHI_LOG_LEVEL", "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        problems.append(f"MADOGUCHI_LOG_LEVEL {level!r} is not a logging level")

    counselor_language = env.get("MADOGUCHI_COUNSELOR_LANGUAGE", "ja")
    from flows import languages

    if counselor_language not in languages.codes():
        problems.append(f"MADOGUCHI_COUNSELOR_LANGUAGE must be one of {languages.codes()}")

    telegram = _telegram(env, problems)
    slack = _slack(env, problems)
    line = _line(env, problems)
    port_raw = env.get("PORT", "8000")
    if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
        problems.append("PORT must be a TCP port number")

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
        telegram=telegram,
        slack=slack,
        line=line,
        host=env.get("HOST", "0.0.0.0"),
        port=int(port_raw) if port_raw.isdigit() else 8000,
    )


def _telegram(env: dict[str, str], problems: list[str]) -> TelegramSettings | None:
    """Read the Telegram settings; None when Telegram is not enabled."""
    if "TELEGRAM_BOT_TOKEN" not in env and not env.get("TELEGRAM_WEBHOOK_URL"):
        return None
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token or ":" not in token:
        problems.append("TELEGRAM_BOT_TOKEN is empty or not a bot token (it looks like 123456:ABC...)")
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
    if not connections.isdigit() or not 1 <= int(connections) <= 100:
        problems.append("TELEGRAM_WEBHOOK_MAX_CONNECTIONS must be 1 to 100")
    try:
        per_second = float(env.get("TELEGRAM_MESSAGES_PER_SECOND", "28"))
        if not 0 < per_second <= 30:
            raise ValueError
    except ValueError:
        problems.append("TELEGRAM_MESSAGES_PER_SECOND must be above 0 and at most 30")
        per_second = 28.0
    return TelegramSettings(
        token=token,
        api_base_url=base,
        webhook_url=webhook,
        webhook_secret=secret,
        max_connections=int(connections) if connections.isdigit() else 40,
        per_second=per_second,
    )


def _line(env: dict[str, str], problems: list[str]) -> LineSettings | None:
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
    base = env.get("LINE_API_BASE_URL", "https://api.line.me").strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        problems.append("LINE_API_BASE_URL must be an http(s) URL")
    return LineSettings(
        channel_secret=values["LINE_CHANNEL_SECRET"],
        access_token=values["LINE_CHANNEL_ACCESS_TOKEN"],
        api_base_url=base,
    )


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


def _slack(env: dict[str, str], problems: list[str]) -> SlackSettings | None:
    """Read the Slack settings; None when Slack is not enabled."""
    if "SLACK_BOT_TOKEN" not in env:
        return None
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    channel = env.get("SLACK_CHANNEL_ID", "").strip()
    if not token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN is empty or not a bot token (xoxb-...)")
    if not secret:
        problems.append("SLACK_SIGNING_SECRET is required with Slack (requests are verified with it)")
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
