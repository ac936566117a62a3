"""`madoguchi doctor` for Slack: auth.test (the token) and the bot's membership of the
counselors' channel (conversations.info). Read-only calls; the token never shows."""

from __future__ import annotations

from bot.checks import TIMEOUT, Check, failed, passed
from bot.slack.settings import SlackSettings


def _error(exc: Exception) -> str:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "not ok"))
    return type(exc).__name__


def checks(settings: SlackSettings) -> list[Check]:
    """Return the Slack checks."""
    from slack_sdk import WebClient

    client = WebClient(
        token=settings.bot_token, base_url=settings.api_base_url, timeout=int(TIMEOUT)
    )
    try:
        auth = client.auth_test()
    except Exception as exc:  # noqa: BLE001 - SlackApiError, or the network
        return [failed("operator.doctor.slack_auth.failed", error=_error(exc))]
    user = str(auth.get("user", ""))
    found = [passed("operator.doctor.slack_auth.ok", team=str(auth.get("team", "")), user=user)]
    channel = settings.channel_id
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except Exception as exc:  # noqa: BLE001 - SlackApiError, or the network
        found.append(
            failed("operator.doctor.slack_channel.failed", channel=channel, error=_error(exc))
        )
        return found
    if info.get("is_member"):
        found.append(passed("operator.doctor.slack_channel.ok", channel=channel))
    else:
        found.append(
            failed("operator.doctor.slack_channel.not_member", channel=channel, user=user)
        )
    return found
