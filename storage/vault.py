"""Seal and open personal data at rest (jobseeker number, answers, notes) and make pseudonyms.

The key comes from configuration; nothing here logs what it seals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class Vault:
    """Symmetric sealing (Fernet) and keyed pseudonyms from one secret key."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode("ascii"))
        self._pseudonym_key = hashlib.sha256(b"pseudonym:" + key.encode("ascii")).digest()

    @staticmethod
    def new_key() -> str:
        """Return a fresh key (URL-safe base64, 32 bytes)."""
        return Fernet.generate_key().decode("ascii")

    @staticmethod
    def check_key(key: str) -> None:
        """Raise ValueError when `key` is not a usable key."""
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError("not URL-safe base64") from exc
        if len(raw) != 32:
            raise ValueError("must decode to 32 bytes")

    def seal(self, value: Any) -> str:
        """Return the JSON of `value`, encrypted."""
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self._fernet.encrypt(data).decode("ascii")

    def open(self, sealed: str) -> Any:
        """Return what `seal` was given (an empty string opens to an empty dict)."""
        if not sealed:
            return {}
        try:
            return json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except InvalidToken as exc:
            raise ValueError("sealed data does not open with this key") from exc

    def lookup_key(self, value: str) -> str:
        """Return a keyed hash to find records by a secret value without storing it."""
        digest = hmac.new(self._pseudonym_key, f"lookup:{value}".encode(), "sha256")
        return digest.hexdigest()[:32]

    def pseudonym(self, channel: str, user_ref: str) -> str:
        """Return a stable keyed pseudonym for a user (for logs, consents, statistics)."""
        digest = hmac.new(self._pseudonym_key, f"{channel}:{user_ref}".encode(), "sha256")
        return digest.hexdigest()[:24]
