"""`madoguchi doctor` for Telegram: getMe (the token) and getWebhookInfo (where updates go,
how many wait, the last delivery error). Read-only calls; the token never shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.checks import Check, client, failed, passed, problem
from bot.telegram.settings import TelegramSettings

RECENT_ERROR = timedelta(hours=1)  # an older delivery error is history, not a problem


def _call(http: httpx.Client, settings: TelegramSettings, method: str) -> Any:
    response = http.get(f"{settings.api_base_url}/bot{settings.token}/{method}")
    body = response.json()
    if not body.get("ok"):
        raise RuntimeError(
            f"{body.get('error_code', response.status_code)} {body.get('description', '')}".strip()
        )
    return body["result"]


def checks(settings: TelegramSettings, now: datetime | None = None) -> list[Check]:
    """Return the Telegram checks."""
    now = now or datetime.now(UTC)
    with client() as http:
        try:
            me = _call(http, settings, "getMe")
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            error = str(exc) if isinstance(exc, RuntimeError) else problem(exc)
            return [failed("operator.doctor.telegram_me.failed", error=error)]
        found = [passed("operator.doctor.telegram_me.ok", username=str(me.get("username", "")))]
        try:
            info = _call(http, settings, "getWebhookInfo")
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            error = str(exc) if isinstance(exc, RuntimeError) else problem(exc)
            return [*found, failed("operator.doctor.telegram_webhook.unreadable", error=error)]
    found.append(webhook_check(settings, info, now))
    return found


def webhook_check(settings: TelegramSettings, info: dict[str, Any], now: datetime) -> Check:
    """Compare what Telegram says about the webhook with the configuration."""
    actual = str(info.get("url") or "")
    pending = int(info.get("pending_update_count") or 0)
    if not settings.uses_webhook:
        if actual:
            return failed("operator.doctor.telegram_polling.webhook_set", url=actual)
        return passed("operator.doctor.telegram_polling.ok", pending=pending)
    if not actual:
        return failed("operator.doctor.telegram_webhook.unset", url=settings.webhook_url)
    if actual != settings.webhook_url:
        return failed(
            "operator.doctor.telegram_webhook.elsewhere", url=settings.webhook_url, actual=actual
        )
    error_at = info.get("last_error_date")
    if error_at and now - datetime.fromtimestamp(int(error_at), UTC) < RECENT_ERROR:
        return failed(
            "operator.doctor.telegram_webhook.error",
            url=actual,
            error=str(info.get("last_error_message", ""))[:200],
            minutes=int((now - datetime.fromtimestamp(int(error_at), UTC)).total_seconds() // 60),
            pending=pending,
        )
    return passed("operator.doctor.telegram_webhook.ok", url=actual, pending=pending)
