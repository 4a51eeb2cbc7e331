"""GET /inspector.json's figures: the stream, the client, the scene (as it is now, from the
session's scene model), the renderer, memory."""

from __future__ import annotations

import contextlib
from typing import Any

import psutil

from renderhub.host.stream.encoding import bitrate_caps
from renderhub.host.stream.session import ClientSession
from renderhub.host.stream.streamer import Streamer


def inspect(streamer: Streamer) -> dict[str, Any]:
    """A snapshot of everything the inspector page shows (camelCase, like /health)."""
    state, client = streamer.state, streamer.client
    return {
        "sessionId": state.session_id,
        "status": state.phase.value,
        "client": _client(client),
        "video": _video(streamer, client),
        "scene": _scene(streamer),
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
