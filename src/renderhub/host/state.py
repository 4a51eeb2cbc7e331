"""What the host is doing (loading, ready, failed; stopping) and how /health reports it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum

from renderhub.host.deadline import Deadline
from renderhub.host.limits import PolygonBudget
from renderhub.host.scene import LoadedScene


class Phase(StrEnum):
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"


_HTTP_STATUS = {Phase.LOADING: 503, Phase.READY: 200, Phase.ERROR: 500}

STOPPED = "The session was stopped."
LEASE_RAN_OUT = "The session's lease ran out."


class StopRequest:
    """Why the host is to stop, once somebody has asked it to; the first reason wins."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._asked = asyncio.Event()

    def ask(self, reason: str) -> str:
        """Ask the host to stop for `reason`; return the reason that stands."""
        if self.reason is None:
            self.reason = reason
            self._asked.set()
        return self.reason

    async def wait(self) -> str:
        """Return the reason once the host has been asked to stop."""
        await self._asked.wait()
        assert self.reason is not None
        return self.reason


@dataclass(slots=True)
class HostState:
    """The one record of the host's progress; only the loader moves it forward."""

    session_id: str
    budget: PolygonBudget
    deadline: Deadline
    models_total: int
    phase: Phase = Phase.LOADING
    models_loaded: int = 0
    scene: LoadedScene | None = None
    error: str | None = None
    load_seconds: float | None = None
    stop: StopRequest = field(default_factory=StopRequest)

    def model_loaded(self) -> None:
        self.models_loaded += 1

    def mark_ready(self, scene: LoadedScene, load_seconds: float) -> None:
        self._leave_loading()
        self.phase, self.scene, self.load_seconds = Phase.READY, scene, load_seconds

    def mark_failed(self, message: str, load_seconds: float) -> None:
        self._leave_loading()
        self.phase, self.error, self.load_seconds = Phase.ERROR, message, load_seconds

    def _leave_loading(self) -> None:
        if self.phase is not Phase.LOADING:
            raise RuntimeError(f"the host is already {self.phase}")

    def health(self) -> tuple[int, dict[str, object]]:
        """The HTTP status and body of GET /health."""
        body: dict[str, object] = {"status": self.phase.value, "sessionId": self.session_id}
        if self.phase is Phase.LOADING:
            body |= {"modelsLoaded": self.models_loaded, "modelsTotal": self.models_total}
        elif self.phase is Phase.ERROR:
            body["message"] = self.error
        else:
            body |= self._ready_fields()
        return _HTTP_STATUS[self.phase], body

    def _ready_fields(self) -> dict[str, object]:
        assert self.scene is not None
        polygons = self.scene.polygons
        return {
            "polygons": polygons,
            "polygonLimit": self.budget.limit,
            "overLimit": self.budget.exceeded_by(polygons),
            "message": self.budget.message(polygons),
            "models": [model.summary() for model in self.scene.models],
            "deadline": self.deadline.epoch,
            "loadSeconds": round(self.load_seconds or 0.0, 3),
        }
