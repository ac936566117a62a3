"""The scripted path, whole: every reply of the intake as the jobseeker reads it, in every
language, compared with `tests/flows/transcripts/intake.txt` word for word.

The path comes from the intake table (`flows/script.py`), so a new question shows up here
as new lines of the transcript. After an intended change of wording or order, regenerate
the file with `MADOGUCHI_REGENERATE=1 pytest tests/flows/test_scripted_transcript.py` and
read the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flows import languages
from flows.script import scripted_event
from tests.chat_client import ChatClient

GOLDEN = Path(__file__).parent / "transcripts" / "intake.txt"
_VOLATILE = [
    (re.compile(r"HW-[A-Z0-9]{6}"), "HW-XXXXXX"),  # booking references are random
    (re.compile(r"(https://meet\.madoguchi\.invalid/shinagawa/)[A-Za-z0-9_-]+"), r"\1TOKEN"),
]


def transcript(app, lang: str) -> str:  # type: ignore[no-untyped-def]
    """Return the scripted intake in `lang`: each action, then the whole reply."""
    chat = ChatClient(app, user=f"scripted-{lang}")
    chat.send("/start")
    parts = [f"> /start\n{chat.text}"]
    for _ in range(200):
        state, offered = chat.position()
        event = scripted_event(state, offered, turn=chat.turn, language=lang)
        if event is None:
            break
        if event.kind == "text":
            chat.send(event.value)
            parts.append(f"> {event.value}\n{chat.text}")
        else:
            chat.press(event.value)
            parts.append(f"> [{event.value}]\n{chat.text}")
    text = "\n\n".join(parts)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def test_the_scripted_intake_reads_exactly_as_written(sqlite_app):
    actual = "".join(
        f"===== {lang} =====\n{transcript(sqlite_app, lang)}\n\n" for lang in languages.codes()
    )
    if os.environ.get("MADOGUCHI_REGENERATE") == "1":
        GOLDEN.write_text(actual, encoding="utf-8")
    assert actual == GOLDEN.read_text(encoding="utf-8")
