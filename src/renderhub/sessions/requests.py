"""What a client asks for, validated: the same rules serve both API generations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from renderhub.errors import BadRequest
from renderhub.sizes import SessionSize

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True, slots=True)
class CreateSession:
    session_id: str
    size: SessionSize
    lease_seconds: int
    models: list[str]


def check_session_id(session_id: str) -> str:
    if not SESSION_ID.fullmatch(session_id):  # not match(): '$' would let 'id\n' through
        raise BadRequest(
            "A session id is 1 to 256 characters: letters, digits, '-' and '_'.",
            target="sessionId",
        )
    return session_id


def check_lease_seconds(seconds: int, max_minutes: int, *, field: str) -> int:
    if seconds < 0 or seconds > max_minutes * 60:
        raise BadRequest(f"'{field}' must be between 0 and {max_minutes} minutes.", target=field)
    return seconds
