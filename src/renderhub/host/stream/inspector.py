"""GET /inspector.json's figures: the stream, the client, the scene, the renderer, memory."""

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
    polygons = state.scene.polygons if state.scene is not None else None
    return {
        "sessionId": state.session_id,
        "status": state.phase.value,
        "client": _client(client),
        "video": _video(streamer, client),
        "scene": {
            "polygons": polygons,
            "polygonLimit": state.budget.limit,
            "overLimit": polygons is not None and state.budget.exceeded_by(polygons),
        },
        "renderer": streamer.renderer.info() if streamer.renderer is not None else None,
        "memory": memory(),
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
