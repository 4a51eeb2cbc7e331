"""What the host is doing (warming up and idle when pooled; loading, ready, failed; stopping)
and how /health reports it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from renderhub.host.deadline import Deadline
from renderhub.host.limits import PolygonBudget
from renderhub.host.scene import LoadedScene
from renderhub.host_protocol import WARMING_UP, HealthBody, HealthStatus

if TYPE_CHECKING:
    from renderhub.host.runtime.model import SceneModel


class Phase(StrEnum):
    WARMING = "warming"  # a pooled host starting its renderer; /health says "loading"
    IDLE = HealthStatus.IDLE.value  # a pooled host, warm, waiting for POST /control/assign
    LOADING = HealthStatus.LOADING.value
    READY = HealthStatus.READY.value
    ERROR = HealthStatus.ERROR.value


# How /health words each phase, and its HTTP status: an idle host is healthy and serving (200,
# like ready); the status word tells them apart.
_HEALTH = {
    Phase.WARMING: (HealthStatus.LOADING, 503),
    Phase.IDLE: (HealthStatus.IDLE, 200),
    Phase.LOADING: (HealthStatus.LOADING, 503),
    Phase.READY: (HealthStatus.READY, 200),
    Phase.ERROR: (HealthStatus.ERROR, 500),
}
# What may follow what; the loader and the warm-up are the only ones moving the phase.
_NEXT = {
    Phase.WARMING: {Phase.IDLE, Phase.LOADING, Phase.ERROR},
    Phase.IDLE: {Phase.LOADING},
    Phase.LOADING: {Phase.READY, Phase.ERROR},
    Phase.READY: set(),
    Phase.ERROR: set(),
}


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
    """The one record of the host's progress; only the loader (and a pooled host's warm-up)
    moves it forward. A pooled host starts WARMING with no session; `assign` gives it one."""

    session_id: str | None
    budget: PolygonBudget
    deadline: Deadline
    models_total: int
    phase: Phase = Phase.LOADING
    pool_id: str | None = None
    models_loaded: int = 0
    scene: LoadedScene | None = None  # the session's own models, as loaded at its start
    scene_model: SceneModel | None = None  # the scene now, models loaded since included
    error: str | None = None
    load_seconds: float | None = None
    stop: StopRequest = field(default_factory=StopRequest)

    @property
    def assignable(self) -> bool:
        """A pooled host that has no session yet (warm or still warming up)."""
        return self.phase in (Phase.WARMING, Phase.IDLE)

    def mark_warm(self) -> None:
        """A pooled host's warm-up is done; it waits to be assigned (if it is not already)."""
        if self.phase is Phase.WARMING:
            self.phase = Phase.IDLE

    def assign(self, session_id: str, budget: PolygonBudget, models_total: int) -> None:
        """A pooled host gets its session: it loads that session's models from now on."""
        self._move_to(Phase.LOADING)
        self.session_id, self.budget, self.models_total = session_id, budget, models_total

    def model_loaded(self) -> None:
        self.models_loaded += 1

    def mark_ready(self, scene: LoadedScene, load_seconds: float) -> None:
        self._move_to(Phase.READY)
        self.scene, self.load_seconds = scene, load_seconds

    def mark_failed(self, message: str, load_seconds: float | None = None) -> None:
        self._move_to(Phase.ERROR)
        self.error, self.load_seconds = message, load_seconds

    def _move_to(self, phase: Phase) -> None:
        if phase not in _NEXT[self.phase]:
            raise RuntimeError(f"the host is already {self.phase}")
        self.phase = phase

    def health(self) -> tuple[int, HealthBody]:
        """The HTTP status and body of GET /health."""
        word, status = _HEALTH[self.phase]
        body: HealthBody = {"status": word.value, "sessionId": self.session_id}
        if self.pool_id is not None:
            body["poolId"] = self.pool_id
        if self.phase is Phase.WARMING:
            body["message"] = WARMING_UP
        elif self.phase is Phase.IDLE:
            body["deadline"] = self.deadline.epoch
        elif self.phase is Phase.LOADING:
            body |= {"modelsLoaded": self.models_loaded, "modelsTotal": self.models_total}
        elif self.phase is Phase.ERROR:
            body["message"] = self.error
        else:
            body |= self._ready_fields()
        return status, body

    def _ready_fields(self) -> HealthBody:
        assert self.scene is not None
        live = self.scene_model
        polygons = live.polygons_loaded if live is not None else self.scene.polygons
        return {
            "polygons": polygons,
            "polygonLimit": self.budget.limit,
            "overLimit": self.budget.exceeded_by(polygons),
            "message": self.budget.message(polygons),
            "models": [model.summary() for model in self.scene.models],
            "deadline": self.deadline.epoch,
            "loadSeconds": round(self.load_seconds or 0.0, 3),
        }
