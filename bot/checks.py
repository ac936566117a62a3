"""One line of `madoguchi doctor`: a check's outcome as a catalog message (in the
counselors' language), which says what to do when it failed. Plain values only."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from flows.model import Param

TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    """The outcome of one check: passed or not, and the message that explains it."""

    ok: bool
    message_id: str
    params: dict[str, Param] = field(default_factory=dict)


def passed(message_id: str, **params: Param) -> Check:
    """Return a passed check."""
    return Check(True, message_id, dict(params))


def failed(message_id: str, **params: Param) -> Check:
    """Return a failed check (its message says what to do)."""
    return Check(False, message_id, dict(params))


def client() -> httpx.Client:
    """Return the HTTP client the platform checks use (short timeout, no request logging)."""
    return httpx.Client(timeout=TIMEOUT)


def problem(exc: Exception) -> str:
    """Describe a failed request without its URL or headers (they may carry a token)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__
