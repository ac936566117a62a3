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
