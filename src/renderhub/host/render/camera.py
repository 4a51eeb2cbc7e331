"""From a View to matrices: checking it, a look-at view matrix, a perspective projection.

Pure numpy, so both sides of the renderer process can use it (the host checks a View before
sending it; the renderer turns it into matrices).
"""

from __future__ import annotations

import math

import numpy as np

from renderhub.host.frames import MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH, View


def check_view(view: View) -> None:
    """Raise ValueError, naming the field, when `view` cannot be rendered."""
    if not (MIN_WIDTH <= view.width <= MAX_WIDTH and MIN_HEIGHT <= view.height <= MAX_HEIGHT):
        raise ValueError(
            f"View size {view.width}x{view.height} is outside "
            f"{MIN_WIDTH}x{MIN_HEIGHT}..{MAX_WIDTH}x{MAX_HEIGHT}."
        )
    if view.width % 2 or view.height % 2:
        raise ValueError(f"View size {view.width}x{view.height} must be even in both directions.")
    values = (*view.eye, *view.target, *view.up, view.fov_y_degrees, view.near, view.far)
    if not all(math.isfinite(v) for v in values):
        raise ValueError("View has a non-finite number in eye, target, up, fov or near/far.")
    if not 0.0 < view.fov_y_degrees < 180.0:
        raise ValueError(f"View fov_y_degrees {view.fov_y_degrees} is not between 0 and 180.")
    if not 0.0 < view.near < view.far:
        raise ValueError(f"View near {view.near} and far {view.far} need 0 < near < far.")
    if view.marker is not None and not 0 <= view.marker <= 0xFFFF:
        raise ValueError(f"View marker {view.marker} is not a 16-bit number.")


def view_matrix(view: View) -> np.ndarray:
    """World to camera (right-handed, looking down -z), float32 4x4, row-major.

    An eye on its target looks down -z; an `up` along the line of sight is replaced by
    another axis, so a degenerate View still gives a usable picture rather than NaNs."""
    eye = np.asarray(view.eye, dtype=np.float64)
    forward = np.asarray(view.target, dtype=np.float64) - eye
    forward = _unit(forward, fallback=np.array([0.0, 0.0, -1.0]))
    right = np.cross(forward, np.asarray(view.up, dtype=np.float64))
    if np.linalg.norm(right) < 1e-9:
        other = np.array([0.0, 0.0, 1.0]) if abs(forward[1]) > 0.9 else np.array([0.0, 1.0, 0.0])
        right = np.cross(forward, other)
    right = _unit(right, fallback=np.array([1.0, 0.0, 0.0]))
    up = np.cross(right, forward)
    matrix = np.identity(4)
    matrix[0, :3], matrix[1, :3], matrix[2, :3] = right, up, -forward
    matrix[:3, 3] = -matrix[:3, :3] @ eye
    return matrix.astype(np.float32)


def projection_matrix(view: View, *, flip_y: bool = False) -> np.ndarray:
    """OpenGL perspective projection (clip z in -w..w), float32 4x4, row-major.

    `flip_y` mirrors the picture vertically, so that GL's first row (the bottom one) holds
    the top of the image: a read-back is then top-row-first without a copy."""
    f = 1.0 / math.tan(math.radians(view.fov_y_degrees) / 2.0)
    aspect = view.width / view.height
    near, far = view.near, view.far
    matrix = np.zeros((4, 4))
    matrix[0, 0] = f / aspect
    matrix[1, 1] = -f if flip_y else f
    matrix[2, 2] = (far + near) / (near - far)
    matrix[2, 3] = 2.0 * far * near / (near - far)
    matrix[3, 2] = -1.0
    return matrix.astype(np.float32)


def _unit(vector: np.ndarray, *, fallback: np.ndarray) -> np.ndarray:
    length = float(np.linalg.norm(vector))
    return vector / length if length > 1e-12 else fallback
