"""The README's promise: piping a scripted session into `madoguchi` books a consultation,
in Japanese and in English, and a killed process resumes where the user was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENV_ANSWERS = ["1"] * 7
SCRIPT = {
    # language, agree, app terms, registered at office, number, camera yes, 7 items,
    # 3 conditions, no accommodation, no note, first day, first time, confirm
    "ja": ["1", "1", "1", "1", "13010-12345678", "1", *ENV_ANSWERS, "1", "1", "1", "1", "1", "1", "1", "1"],
    "en": ["2", "1", "1", "1", "13010-12345678", "1", *ENV_ANSWERS, "1", "1", "1", "1", "1", "1", "1", "1"],
}


def run(lines: list[str], data_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_piped_session_books_a_consultation(tmp_path, lang):
    done = run(SCRIPT[lang], tmp_path)
    assert done.returncode == 0, done.stderr
    booked = "オンライン職業相談の予約が完了しました" if lang == "ja" else "Your online consultation is booked."
    assert booked in done.stdout
    assert "https://meet.madoguchi.invalid/shinagawa/" in done.stdout
    assert ("日本標準時" if lang == "ja" else "Japan Standard Time") in done.stdout
    assert "HW-" in done.stderr  # the counselor notification, printed on the embedded default
    assert "13010-12345678" not in done.stderr
    listing = run([], tmp_path, "bookings", "--day", "2026-11-25")
    assert listing.returncode == 0


def test_a_killed_process_resumes_where_the_user_was(tmp_path):
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdin and proc.stdout
    for line in SCRIPT["en"][:6]:
        proc.stdin.write(line + "\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    seen = ""
    while "Question 1 of 7" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    assert "Question 1 of 7" in seen
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    done = run(SCRIPT["en"][6:], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Welcome back" in done.stdout and "Question 1 of 7" in done.stdout
    assert "Your online consultation is booked." in done.stdout


def test_bad_configuration_stops_with_a_clear_message(tmp_path):
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}
    env.pop("MADOGUCHI_SECRET_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli"], capture_output=True, text=True, env=env, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 2
    assert "MADOGUCHI_SECRET_KEY is required" in done.stderr
