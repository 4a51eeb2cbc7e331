"""The messages between the host and its renderer process, and the shared-memory layout.

Small messages travel pickled over a multiprocessing Pipe; pixels never do: the renderer
writes each frame into one of SLOTS slots of a shared-memory segment, at offset
slot * SLOT_BYTES, as height * width * 3 bytes (RGB, top row first, rows packed). A model's
arrays follow its AddModel header as raw bytes (send_bytes), without a pickled copy.

Every request carries a `sequence`; the renderer answers each with a message carrying it
(Done, Rendered, or Failed). A Failed without a sequence means the renderer is ending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from renderhub.host.frames import MAX_HEIGHT, MAX_WIDTH, View
from renderhub.host.render.geometry import SceneState

SLOTS = 2
SLOT_BYTES = MAX_WIDTH * MAX_HEIGHT * 3
SEGMENT_BYTES = SLOTS * SLOT_BYTES


# Host -> renderer
@dataclass(frozen=True, slots=True)
class AddModel:
    """Followed by five send_bytes: positions, normals, colours, parts, indices (the dtypes
    of geometry.ModelGeometry)."""

    sequence: int
    model_id: int
    first_slot: int
    vertices: int
    indices: int
    part_count: int
    single_sided_indices: int
    part_triangles: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RemoveModel:
    sequence: int
    model_id: int


@dataclass(frozen=True, slots=True)
class Render:
    """`state`: the scene's new state, applied before drawing; None when unchanged."""

    sequence: int
    slot: int
    view: View
    state: SceneState | None = None


@dataclass(frozen=True, slots=True)
class Close:
    pass


# Renderer -> host
@dataclass(frozen=True, slots=True)
class Started:
    """The GL context exists and the frame memory is attached; the renderer waits for
    requests. `info`: GlRenderer.info()."""

    info: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Done:
    """A model request succeeded; `ms`: the time the renderer spent on it."""

    sequence: int
    ms: float


@dataclass(frozen=True, slots=True)
class Rendered:
    sequence: int
    slot: int
    render_ms: float


@dataclass(frozen=True, slots=True)
class Failed:
    """`sequence` is None when the renderer failed before or between requests (it exits)."""

    sequence: int | None
    message: str
