"""What the session service tells an observer (the metrics) as sessions come and go. The
service knows nothing of how it is counted; without an observer nothing is."""

from __future__ import annotations

from typing import Protocol

from renderhub.sizes import SessionSize


class SessionEvents(Protocol):
    def became_ready(self, size: SessionSize, seconds: float) -> None:
        """A session became Ready `seconds` after it was created."""

    def stopped(self, size: SessionSize, seconds: float) -> None:
        """A stopped session's host was down `seconds` after the stop began (Stopping)."""

    def expired(self, lateness_seconds: float) -> None:
        """A lease was expired this long after its deadline."""

    def backend_error(self, operation: str) -> None:
        """The backend failed an operation (start, assign, stop)."""


class NoEvents:
    """The observer that counts nothing."""

    def became_ready(self, size: SessionSize, seconds: float) -> None:
        pass

    def stopped(self, size: SessionSize, seconds: float) -> None:
        pass

    def expired(self, lateness_seconds: float) -> None:
        pass

    def backend_error(self, operation: str) -> None:
        pass
