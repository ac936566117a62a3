"""What an operator reads: catalog messages in the counselors' language, aligned tables."""

from __future__ import annotations

import sys
import unicodedata
from datetime import date

from babel.dates import format_date

from bot.rendering import Renderer
from flows.model import Msg, Param


def width(text: str) -> int:
    """Return how many terminal columns `text` takes (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: list[list[str]]) -> list[str]:
    """Return rows as lines with every column aligned (wide characters counted as two)."""
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths.get(i, 0), width(cell))
    return [
        "  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


class Out:
    """What an operator reads, in the counselors' language, from the catalogs."""

    def __init__(self, language: str) -> None:
        self.r = Renderer(language)

    def say(self, message_id: str, **params: Param) -> None:
        """Print one catalog message."""
        print(self.r.text(message_id, **params))

    def refuse(self, msg: Msg) -> int:
        """Print why a command was refused and how to fix it; return exit status 2."""
        print(self.r.msg(msg), file=sys.stderr)
        return 2

    def table(self, rows: list[list[str]]) -> None:
        """Print aligned rows."""
        for line in table(rows):
            print(line)

    def weekday(self, day: date) -> str:
        """Return the short weekday name of a day."""
        return format_date(day, "EEE", locale=self.r.locale)
