"""GET /inspector.json's figures: the stream, the client, the scene (as it is now, from the
session's scene model), the session (lease, models), the renderer, memory; and the history
behind the inspector's charts: one sample a second, the last ten minutes, kept by the host so
that a page opened late still shows them (GET /inspector/history.json)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import psutil

from renderhub.clock import Clock, SystemClock
from renderhub.host.state import HostState
from renderhub.host.stream.encoding import bitrate_caps
from renderhub.host.stream.session import ClientSession
from renderhub.host.stream.stats import StreamStats
from renderhub.host.stream.streamer import Streamer

SAMPLE_SECONDS = 1.0
HISTORY_SAMPLES = 600  # ten minutes at one a second


def inspect(streamer: Streamer) -> dict[str, Any]:
    """A snapshot of everything the inspector page shows (camelCase, like /health)."""
    state, client = streamer.state, streamer.client
    return {
        "sessionId": state.session_id,
        "status": state.phase.value,
        "client": _client(client),
        "video": _video(streamer, client),
        "scene": _scene(streamer),
        "session": _session(state, client),
        "renderer": streamer.renderer.info() if streamer.renderer is not None else None,
        "memory": memory(),
    }


def _scene(streamer: Streamer) -> dict[str, Any]:
    """The scene as it is now (models loaded by clients included, hidden entities not
    rendered), from the session's SceneModel; before it exists, the session's own models
    as loaded, or nothing."""
    state = streamer.state
    live = streamer.runtime.model if streamer.runtime is not None else state.scene_model
    if live is not None:
        polygons: int | None = live.polygons_loaded
        figures: dict[str, int | None] = {
            "polygonsRendered": live.polygons_visible,
            "entities": live.entity_count,
            "models": len(live.model_roots()),
            "cutPlanes": live.cut_plane_count,
        }
    else:
        polygons = state.scene.polygons if state.scene is not None else None
        figures = {"polygonsRendered": None, "entities": None, "models": None, "cutPlanes": None}
    return {
        "polygons": polygons,
        **figures,
        "polygonLimit": state.budget.limit,
        "overLimit": polygons is not None and state.budget.exceeded_by(polygons),
    }


def _session(state: HostState, client: ClientSession | None) -> dict[str, Any]:
    """The session as the host knows it: when it ends (the lease: the host's own deadline),
    its own models as loaded, and how long the client has been connected."""
    deadline = state.deadline
    ends = datetime.fromtimestamp(deadline.epoch, UTC).isoformat().replace("+00:00", "Z")
    since = client.connected_since if client is not None else None
    models = state.scene.models if state.scene is not None else []
    return {
        "leaseEnds": ends,
        "leaseLeftSeconds": round(max(0.0, deadline.remaining()), 1),
        "models": [model.summary() for model in models],
        "modelsLoaded": state.models_loaded,
        "modelsTotal": state.models_total,
        "loadSeconds": None if state.load_seconds is None else round(state.load_seconds, 3),
        "clientConnectedSeconds": None if since is None else round(_now() - since, 1),
    }


def _now() -> float:
    # ClientSession stamps connected_since with the wall clock (time.time()), so this does too.
    return datetime.now(UTC).timestamp()


def _client(client: ClientSession | None) -> dict[str, Any]:
    if client is None:
        return {"connected": False, "state": None, "connectedSince": None}
    return {
        "connected": client.state == "connected",
        "state": client.state,
        "connectedSince": client.connected_since,
    }


def _video(streamer: Streamer, client: ClientSession | None) -> dict[str, Any]:
    settings = streamer.settings
    controls = client.controls if client is not None else None
    return {
        "codec": client.codec if client is not None else None,
        "width": controls.width if controls else settings.width,
        "height": controls.height if controls else settings.height,
        "fpsTarget": controls.fps if controls else settings.fps,
        "marker": controls.marker_enabled if controls else False,
        **streamer.stats.snapshot(),
        "bitrateCaps": bitrate_caps(),
    }


def memory() -> dict[str, int]:
    """Resident memory (bytes) of this process and of all its descendants (the renderer)."""
    host = psutil.Process()
    children = 0
    for child in host.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            children += child.memory_info().rss
    rss = host.memory_info().rss
    return {"hostRssBytes": rss, "childrenRssBytes": children, "totalRssBytes": rss + children}


@dataclass(frozen=True, slots=True)
class Sample:
    """One second of the stream as the charts plot it; None where there is nothing to show
    (no client, no frame encoded in the last second)."""

    t: float  # wall clock, epoch seconds: the charts' x axis (the page shows local times)
    fps: float
    render_ms: float | None
    encode_ms: float | None
    send_ms: float | None
    bitrate: float | None  # bits per second
    round_trip_ms: float | None
    memory_bytes: int  # host and renderer together


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


# The wire's names of the columns, in Sample's order: t, fps, renderMs, ... memoryBytes.
COLUMNS = tuple(_camel(field.name) for field in fields(Sample))


class InspectorHistory:
    """The last HISTORY_SAMPLES samples of the stream's figures, one every SAMPLE_SECONDS.

    `run()` takes them for the host's whole life (the host's serve loop owns that task);
    `take()` takes one now (what `run()` repeats, and what tests call)."""

    def __init__(
        self,
        stats: StreamStats,
        clock: Clock | None = None,
        memory_bytes: Callable[[], int] | None = None,
        size: int = HISTORY_SAMPLES,
    ) -> None:
        self.stats = stats
        self.clock = clock or SystemClock()
        self._memory_bytes = memory_bytes or (lambda: memory()["totalRssBytes"])
        self._samples: deque[Sample] = deque(maxlen=size)

    def take(self) -> Sample:
        stats = self.stats
        sample = Sample(
            t=round(self.clock.now().timestamp(), 3),
            fps=round(stats.fps(), 2),
            render_ms=stats.render_ms.recent_median(SAMPLE_SECONDS),
            encode_ms=stats.encode_ms.recent_median(SAMPLE_SECONDS),
            send_ms=stats.send_ms.recent_median(SAMPLE_SECONDS),
            bitrate=None if stats.bitrate is None else round(stats.bitrate),
            round_trip_ms=_rounded(stats.rtcp_round_trip_ms),
            memory_bytes=self._memory_bytes(),
        )
        self._samples.append(sample)
        return sample

    async def run(self, every: float = SAMPLE_SECONDS) -> None:
        """Take a sample every `every` seconds until cancelled."""
        while True:
            self.take()
            await asyncio.sleep(every)

    def since(self, after: float | None = None) -> dict[str, Any]:
        """The samples taken after `after` (epoch seconds; None: all kept), as columns (what
        uPlot plots): {"intervalSeconds": 1.0, "columns": {"t": [...], "fps": [...], ...}}."""
        chosen = [s for s in self._samples if after is None or s.t > after]
        rows = [astuple(sample) for sample in chosen]
        columns = {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}
        return {"intervalSeconds": SAMPLE_SECONDS, "columns": columns}


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 3)
