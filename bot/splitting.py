"""Split long texts into messages within a platform's limit, at article boundaries.

Blocks (replies, articles of the terms) are kept whole when they fit; a block that does not
is cut at blank lines, then lines, then hard. `size` says how the platform counts (Telegram:
characters, LINE: UTF-16 code units). Never drops or reorders text.
"""

from __future__ import annotations

from collections.abc import Callable

Size = Callable[[str], int]


def utf16_units(text: str) -> int:
    """Return the length of a text in UTF-16 code units (how LINE counts)."""
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int, size: Size) -> int:
    """Return the longest prefix length of `text` whose size is within `limit`."""
    if size is len:
        return min(limit, len(text))
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def pack(blocks: list[str], limit: int, *, size: Size = len) -> list[str]:
    """Pack blocks into messages within `limit`, never splitting a block that fits in one."""
    chunks: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        pieces = split_text(block, limit, size=size)
        chunks += pieces[:-1]
        current = pieces[-1]
    if current:
        chunks.append(current)
    return chunks or [""]


def split_text(text: str, limit: int, *, size: Size = len) -> list[str]:
    """Split a text within `limit`, at blank lines, then lines, then hard."""
    if size(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for block in text.split("\n\n"):
        candidate = f"{current}\n\n{block}" if current else block
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while size(block) > limit:
            fits = _prefix_within(block, limit, size)
            cut = block.rfind("\n", 0, fits)
            cut = cut if cut > 0 else fits
            chunks.append(block[:cut])
            block = block[cut:].lstrip("\n")
        current = block
    if current:
        chunks.append(current)
    return chunks
