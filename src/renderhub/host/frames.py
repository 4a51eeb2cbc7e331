"""The seam between streaming and rendering: a View asked for, a Frame handed back.

The streaming side turns a client's camera input into a View; a FrameSource (the renderer
process) renders it into shared memory and hands back a Frame that points there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from renderhub.host.render.geometry import ModelGeometry, SceneState

Vector = tuple[float, float, float]

MIN_WIDTH, MAX_WIDTH = 160, 3840
MIN_HEIGHT, MAX_HEIGHT = 120, 2160
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1280, 720


@dataclass(frozen=True, slots=True)
class View:
    """What to render: a perspective camera and an output size (even, within the limits).

    `marker`, when set, is a 16-bit number the renderer draws into the bottom-left corner of
    the frame (16 blocks of 8x8 pixels, most significant bit first, white = 1), so that a
    client can tell which input a decoded frame already reflects."""

    eye: Vector
    target: Vector
    up: Vector = (0.0, 1.0, 0.0)
    fov_y_degrees: float = 45.0
    near: float = 0.01
    far: float = 1000.0
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    marker: int | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """A rendered picture: RGB, (height, width, 3) uint8, top row first.

    `pixels` may be a view into shared memory that the next render call reuses: copy it
    (e.g. into a video frame) before asking for another."""

    pixels: np.ndarray
    sequence: int
    render_ms: float
    extra: dict[str, Any] = field(default_factory=dict)


class FrameSource(Protocol):
    async def render(self, view: View) -> Frame:
        """Render `view`; the frame reflects exactly that view."""
        ...

    def info(self) -> dict[str, Any]:
        """What renders: {"renderer": GL_RENDERER string, "gpu": bool, ...}."""
        ...

    async def aclose(self) -> None:
        """Stop rendering and end the renderer process; safe to call twice."""
        ...


class SceneRenderer(FrameSource, Protocol):
    """A FrameSource whose scene changes at run time (the renderer process): models are
    added and removed whole, and the scene's state (transforms, states, cut planes) is set
    as a whole whenever it changes, taking effect from the next render."""

    async def add_model(self, model_id: int, first_slot: int, geometry: ModelGeometry) -> None:
        """Upload one model's geometry; its parts use slots first_slot .. + part_count."""
        ...

    async def remove_model(self, model_id: int) -> None:
        """Free a model's geometry; it is not drawn from the next render on."""
        ...

    def set_state(self, state: SceneState) -> None:
        """The scene's state for the next renders (the newest one set wins)."""
        ...
