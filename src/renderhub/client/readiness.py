"""What waiting means (a session until Ready, a conversion until it ends), shared by the
sync and async clients."""

from __future__ import annotations

from collections.abc import Callable

from renderhub.client.conversions import Conversion
from renderhub.client.errors import ConversionFailed, SessionFailed, WaitTimedOut
from renderhub.client.models import Session
from renderhub.status import ConversionStatus, SessionStatus

Progress = Callable[[Session], None]
ConversionProgress = Callable[[Conversion], None]


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


def check_converted(conversion: Conversion, *, remaining: float, timeout: float) -> bool:
    """True when Succeeded; raises if it failed or was cancelled, or the time is up."""
    if conversion.status is ConversionStatus.SUCCEEDED:
        return True
    if conversion.status.is_final:
        why = f": {conversion.message}" if conversion.message else "."
        raise ConversionFailed(
            f"Conversion {conversion.id} is {conversion.status.value}{why}",
            code=conversion.error_code,
        )
    if remaining <= 0:
        raise WaitTimedOut(
            f"Conversion {conversion.id} did not end within {timeout:g} s; it is still "
            f"{conversion.status.value}."
        )
    return False
