"""The registry drives configuration and the web process: each configured channel adds its
route, with its edge check in front, and nothing else does; served over HTTP on 127.0.0.1
in the test's own event loop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot import config
from bot.app import App
from bot.channels.registry import CHANNELS, enabled
from bot.web import web_app
from storage.models import InboundEvent, ProcessedEvent
from tests.conftest import make_app
from tests.fakes.line_api import ACCESS_TOKEN, CHANNEL_SECRET, follow_event, sign, webhook_body
from tests.fakes.server import serving
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram, message_update

WEBHOOK_SECRET = "registry-test-secret-0123"
TOO_LARGE = b"{" + b" " * (256 * 1024) + b"}"


@pytest_asyncio.fixture
async def telegram_api() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest_asyncio.fixture
async def slack_api() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


def every_channel_env(telegram_api: FakeTelegram, slack_api: FakeSlack) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": telegram_api.token,
        "TELEGRAM_API_BASE_URL": telegram_api.base_url.removesuffix("/bot"),
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE_URL": "http://127.0.0.1:9",  # never called: the web process only stores
        "SLACK_BOT_TOKEN": slack_api.token,
        "SLACK_SIGNING_SECRET": "slack-signing-secret",
        "SLACK_CHANNEL_ID": "C0COUNSEL",
        "SLACK_API_BASE_URL": slack_api.base_url,
    }


def paths(app: Any) -> set[str]:
    return {route.path for route in app.routes}


class Served:
    """The `web` process's ASGI app under uvicorn in the running loop (its lifespan runs):
    `async with Served(app) as served:`."""

    def __init__(self, app: App) -> None:
        self.asgi = web_app(app, with_worker=False)
        self.base = ""
        self._resources = AsyncExitStack()
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Served:
        self.base = await self._resources.enter_async_context(serving(self.asgi, name="web"))
        self._http = await self._resources.enter_async_context(httpx.AsyncClient(timeout=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._resources.aclose()

    async def get(self, path: str) -> httpx.Response:
        assert self._http is not None
        return await self._http.get(f"{self.base}{path}")

    async def post(self, path: str, body: bytes, **headers: str) -> int:
        assert self._http is not None
        response = await self._http.post(f"{self.base}{path}", content=body, headers=headers)
        return response.status_code


def test_the_registry_names_each_channel_once():
    names = [channel.name for channel in CHANNELS]
    assert names == ["telegram", "line", "slack"]
    assert len(set(names)) == len(names)


@pytest.mark.asyncio
async def test_without_channel_variables_nothing_is_enabled_and_only_health_is_served(
    sqlite_url, clock, tmp_path
):
    app = make_app(sqlite_url, clock, tmp_path)
    try:
        assert app.settings.channels == {"telegram": None, "line": None, "slack": None}
        assert app.settings.telegram is None and app.settings.line is None
        assert enabled(app.settings) == []
        async with Served(app) as served:
            assert paths(served.asgi) == {"/healthz", "/metrics"}
            health = await served.get("/healthz")  # no worker runs: unhealthy, said why
            assert health.status_code == 503
            assert health.json()["database"] == "ok" and health.json()["status"] == "unhealthy"
            assert await served.post("/telegram/webhook", b"{}") == 404
    finally:
        app.db.dispose()


def test_telegram_on_long_polling_adds_no_route_to_the_web_process(sqlite_url, clock, tmp_path):
    app = make_app(sqlite_url, clock, tmp_path, TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN")
    try:
        assert [channel.name for channel, _ in enabled(app.settings)] == ["telegram"]
        assert paths(web_app(app, with_worker=False)) == {"/healthz", "/metrics"}
    finally:
        app.db.dispose()


@pytest.mark.asyncio
async def test_every_configured_channel_serves_its_webhook_behind_its_edge_check(
    sqlite_url, clock, tmp_path, telegram_api, slack_api
):
    app = make_app(sqlite_url, clock, tmp_path, **every_channel_env(telegram_api, slack_api))
    try:
        assert [channel.name for channel, _ in enabled(app.settings)] == [
            "telegram",
            "line",
            "slack",
        ]
        async with Served(app) as served:
            assert paths(served.asgi) == {
                "/healthz",
                "/metrics",
                "/telegram/webhook",
                "/line/webhook",
                "/slack/events",
            }
            assert telegram_api.webhook is not None  # registered when the app started
            assert telegram_api.webhook["secret_token"] == WEBHOOK_SECRET

            update = json.dumps({"update_id": 1, **message_update(7001, "/start")}).encode()
            secret = "x-telegram-bot-api-secret-token"
            assert await served.post("/telegram/webhook", update) == 403
            assert await served.post("/telegram/webhook", update, **{secret: "wrong"}) == 403
            assert (
                await served.post("/telegram/webhook", TOO_LARGE, **{secret: WEBHOOK_SECRET})
                == 413
            )
            assert (
                await served.post("/telegram/webhook", b"{nope", **{secret: WEBHOOK_SECRET}) == 400
            )

            body = webhook_body(follow_event("U0123456789abcdef0123456789abcdef"))
            assert await served.post("/line/webhook", body) == 400  # no signature
            assert (
                await served.post("/line/webhook", body, **{"x-line-signature": "Zm9yZ2Vk"}) == 401
            )
            assert (
                await served.post("/line/webhook", TOO_LARGE, **{"x-line-signature": sign(b"")})
                == 413
            )
            reserialized = body.replace(b'"events"', b'"events" ')
            assert (
                await served.post(
                    "/line/webhook", reserialized, **{"x-line-signature": sign(body)}
                )
                == 401
            )

            form = b"command=%2Fmadoguchi&text=today&user_id=U1"
            assert (
                await served.post(
                    "/slack/events",
                    form,
                    **{"x-slack-signature": "v0=forged", "x-slack-request-timestamp": "1"},
                )
                == 401
            )
            assert await served.post("/slack/events", form) == 401  # unsigned
            assert await served.post("/slack/events", TOO_LARGE) == 413
        with app.db.transaction() as session:  # nothing forged got in
            assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
            assert session.scalar(select(func.count()).select_from(InboundEvent)) == 0
    finally:
        app.db.dispose()


def test_a_channel_reads_its_own_variables_and_reports_its_problems(tmp_path):
    with pytest.raises(config.ConfigError) as err:
        config.load(
            {
                "MADOGUCHI_DATA_DIR": str(tmp_path),
                "TELEGRAM_BOT_TOKEN": "",
                "TELEGRAM_WEBHOOK_URL": "http://insecure",
                "SLACK_BOT_TOKEN": "xoxb-1",
            }
        )
    message = str(err.value)
    for expected in (
        "TELEGRAM_BOT_TOKEN is empty or not a bot token",
        "TELEGRAM_WEBHOOK_URL must be an https:// URL",
        "TELEGRAM_WEBHOOK_SECRET is required with a webhook",
        "SLACK_SIGNING_SECRET is required with Slack",
        "SLACK_CHANNEL_ID must be the counselors' channel id",
    ):
        assert expected in message
    assert "LINE" not in message
    settings = config.load({"MADOGUCHI_DATA_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": "1:A"})
    assert settings.telegram.per_second == 29.0 and not settings.telegram.uses_webhook
    with pytest.raises(AttributeError):
        settings.whatsapp  # noqa: B018 - not a registered channel
