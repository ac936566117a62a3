"""Checks every webhook route makes at the edge, before anything is parsed: the body's size.

Used by the channels' routes; it never parses, logs or keeps a body.
"""

from __future__ import annotations

from starlette.requests import Request

MAX_BODY = 256 * 1024


async def read_capped(request: Request, limit: int) -> bytes | None:
    """Return the body, or None as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (
        not (declared.isascii() and declared.isdigit()) or int(declared) > limit
    ):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
