"""The box drawn in place of models over the polygon limit: the models' bounds, checkered.

Each face carries coordinates in cell units, so the pattern has square cells of one size on
all faces (CELLS across the largest side) and no seams along the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELLS = 8
_MIN_THICKNESS = 0.02  # of the largest side: a flat model still gets a visible slab


@dataclass(frozen=True, slots=True)
class CheckerBox:
    """Triangles of a box: positions and normals (24, 3), cell coordinates (24, 2), indices."""

    positions: np.ndarray
    normals: np.ndarray
    cells: np.ndarray
    indices: np.ndarray


def checker_box(bounds: np.ndarray) -> CheckerBox:
    """The box around `bounds` ([[min xyz], [max xyz]]), padded where it is flat."""
    low, high = _padded(np.asarray(bounds, dtype=np.float64))
    cell = float((high - low).max()) / CELLS
    positions, normals, cells = [], [], []
    for axis in range(3):
        u_axis, v_axis = (axis + 1) % 3, (axis + 2) % 3
        for side in (low, high):
            for u, v in ((0, 0), (1, 0), (1, 1), (0, 1)):
                corner = np.empty(3)
                corner[axis] = side[axis]
                corner[u_axis] = (low, high)[u][u_axis]
                corner[v_axis] = (low, high)[v][v_axis]
                positions.append(corner)
                normal = np.zeros(3)
                normal[axis] = 1.0 if side is high else -1.0
                normals.append(normal)
                cells.append((corner[[u_axis, v_axis]] - low[[u_axis, v_axis]]) / cell)
    quads = np.arange(6)[:, None] * 4 + np.array([0, 1, 2, 0, 2, 3])
    return CheckerBox(
        positions=np.array(positions, dtype=np.float32),
        normals=np.array(normals, dtype=np.float32),
        cells=np.array(cells, dtype=np.float32),
        indices=quads.astype(np.uint32).ravel(),
    )


def _padded(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low, high = bounds[0].copy(), bounds[1].copy()
    largest = max(float((high - low).max()), 1e-6)
    thin = (high - low) < _MIN_THICKNESS * largest
    centre = (low + high) / 2
    low[thin] = centre[thin] - _MIN_THICKNESS * largest / 2
    high[thin] = centre[thin] + _MIN_THICKNESS * largest / 2
    return low, high
