"""The scene's state on the GPU: one RGBA32F texture, a row of texels per slot's part.

Each slot takes TEXELS_PER_SLOT (8) texels: the world matrix's four columns, the normal
matrix's three columns (the flags ride in the first one's w, whether the matrix mirrors in
the second one's), and the tint. SLOTS_PER_ROW
slots share a texture row, so a million slots stay within GL's texture size limits. The
vertex shader reads its part's texels with texelFetch (see shaders.MESH_VERTEX). A new
SceneState is written in one upload; the texture only grows (by doubling its rows).
"""

from __future__ import annotations

import moderngl
import numpy as np

from renderhub.host.render.geometry import SceneState
from renderhub.host.render.shaders import SLOTS_PER_ROW, TEXELS_PER_SLOT


def state_texels(state: SceneState) -> np.ndarray:
    """The texels of `state`: float32 (rows, SLOTS_PER_ROW * TEXELS_PER_SLOT, 4), unused
    slots of the last row zero (they are beyond `state.slots` and never read)."""
    slots = state.slots
    rows = max(1, -(-slots // SLOTS_PER_ROW))
    texels = np.zeros((rows * SLOTS_PER_ROW, TEXELS_PER_SLOT, 4), dtype=np.float32)
    matrices = np.asarray(state.matrices, dtype=np.float32)
    texels[:slots, 0:4] = matrices.transpose(0, 2, 1)  # column by column
    texels[:slots, 4:7, :3] = normal_matrices(matrices).transpose(0, 2, 1)
    texels[:slots, 4, 3] = state.flags
    texels[:slots, 5, 3] = mirrored(matrices)
    texels[:slots, 7] = state.tints
    return texels.reshape(rows, SLOTS_PER_ROW * TEXELS_PER_SLOT, 4)


def mirrored(matrices: np.ndarray) -> np.ndarray:
    """Whether each of `matrices` (S, 4, 4) mirrors (its upper 3x3 has a negative
    determinant): bool (S,)."""
    return np.linalg.det(matrices[:, :3, :3].astype(np.float64)) < 0


def normal_matrices(matrices: np.ndarray) -> np.ndarray:
    """The cofactor matrices of the upper 3x3 of each of `matrices` (S, 4, 4): the inverse
    transpose times the determinant, so normals stay perpendicular under non-uniform scale.
    The shader normalises (and turns normals to the eye), so the factor does not matter,
    and a degenerate matrix gives no NaNs."""
    linear = matrices[:, :3, :3].astype(np.float64)
    a, b, c = linear[:, :, 0], linear[:, :, 1], linear[:, :, 2]
    columns = (np.cross(b, c), np.cross(c, a), np.cross(a, b))
    return np.stack(columns, axis=2).astype(np.float32)


class StateTexture:
    """The state texture of one GL context; `write` replaces its contents."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self._ctx = ctx
        self._texture: moderngl.Texture | None = None
        self.slots = 0

    def write(self, state: SceneState) -> None:
        """Upload `state` (one write; the texture grows when it has too few rows)."""
        texels = state_texels(state)
        rows = texels.shape[0]
        if self._texture is None or self._texture.height < rows:
            self._release_texture()
            capacity = 1 << max(0, rows - 1).bit_length()
            size = (SLOTS_PER_ROW * TEXELS_PER_SLOT, capacity)
            self._texture = self._ctx.texture(size, 4, dtype="f4")
            self._texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._texture.write(texels, viewport=(0, 0, texels.shape[1], rows))
        self.slots = state.slots

    def use(self, location: int) -> None:
        """Bind the texture to texture unit `location` (nothing is drawn before a write)."""
        if self._texture is not None:
            self._texture.use(location)

    def release(self) -> None:
        self._release_texture()

    def _release_texture(self) -> None:
        if self._texture is not None:
            self._texture.release()
            self._texture = None
