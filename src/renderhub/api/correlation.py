"""Microsoft correlation vectors: a 22-character base64 base and '.N' elements."""

from __future__ import annotations

import base64
import re
import secrets

_VECTOR = re.compile(r"^[A-Za-z0-9+/]{16,22}(\.[0-9]{1,10}){1,20}$")
_MAX_LENGTH = 127


def new_vector() -> str:
    return base64.b64encode(secrets.token_bytes(16)).decode()[:22] + ".0"


def extend_vector(incoming: str | None) -> str:
    """Extend a client's vector by one element, or start a new one if it sent none (or junk)."""
    if incoming and _VECTOR.match(incoming) and len(incoming) + 2 <= _MAX_LENGTH:
        return incoming + ".0"
    return new_vector()
