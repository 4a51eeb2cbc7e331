"""The outline around selected parts: a selection mask, then one full-screen pass.

The selected parts are drawn (without depth test, so the outline shows through what hides
them, as ARR's did) into an R8 texture of the frame's size; a full-screen triangle then
paints OUTLINE_COLOUR on every pixel outside the mask within about two pixels of it, over
the finished picture. Neither runs when nothing is selected, and both are scissored to
the screen rectangle around the selected parts' boxes (a full-screen pass cost llvmpipe
tens of milliseconds at 720p).
"""

from __future__ import annotations

from collections.abc import Iterable

import moderngl
import numpy as np

from renderhub.host.frames import View
from renderhub.host.render import shaders
from renderhub.host.render.camera import projection_matrix, view_matrix
from renderhub.host.render.geometry import HIDDEN, SELECTED, SceneState
from renderhub.host.render.gl_models import GpuModel

OUTLINE_COLOUR = (1.0, 0.55, 0.0)
MASK_UNIT = 1  # the texture unit the mask is read from (0 holds the state texture)
OUTLINE_MARGIN = 3  # pixels around the selected parts' rectangle that the outline may take

Rect = tuple[int, int, int, int]  # x, y, width, height in GL window coordinates


class Outline:
    """The mask target (one per frame size) and the outline program of one context."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self._ctx = ctx
        self._program = ctx.program(
            vertex_shader=shaders.FULL_SCREEN_VERTEX, fragment_shader=shaders.OUTLINE_FRAGMENT
        )
        self._program["u_mask"] = MASK_UNIT
        self._program["u_outline"] = OUTLINE_COLOUR
        self._triangle = ctx.vertex_array(self._program, [])
        self._mask: moderngl.Texture | None = None
        self._framebuffer: moderngl.Framebuffer | None = None

    def begin_mask(self, size: tuple[int, int], rect: Rect) -> None:
        """Bind the mask target of `size` and clear `rect` of it; draw the selected parts
        into it next (scissored to `rect`)."""
        if self._mask is None or self._mask.size != size:
            self._release_target()
            self._mask = self._ctx.texture(size, 1, dtype="f1")
            self._framebuffer = self._ctx.framebuffer(color_attachments=[self._mask])
        assert self._framebuffer is not None
        self._framebuffer.use()
        self._framebuffer.clear(0.0, 0.0, 0.0, 0.0, viewport=rect)
        self._framebuffer.scissor = rect

    def paint(self, target: moderngl.Framebuffer, rect: Rect) -> None:
        """Paint the outline of the mask drawn since `begin_mask` onto `rect` of `target`."""
        assert self._mask is not None
        target.use()
        target.scissor = rect
        self._mask.use(MASK_UNIT)
        try:
            self._triangle.render(moderngl.TRIANGLES, vertices=3)
        finally:
            target.scissor = (0, 0, *target.size)

    def release(self) -> None:
        self._release_target()
        self._triangle.release()
        self._program.release()

    def _release_target(self) -> None:
        if self._framebuffer is not None:
            self._framebuffer.release()
            self._framebuffer = None
        if self._mask is not None:
            self._mask.release()
            self._mask = None


def selection_rect(models: Iterable[GpuModel], state: SceneState, view: View) -> Rect | None:
    """The window rectangle (GL's, the picture upside down) that holds every selected,
    visible part of `models` plus the outline's margin; None when none is on screen.

    Each part's local box is placed by its world matrix and projected; a box reaching
    behind the eye gives the whole picture."""
    boxes = [_selected_boxes(model, state) for model in models]
    corners = np.concatenate([b for b in boxes if len(b)] or [np.zeros((0, 4))])
    if not len(corners):
        return None
    camera = projection_matrix(view, flip_y=True).astype(np.float64) @ view_matrix(view)
    clip = corners @ camera.T
    size = np.array([view.width, view.height], dtype=np.float64)
    if (clip[:, 3] <= 1e-6).any():
        low, high = np.zeros(2), size
    else:
        window = (clip[:, :2] / clip[:, 3:] + 1.0) / 2.0 * size
        low = np.floor(window.min(axis=0)) - OUTLINE_MARGIN
        high = np.ceil(window.max(axis=0)) + OUTLINE_MARGIN
        low, high = np.clip(low, 0, size), np.clip(high, 0, size)
    width, height = (high - low).astype(int)
    if width <= 0 or height <= 0:
        return None
    return int(low[0]), int(low[1]), int(width), int(height)


def _selected_boxes(model: GpuModel, state: SceneState) -> np.ndarray:
    """The world-space corners (k * 8, 4) of the model's selected, visible parts' boxes."""
    end = min(model.first_slot + model.part_count, state.slots)
    if end <= model.first_slot:
        return np.zeros((0, 4))
    flags = state.flags[model.first_slot : end]
    chosen = np.flatnonzero((flags & SELECTED != 0) & (flags & HIDDEN == 0))
    bounds = model.part_bounds[chosen].astype(np.float64)
    chosen = chosen[np.isfinite(bounds).all(axis=(1, 2))]
    bounds = model.part_bounds[chosen].astype(np.float64)
    if not len(chosen):
        return np.zeros((0, 4))
    pick = np.array([[i >> axis & 1 for axis in range(3)] for i in range(8)])  # (8, 3)
    local = np.where(pick[None], bounds[:, None, 1], bounds[:, None, 0])  # (k, 8, 3)
    local = np.concatenate([local, np.ones((*local.shape[:2], 1))], axis=2)
    matrices = np.asarray(state.matrices[model.first_slot + chosen], dtype=np.float64)
    world = np.einsum("kij,kcj->kci", matrices, local)
    return world.reshape(-1, 4)
