"""`madoguchi doctor` for LINE: the bot's info (the access token) and the webhook endpoint
set in the console (its URL and whether it is in use). Read-only calls; the token and the
channel secret never show."""

from __future__ import annotations

from typing import Any

import httpx

from bot.checks import Check, client, failed, passed, problem
from bot.line.settings import LineSettings

WEBHOOK_PATH = "/line/webhook"


def _get(http: httpx.Client, settings: LineSettings, path: str) -> dict[str, Any]:
    response = http.get(
        f"{settings.api_base_url}{path}",
        headers={"Authorization": f"Bearer {settings.access_token}"},
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def checks(settings: LineSettings) -> list[Check]:
    """Return the LINE checks."""
    with client() as http:
        try:
            bot = _get(http, settings, "/v2/bot/info")
        except (httpx.HTTPError, ValueError) as exc:
            return [failed("operator.doctor.line_bot.failed", error=problem(exc))]
        found = [
            passed(
                "operator.doctor.line_bot.ok",
                name=str(bot.get("displayName", "")),
                basic_id=str(bot.get("basicId", "")),
            )
        ]
        try:
            hook = _get(http, settings, "/v2/bot/channel/webhook/endpoint")
        except (httpx.HTTPError, ValueError) as exc:
            found.append(failed("operator.doctor.line_webhook.unreadable", error=problem(exc)))
            return found
    endpoint = str(hook.get("endpoint") or "")
    if not endpoint.startswith("https://") or not endpoint.rstrip("/").endswith(WEBHOOK_PATH):
        found.append(failed("operator.doctor.line_webhook.wrong", endpoint=endpoint or "-"))
    elif not hook.get("active"):
        found.append(failed("operator.doctor.line_webhook.inactive", endpoint=endpoint))
    else:
        found.append(passed("operator.doctor.line_webhook.ok", endpoint=endpoint))
    return found
