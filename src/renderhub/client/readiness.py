"""What waiting for Ready means, shared by the sync and async clients."""

from __future__ import annotations

from collections.abc import Callable

from renderhub.client.errors import SessionFailed, WaitTimedOut
from renderhub.client.models import Session
from renderhub.status import SessionStatus

Progress = Callable[[Session], None]


def check_ready(session: Session, *, remaining: float, timeout: float) -> bool:
    """True when Ready; raises if the session ended or the time is up; False to keep polling."""
    if session.status is SessionStatus.READY:
        return True
    if session.status is not SessionStatus.STARTING:
        why = f": {session.message}" if session.message else "."
        raise SessionFailed(
            f"Session {session.id} is {session.status.value}{why}", code=session.error_code
        )
    if remaining <= 0:
        raise WaitTimedOut(
            f"Session {session.id} was not Ready within {timeout:g} s; it is still Starting."
        )
    return False
