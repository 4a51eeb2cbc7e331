"""Session statuses and the one table that says which may follow which."""

from __future__ import annotations

from enum import StrEnum

from renderhub.errors import InvalidTransition


class SessionStatus(StrEnum):
    """A session's status, spelled as both APIs write it (PascalCase)."""

    STARTING = "Starting"
    READY = "Ready"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    EXPIRED = "Expired"
    ERROR = "Error"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_active(self) -> bool:
        """Listed by the list calls: the session still holds (or is about to hold) a host."""
        return self in ACTIVE

    def as_2021(self) -> SessionStatus:
        """The 2021-01-01 API has no Stopping: a stop is irrevocable, so it reads as Stopped."""
        return SessionStatus.STOPPED if self is SessionStatus.STOPPING else self


TERMINAL = frozenset({SessionStatus.STOPPED, SessionStatus.EXPIRED, SessionStatus.ERROR})
ACTIVE = frozenset({SessionStatus.STARTING, SessionStatus.READY, SessionStatus.STOPPING})

TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.STARTING: frozenset(
        {SessionStatus.READY, SessionStatus.STOPPING, SessionStatus.ERROR}
    ),
    SessionStatus.READY: frozenset(
        {SessionStatus.STOPPING, SessionStatus.EXPIRED, SessionStatus.ERROR}
    ),
    SessionStatus.STOPPING: frozenset({SessionStatus.STOPPED}),
    SessionStatus.STOPPED: frozenset(),
    SessionStatus.EXPIRED: frozenset(),
    SessionStatus.ERROR: frozenset(),
}


def sources_of(target: SessionStatus) -> frozenset[SessionStatus]:
    """Every status from which `target` may be reached."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


def check_transition(current: SessionStatus, target: SessionStatus) -> None:
    """Raise InvalidTransition unless the table allows current -> target."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"A session that is {current.value} cannot become {target.value}.")


class ConversionStatus(StrEnum):
    """A conversion's status, as the 2021-01-01 API writes it."""

    NOT_STARTED = "NotStarted"
    RUNNING = "Running"
    CANCELLED = "Cancelled"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {ConversionStatus.CANCELLED, ConversionStatus.FAILED, ConversionStatus.SUCCEEDED}
)
