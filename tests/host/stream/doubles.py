"""A FrameSource test double: a flat picture whose colour tells where the eye is, plus the
View's marker blocks. Tests only; the product always renders through the real renderer."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import numpy as np

from renderhub.frame_marker import BLOCK, marker_bits
from renderhub.host.frames import Frame, View
from renderhub.host.render.geometry import ModelGeometry, SceneState


def eye_colour(view: View) -> tuple[int, int, int]:
    """The colour the double paints for `view`: the eye's direction from the target, each
    axis mapped from -1..1 to 0..255."""
    offset = [e - t for e, t in zip(view.eye, view.target, strict=True)]
    length = math.sqrt(sum(v * v for v in offset)) or 1.0
    r, g, b = (round((v / length + 1) / 2 * 255) for v in offset)
    return r, g, b


class Broken(Exception):
    """Like the renderer's RendererError: `message` is one sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PictureSource:
    """Implements FrameSource; counts its renders and remembers the last View."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.broken: str | None = None  # set it to make every render fail with this message
        self.renders = 0
        self.last_view: View | None = None
        self.closed = False
        self._buffer: np.ndarray | None = None
        self.models: dict[int, tuple[int, ModelGeometry]] = {}
        self.states: list[SceneState] = []

    async def render(self, view: View) -> Frame:
        if self.closed:
            raise RuntimeError("the source is closed")
        if self.broken is not None:
            raise Broken(self.broken)
        started = time.perf_counter()
        if self.delay:
            await asyncio.sleep(self.delay)
        pixels = self._pixels(view.width, view.height)  # reused, like shared memory
        pixels[:] = eye_colour(view)
        if view.marker is not None:
            self._draw_marker(pixels, view.marker)
        self.renders += 1
        self.last_view = view
        return Frame(pixels, self.renders, (time.perf_counter() - started) * 1000)

    def _pixels(self, width: int, height: int) -> np.ndarray:
        if self._buffer is None or self._buffer.shape != (height, width, 3):
            self._buffer = np.zeros((height, width, 3), dtype=np.uint8)
        return self._buffer

    @staticmethod
    def _draw_marker(pixels: np.ndarray, marker: int) -> None:
        bottom = pixels[-BLOCK:]
        for bit, on in enumerate(marker_bits(marker)):
            bottom[:, bit * BLOCK : (bit + 1) * BLOCK] = 255 if on else 0

    def info(self) -> dict[str, Any]:
        return {"renderer": "test double", "gpu": False}

    # A SceneRenderer too: the scene it is given is recorded, not drawn.
    async def add_model(self, model_id: int, first_slot: int, geometry: ModelGeometry) -> None:
        self.models[model_id] = (first_slot, geometry)

    async def remove_model(self, model_id: int) -> None:
        del self.models[model_id]

    def set_state(self, state: SceneState) -> None:
        self.states.append(state)

    async def aclose(self) -> None:
        self.closed = True
