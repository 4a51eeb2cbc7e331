"""The messages between the host and its renderer process, and the shared-memory layout.

Small messages travel pickled over a multiprocessing Pipe; pixels never do: the renderer
writes each frame into one of SLOTS slots of a shared-memory segment, at offset
slot * SLOT_BYTES, as height * width * 3 bytes (RGB, top row first, rows packed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from renderhub.host.frames import MAX_HEIGHT, MAX_WIDTH, View

SLOTS = 2
SLOT_BYTES = MAX_WIDTH * MAX_HEIGHT * 3
SEGMENT_BYTES = SLOTS * SLOT_BYTES


# Host -> renderer
@dataclass(frozen=True, slots=True)
class SceneHeader:
    """Followed by four send_bytes: positions, normals, colours, indices. `checkerboard`:
    draw a checkered box in the scene's bounds instead of the models. The last
    `single_sided_indices` indices are drawn with back faces culled (see SceneData)."""

    vertices: int
    indices: int
    bounds: list[list[float]] | None
    checkerboard: bool = False
    single_sided_indices: int = 0


@dataclass(frozen=True, slots=True)
class Render:
    sequence: int
    slot: int
    view: View


@dataclass(frozen=True, slots=True)
class Close:
    pass


# Renderer -> host
@dataclass(frozen=True, slots=True)
class Started:
    """The GL context exists and the frame memory is attached; the renderer waits for the
    scene (or Close)."""


@dataclass(frozen=True, slots=True)
class Ready:
    info: dict[str, Any]
    upload_ms: float


@dataclass(frozen=True, slots=True)
class Rendered:
    sequence: int
    slot: int
    render_ms: float


@dataclass(frozen=True, slots=True)
class Failed:
    """`sequence` is None when the renderer failed before or between renders (it exits)."""

    sequence: int | None
    message: str
