"""`madoguchi doctor`: one line per check, with what to do when it fails, against the fake
platform servers; exit status 1 on any failure. Nothing is written, no token is printed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import cli
from storage import schema
from tests.conftest import TEST_KEY, make_app
from tests.fakes.line_api import ACCESS_TOKEN, CHANNEL_SECRET, FakeLine
from tests.fakes.slack_api import BOT_USER_ID, FakeSlack
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram

HOOK = "https://bot.example.invalid/telegram/webhook"
SECRET = "doctor-test-secret-0123"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeLine, FakeSlack]]:
    with FakeTelegram() as telegram, FakeLine() as line, FakeSlack() as slack:
        yield telegram, line, slack


def base_env(tmp_path: Path, url: str, **more: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "MADOGUCHI_SECRET_KEY": TEST_KEY,
        "MADOGUCHI_COUNSELOR_LANGUAGE": "en",
        **more,
    }


def platform_env(telegram: FakeTelegram, line: FakeLine, slack: FakeSlack) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url.removesuffix("/bot"),
        "TELEGRAM_WEBHOOK_URL": HOOK,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE_URL": line.url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "slack-signing-secret",
        "SLACK_CHANNEL_ID": "C0COUNSEL",
        "SLACK_API_BASE_URL": slack.base_url,
    }


def set_webhook(telegram: FakeTelegram, url: str) -> None:
    answer = httpx.post(f"{telegram.base_url}{telegram.token}/setWebhook", json={"url": url})
    assert answer.json()["ok"], answer.text


def migrated(tmp_path: Path, sqlite_url: str, clock) -> None:
    make_app(sqlite_url, clock, tmp_path).db.dispose()


def doctor(env: dict[str, str], capsys) -> tuple[int, list[str]]:
    status = cli._cmd_doctor(env)
    return status, capsys.readouterr().out.splitlines()


def test_a_ready_deployment_passes_every_check(fakes, tmp_path, sqlite_url, clock, capsys):
    telegram, line, slack = fakes
    migrated(tmp_path, sqlite_url, clock)
    set_webhook(telegram, HOOK)
    line.webhook = {"endpoint": "https://bot.example.invalid/line/webhook", "active": True}
    slack.members = {"C0COUNSEL": [BOT_USER_ID, "U0COUNSELOR"]}
    env = base_env(tmp_path, sqlite_url, **platform_env(telegram, line, slack))

    status, lines = doctor(env, capsys)

    assert status == 0, lines
    assert all(line.startswith("✓ ") for line in lines[:-1]), lines
    text = "\n".join(lines)
    for expected in (
        "configuration: read and checked (channels: telegram, line, slack)",
        "database: SQLite answers",
        f"schema: revision {schema.head_revision()}, current",
        "clock: this machine and the database agree",
        "time zone: office shinagawa keeps Asia/Tokyo",
        f"Telegram: the token belongs to @{BOT_USERNAME}",
        f"Telegram webhook: {HOOK}, 0 update(s) waiting",
        "Slack: the token works in Test Workspace as madoguchi",
        "Slack: the bot is a member of C0COUNSEL",
        "LINE: the token belongs to Madoguchi (test) (@123abcde)",
        "LINE webhook: https://bot.example.invalid/line/webhook, in use",
    ):
        assert expected in text
    assert lines[-1] == "All 11 checks passed."
    for secret in (telegram.token, ACCESS_TOKEN, CHANNEL_SECRET, slack.token, TEST_KEY):
        assert secret not in text
    # read-only: nothing registered, nothing sent
    assert {c.method for c in telegram.calls} == {"getMe", "getWebhookInfo", "setWebhook"}
    assert line.deliveries() == [] and slack.calls_to("chat.postMessage") == []


def test_each_failure_says_what_to_do_and_the_status_is_one(
    fakes, tmp_path, sqlite_url, clock, capsys
):
    telegram, line, slack = fakes
    # the schema was never migrated (an empty file), Telegram's webhook unset, the bot not in
    # the channel, LINE's webhook pointing elsewhere
    (tmp_path / "empty.sqlite3").touch()
    line.webhook = {"endpoint": "https://old.example.invalid/callback", "active": True}
    slack.members = {"C0COUNSEL": ["U0COUNSELOR"]}
    env = base_env(
        tmp_path, f"sqlite:///{tmp_path}/empty.sqlite3", **platform_env(telegram, line, slack)
    )

    status, lines = doctor(env, capsys)

    assert status == 1
    failed = [line for line in lines if line.startswith("✗ ")]
    assert len(failed) == 4, lines
    text = "\n".join(failed)
    assert (
        f"schema: revision -, the code needs {schema.head_revision()} — run madoguchi db upgrade"
        in text
    )
    assert f"Telegram webhook: not set at Telegram (configured: {HOOK}) — start madoguchi web" in (
        text
    )
    assert "the bot is not a member of C0COUNSEL — in that channel type /invite @madoguchi" in text
    assert "LINE webhook: the endpoint is https://old.example.invalid/callback — set it to" in text
    assert lines[-1] == "4 of 11 checks failed."


def test_wrong_tokens_fail_without_showing_them(fakes, tmp_path, sqlite_url, clock, capsys):
    telegram, line, slack = fakes
    migrated(tmp_path, sqlite_url, clock)
    env = base_env(tmp_path, sqlite_url, **platform_env(telegram, line, slack))
    env |= {
        "TELEGRAM_BOT_TOKEN": "999:WRONG-TOKEN",
        "LINE_CHANNEL_ACCESS_TOKEN": "wrong-line-token",
        "SLACK_BOT_TOKEN": "xoxb-wrong",
    }

    status, lines = doctor(env, capsys)

    assert status == 1
    text = "\n".join(lines)
    assert "✗ Telegram: getMe failed (" in text and "check TELEGRAM_BOT_TOKEN" in text
    assert "✗ Slack: auth.test failed (invalid_auth) — check SLACK_BOT_TOKEN" in text
    assert "✗ LINE: bot info failed (HTTP 401) — check LINE_CHANNEL_ACCESS_TOKEN" in text
    for secret in ("WRONG-TOKEN", "wrong-line-token", "xoxb-wrong"):
        assert secret not in text


def test_telegram_webhook_errors_and_a_webhook_that_blocks_polling(
    fakes, tmp_path, sqlite_url, clock, capsys
):
    telegram, _, _ = fakes
    migrated(tmp_path, sqlite_url, clock)
    set_webhook(telegram, HOOK)
    telegram.webhook_error = (int(time.time()) - 120, "SSL error {error:0A000086}")
    env = base_env(
        tmp_path,
        sqlite_url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_BASE_URL=telegram.base_url.removesuffix("/bot"),
        TELEGRAM_WEBHOOK_URL=HOOK,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    status, lines = doctor(env, capsys)
    assert status == 1
    assert any(
        line.startswith(f"✗ Telegram webhook: the last delivery to {HOOK} failed 2 min ago: SSL")
        and "TLS reverse proxy" in line
        for line in lines
    ), lines

    del env["TELEGRAM_WEBHOOK_URL"], env["TELEGRAM_WEBHOOK_SECRET"]  # polling configured
    status, lines = doctor(env, capsys)
    assert status == 1
    assert any(
        line.startswith(f"✗ Telegram: a webhook ({HOOK}) is set but TELEGRAM_WEBHOOK_URL is not")
        for line in lines
    ), lines


def test_an_unreachable_database_and_a_bad_configuration(tmp_path, capsys):
    env = base_env(tmp_path, "postgresql://madoguchi:pw@127.0.0.1:9/madoguchi")
    status, lines = doctor(env, capsys)
    assert status == 1
    assert lines[1].startswith("✗ database: PostgreSQL does not answer (OperationalError)")
    assert "pw" not in lines[1].split("(", 1)[1]

    status, lines = doctor(base_env(tmp_path, "mysql://x", PORT="http"), capsys)
    assert status == 1
    assert lines[0].startswith("✗ configuration: ") and "DATABASE_URL" in lines[0]
    assert "PORT must be a TCP port number" in lines[0]


def test_doctor_speaks_the_counselors_language(tmp_path, sqlite_url, clock, capsys):
    migrated(tmp_path, sqlite_url, clock)
    env = base_env(tmp_path, sqlite_url, MADOGUCHI_COUNSELOR_LANGUAGE="ja")
    status, lines = doctor(env, capsys)
    assert status == 0
    assert lines[1] == "✓ データベース：SQLite に接続できます"
    assert lines[-1] == "6 項目の確認がすべて通りました。"
    assert "プラットフォーム：設定なし" in lines[-2]
