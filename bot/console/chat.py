"""Terminal chat: inbound (a typed line → an event) and outbound (a rendered message → text).

Lines starting with `/` are commands; a number picks a choice; anything else is text. The
conversation lives in the database, so a new process resumes where the last one stopped.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

from bot import counselors
from bot.app import App
from bot.rendered import RenderedMessage, render_payload
from flows.model import Event
from flows.script import typed_line
from storage import conversations, outbox

CHANNEL = "console"
MAX_LINE = 4096
MAX_SCRIPTED_ANSWERS = 200
log = logging.getLogger("madoguchi.console")


def to_event(line: str) -> Event:
    """Turn one typed line into an event."""
    text = line.rstrip("\r\n")[:MAX_LINE]
    if text.startswith("/") and len(text) > 1 and " " not in text.strip():
        return Event("command", text.strip()[1:].split("@")[0])
    return Event("text", text)


def render(payload: dict[str, Any]) -> str:
    """Render one outbox payload as terminal text (the neutral step, then the layout)."""
    return layout(render_payload(payload, files=False))


def layout(message: RenderedMessage) -> str:
    """Lay out a rendered message as text with the choices numbered below it."""
    text = "\n\n".join(message.blocks)
    if message.choices:
        lines = [f"  {n}) {c.label}" for n, c in enumerate(message.choices, 1)]
        text += "\n" + "\n".join(lines)
    return text


def deliver(app: App, user_ref: str, out: TextIO) -> int:
    """Print this user's pending replies once; return how many batches were printed."""
    count = 0
    with app.db.transaction() as session:
        for message in outbox.pending(session, channel=CHANNEL, recipient=user_ref):
            if outbox.mark_sent(session, message.id, app.clock()):
                out.write(render(message.payload) + "\n")
                count += 1
    out.flush()
    return count


def run_chat(
    app: App,
    *,
    user_ref: str = "local",
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    counselor_out: TextIO = sys.stderr,
    with_worker: bool = True,
) -> None:
    """Run the chat until end of input; on the embedded default the worker runs alongside."""
    interactive = stdin.isatty()
    scheduler = None
    if with_worker:  # the embedded default: this process is the one worker
        from bot.worker import build_scheduler

        scheduler = build_scheduler(app)
        scheduler.start()
    stop = threading.Event()
    if interactive:  # reminders and offers that arrive on their own show up while waiting
        threading.Thread(
            target=_deliver_meanwhile, args=(app, user_ref, stdout, stop), daemon=True
        ).start()
    try:
        _chat_loop(app, user_ref, stdin, stdout, counselor_out, interactive)
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _deliver_meanwhile(app: App, user_ref: str, out: TextIO, stop: threading.Event) -> None:
    """Print messages that were not answers to a typed line (every two seconds)."""
    while not stop.wait(2.0):
        try:
            if deliver(app, user_ref, out):
                out.write("> ")
                out.flush()
        except Exception as exc:  # noqa: BLE001 - the chat goes on; the next typed line delivers
            log.warning("background delivery failed: %s", type(exc).__name__)


def _chat_loop(
    app: App,
    user_ref: str,
    stdin: TextIO,
    stdout: TextIO,
    counselor_out: TextIO,
    interactive: bool,
) -> None:
    """Read lines, apply them, print replies (and reminders that came meanwhile)."""
    deliver(app, user_ref, stdout)  # anything left from a process that stopped mid-way
    app.intake.handle_event(CHANNEL, user_ref, Event("command", "start"))
    deliver(app, user_ref, stdout)
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        if not interactive:
            stdout.write(f"> {line.rstrip()}\n")
        if not line.strip():
            continue
        app.intake.handle_event(CHANNEL, user_ref, to_event(line))
        deliver(app, user_ref, stdout)
        if app.settings.slack is None:  # with Slack, the worker posts them to the channel
            counselors.deliver(
                app.db,
                app.vault,
                language=app.settings.counselor_language,
                out=counselor_out,
                now=app.clock,
            )


def run_script(
    app: App, *, user_ref: str, language: str, stdout: TextIO, counselor_out: TextIO
) -> int:
    """Let the scripted jobseeker (flows/script.py) type every answer; return how many.

    The README's demo: each answer is echoed as `> line`, as if typed, so the same lines
    can be piped into `madoguchi chat` later.
    """
    deliver(app, user_ref, stdout)
    app.intake.handle_event(CHANNEL, user_ref, Event("command", "start"))
    deliver(app, user_ref, stdout)
    typed = 0
    for _ in range(MAX_SCRIPTED_ANSWERS):
        with app.db.transaction() as session:
            conv = conversations.peek(session, channel=CHANNEL, user_ref=user_ref, vault=app.vault)
        if conv is None:
            break
        line = typed_line(conv.state, conv.data.get("offered", []), language=language)
        if line is None:
            break
        stdout.write(f"> {line}\n")
        app.intake.handle_event(CHANNEL, user_ref, to_event(line))
        deliver(app, user_ref, stdout)
        if app.settings.slack is None:  # with Slack, the worker posts them to the channel
            counselors.deliver(
                app.db,
                app.vault,
                language=app.settings.counselor_language,
                out=counselor_out,
                now=app.clock,
            )
        typed += 1
    return typed
