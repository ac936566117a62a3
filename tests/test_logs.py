"""Logs at DEBUG carry no jobseeker number, note, or raw chat id (DESIGN.md §3.14)."""

from __future__ import annotations

import logging

from flows.intake import State
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import book_first_free, walk_to


def test_debug_logs_hold_no_personal_data(sqlite_app, caplog):
    caplog.set_level(logging.DEBUG)
    chat = ChatClient(sqlite_app, user="chat-id-99887766")
    walk_to(chat, "en", State.CHOOSING_DAY)
    book_first_free(chat)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "madoguchi.inbound" in {r.name for r in caplog.records}
    for secret in ("13010-12345678", "12345678", "99887766"):
        assert secret not in logged


def test_no_process_logs_personal_data_or_secrets_at_debug(tmp_path):
    """web, worker and the terminal chat at DEBUG, with Telegram, LINE and Slack on their
    fakes: a booking with a note reaches the counselors, a LINE user writes, a forged Slack
    request is refused; no log line of any process carries an identifier, a text the user
    typed, a request body or a secret."""
    import json as jsonlib
    import os
    import subprocess
    import sys
    import time
    from dataclasses import replace

    import httpx

    from bench.scripted import scripted_steps
    from tests.conftest import TEST_KEY
    from tests.fakes.line_api import (
        ACCESS_TOKEN,
        CHANNEL_SECRET,
        FakeLine,
        sign,
        text_event,
        webhook_body,
    )
    from tests.fakes.slack_api import FakeSlack
    from tests.fakes.telegram_api import FakeTelegram, message_update

    chat_id, line_user = 7_123_456_789, "U" + "5a1e" * 8
    number, note = "13010-87654321", "NOTE-wheelchair-ramp-please"
    line_text, forged_marker = "LINE-typed-secret-words", "FORGED-body-marker"
    slack_secret, telegram_secret = "slack-signing-secret-logs-0123", "tg-webhook-secret-0123"
    steps = [
        replace(s, kind="text", value=note, typed=note) if s.value == "note:skip" else s
        for s in scripted_steps("en", hint="en")
    ]
    with socket_port() as port, FakeTelegram() as telegram, FakeLine() as line:
        with FakeSlack(members={"C0COUNSEL": ["UCOUNSELOR"]}) as slack:
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'logs.sqlite3'}",
                "MADOGUCHI_DATA_DIR": str(tmp_path),
                "MADOGUCHI_SECRET_KEY": TEST_KEY,
                "MADOGUCHI_LOG_LEVEL": "DEBUG",
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE_URL": telegram.base_url.removesuffix("/bot"),
                "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
                "TELEGRAM_WEBHOOK_SECRET": telegram_secret,
                "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
                "LINE_API_BASE_URL": line.url,
                "SLACK_BOT_TOKEN": slack.token,
                "SLACK_SIGNING_SECRET": slack_secret,
                "SLACK_CHANNEL_ID": "C0COUNSEL",
                "SLACK_API_BASE_URL": slack.base_url,
                "HOST": "127.0.0.1",
                "PORT": str(port),
            }
            command = [sys.executable, "-m", "bot.cli"]
            subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
            logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "console")}
            web = subprocess.Popen(
                [*command, "web"],
                env=env,
                stderr=logs["web"].open("wb"),
                stdout=subprocess.DEVNULL,
            )
            worker = subprocess.Popen(
                [*command, "worker"],
                env=env,
                stderr=logs["worker"].open("wb"),
                stdout=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                until(
                    lambda: reachable(f"{base}/healthz") or web.poll() is not None, "web answers"
                )
                assert web.poll() is None, logs["web"].read_text()[-3000:]
                for n, step in enumerate(steps):
                    text = number if step.is_number else step.typed
                    update = {
                        "update_id": n + 1,
                        **message_update(chat_id, text, language_code="en"),
                    }
                    answer = httpx.post(
                        f"{base}/telegram/webhook",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": telegram_secret},
                    )
                    assert answer.status_code == 200
                    until(lambda n=n: len(telegram.messages(chat_id)) > n, f"answer to line {n}")
                    time.sleep(0.3)
                until(lambda: slack.messages("C0COUNSEL"), "counselors told")
                assert note in jsonlib.dumps(slack.messages("C0COUNSEL"))  # they need it
                body = webhook_body(text_event(line_user, line_text))
                answer = httpx.post(
                    f"{base}/line/webhook", content=body, headers={"x-line-signature": sign(body)}
                )
                assert answer.status_code == 200
                until(lambda: line.messages(line_user), "LINE answered")
                forged = f"payload=%7B%22note%22%3A%22{forged_marker}%22%7D".encode()
                answer = httpx.post(
                    f"{base}/slack/events",
                    content=forged,
                    headers={
                        "x-slack-request-timestamp": str(int(time.time())),
                        "x-slack-signature": "v0=" + "0" * 64,
                        "content-type": "application/x-www-form-urlencoded",
                    },
                )
                assert answer.status_code == 401
            finally:
                for proc in (web, worker):
                    proc.terminate()
                    proc.wait(timeout=30)
            console = subprocess.run(
                [*command, "chat", "--script", "en"],
                env={
                    k: v
                    for k, v in env.items()
                    if not k.startswith(("TELEGRAM_", "LINE_", "SLACK_"))
                },
                input="",
                capture_output=True,
                text=True,
                timeout=120,
            )
            logs["console"].write_text(console.stderr)
    texts = {name: path.read_text() for name, path in logs.items()}
    for name, text in texts.items():
        # they did log, at DEBUG (a library's debug line shows the level took effect)
        assert " madoguchi." in text and " DEBUG " in text, (name, text[-2000:])
        for secret in (
            str(chat_id),
            line_user,
            number,
            number.split("-")[1],
            "12345678",  # the scripted number of the terminal chat
            note,
            line_text,
            forged_marker,
            telegram.token.split(":")[1],
            telegram_secret,
            ACCESS_TOKEN,
            CHANNEL_SECRET,
            slack.token,
            slack_secret,
        ):
            assert secret not in text, (name, secret)


def until(predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.05)


def reachable(url: str) -> bool:
    import httpx

    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


class socket_port:  # noqa: N801 - a context manager named for what it gives
    """A free TCP port on 127.0.0.1."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        return None
