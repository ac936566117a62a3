"""MADOGUCHI_LOG_FORMAT=json: one JSON object per line for the office's log collector, with
the pseudonyms our log lines already use, and still no personal data."""

from __future__ import annotations

import json
import logging

import pytest

from bot import config, logs
from flows.intake import State
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import book_first_free, walk_to


def test_the_format_is_checked_at_start(tmp_path):
    base = {"MADOGUCHI_DATA_DIR": str(tmp_path)}
    assert config.load(base).log_format == "text"
    assert config.load({**base, "MADOGUCHI_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(config.ConfigError, match="MADOGUCHI_LOG_FORMAT must be text or json"):
        config.load({**base, "MADOGUCHI_LOG_FORMAT": "xml"})


def test_a_record_is_one_json_line_with_its_pseudonym():
    record = logging.LogRecord(
        "madoguchi.service",
        logging.INFO,
        __file__,
        1,
        "slot taken for %s at %s",
        ("0123456789abcdef01234567", "2026-12-01T10:00:00+09:00"),
        None,
    )
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "madoguchi.service"
    assert (
        entry["message"] == "slot taken for 0123456789abcdef01234567 at 2026-12-01T10:00:00+09:00"
    )
    assert entry["pseudonyms"] == ["0123456789abcdef01234567"]
    assert entry["time"].endswith("+00:00")


def test_an_exception_gives_its_type_and_frames_but_not_its_text():
    number = "-".join(("13010", "12345678"))  # the source line shows in the frames
    try:
        raise ValueError(f"{number} is not valid")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "madoguchi.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["exception"] == "ValueError" and "test_json_logs.py" in entry["frames"]
    assert "12345678" not in json.dumps(entry)


def test_json_logs_of_a_whole_intake_hold_no_personal_data(sqlite_app, caplog):
    caplog.set_level(logging.DEBUG)
    chat = ChatClient(sqlite_app, user="chat-id-99887766")
    walk_to(chat, "en", State.CHOOSING_DAY)
    book_first_free(chat)
    formatter = logs.JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    entries = [json.loads(line) for line in lines]
    assert any(e.get("pseudonyms") for e in entries)
    logged = "\n".join(lines)
    for secret in ("13010-12345678", "12345678", "99887766"):
        assert secret not in logged
