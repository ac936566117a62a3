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
    return _greedy(blocks, limit, size, lambda block: split_text(block, limit, size=size)) or [""]


def split_text(text: str, limit: int, *, size: Size = len) -> list[str]:
    """Split a text within `limit`, at blank lines, then lines, then hard."""
    if size(text) <= limit:
        return [text]
    return _greedy(text.split("\n\n"), limit, size, lambda block: _cut(block, limit, size))


def _greedy(
    blocks: list[str], limit: int, size: Size, split: Callable[[str], list[str]]
) -> list[str]:
    """Join blocks with blank lines while they fit; a block too big alone is `split`."""
    chunks: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        pieces = split(block) if size(block) > limit else [block]
        chunks += pieces[:-1]
        current = pieces[-1]
    if current:
        chunks.append(current)
    return chunks


def _cut(block: str, limit: int, size: Size) -> list[str]:
    """Cut one paragraph within `limit`, at line ends where possible, else hard."""
    pieces: list[str] = []
    while size(block) > limit:
        fits = _prefix_within(block, limit, size)
        cut = block.rfind("\n", 0, fits)
        cut = cut if cut > 0 else fits
        pieces.append(block[:cut])
        block = block[cut:].lstrip("\n")
    return [*pieces, block]
