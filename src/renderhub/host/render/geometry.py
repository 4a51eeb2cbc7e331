"""What the scene runtime hands the renderer: each model's geometry once, and the scene's
state (where every part is, how it looks, the cut planes) whenever it changes.

A *part* is one mesh of one entity: its triangles are stored in the entity's local space, and
the renderer places them with the part's world matrix, so moving, hiding or tinting an
entity never re-uploads its triangles. Parts are numbered in *slots*: a model's parts take
`part_count` consecutive slots from `first_slot`, which the runtime chooses when it adds the
model; `SceneState` has one row per slot (slots of unloaded models are simply not drawn).

Picklable and numpy-only: the renderer process imports this without trimesh.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_CUT_PLANES = 8

# Bits of SceneState.flags, per slot.
HIDDEN = 1
SEE_THROUGH = 2
SELECTED = 4


@dataclass(frozen=True, slots=True)
class ModelGeometry:
    """One model's triangles, every part in its own entity's local space.

    `positions`, `normals`: float32 (N, 3); `colours`: uint8 (N, 4) RGBA; `parts`: uint16
    (N,), the part (0 .. part_count - 1, within this model) each vertex belongs to;
    `indices`: uint32 (3 * triangles,), into this model's vertices. Triangles of
    double-sided parts come first, the last `single_sided_indices` indices are those of
    single-sided parts (drawn with back faces culled). `part_triangles[p]`: part p's count."""

    positions: np.ndarray
    normals: np.ndarray
    colours: np.ndarray
    parts: np.ndarray
    indices: np.ndarray
    part_count: int
    single_sided_indices: int = 0
    part_triangles: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        single = self.single_sided_indices
        if not 0 <= single <= len(self.indices) or single % 3 or len(self.indices) % 3:
            raise ValueError(
                f"single_sided_indices {single} is not a whole number of triangles "
                f"within the {len(self.indices)} indices."
            )
        if not len(self.positions) == len(self.normals) == len(self.colours) == len(self.parts):
            raise ValueError("positions, normals, colours and parts must have one row per vertex")

    @property
    def double_sided_indices(self) -> int:
        return len(self.indices) - self.single_sided_indices

    @property
    def vertices(self) -> int:
        return len(self.positions)

    @property
    def triangles(self) -> int:
        return len(self.indices) // 3

    @property
    def nbytes(self) -> int:
        arrays = (self.positions, self.normals, self.colours, self.parts, self.indices)
        return sum(array.nbytes for array in arrays)


@dataclass(frozen=True, slots=True)
class CutPlaneData:
    """A cut plane as the renderer draws it: what lies on the side `normal` points away from
    is cut away; within `fade_length` of the plane the surface blends to `fade_colour`."""

    point: tuple[float, float, float]
    normal: tuple[float, float, float]  # unit length
    fade_length: float = 0.0
    fade_colour: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True, slots=True)
class SceneState:
    """Everything about the scene that may change every frame, one row per slot.

    `matrices`: float32 (S, 4, 4), each part's world matrix (row-major, translation in the
    last column: `world = matrix @ [x, y, z, 1]`); `tints`: float32 (S, 4) RGBA, alpha the
    share of the tint in the surface colour (0: none); `flags`: uint8 (S,), HIDDEN |
    SEE_THROUGH | SELECTED, already inherited down the entity tree. `checkerboard`: when not
    None, [[min xyz], [max xyz]]: draw a checkered box there instead of the models (the
    scene is over the session's polygon limit)."""

    matrices: np.ndarray
    tints: np.ndarray
    flags: np.ndarray
    cut_planes: tuple[CutPlaneData, ...] = ()
    checkerboard: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    version: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        slots = len(self.flags)
        if self.matrices.shape != (slots, 4, 4) or self.tints.shape != (slots, 4):
            raise ValueError("matrices, tints and flags must have one row per slot")
        if len(self.cut_planes) > MAX_CUT_PLANES:
            raise ValueError(f"at most {MAX_CUT_PLANES} cut planes")

    @property
    def slots(self) -> int:
        return len(self.flags)

    @classmethod
    def identity(cls, slots: int) -> SceneState:
        """`slots` parts in place (identity matrices), untinted, all flags off."""
        return cls(
            matrices=np.tile(np.eye(4, dtype=np.float32), (slots, 1, 1)),
            tints=np.zeros((slots, 4), dtype=np.float32),
            flags=np.zeros(slots, dtype=np.uint8),
        )


def check_geometry(geometry: ModelGeometry) -> None:
    """ValueError naming what is wrong with `geometry` that the renderer would misread:
    arrays of the wrong shape or dtype, indices beyond the vertices, parts beyond part_count. Checks
    every index once (a few milliseconds for a million triangles)."""
    if not isinstance(geometry, ModelGeometry):
        raise ValueError(f"add_model takes a ModelGeometry, not {type(geometry).__name__}.")
    vertices = geometry.vertices
    shapes = {
        "positions": (geometry.positions, (vertices, 3), np.float32),
        "normals": (geometry.normals, (vertices, 3), np.float32),
        "colours": (geometry.colours, (vertices, 4), np.uint8),
        "parts": (geometry.parts, (vertices,), np.uint16),
        "indices": (geometry.indices, (len(geometry.indices),), np.uint32),
    }
    for name, (array, shape, dtype) in shapes.items():
        if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != dtype:
            kind = np.dtype(dtype).name
            raise ValueError(f"ModelGeometry.{name} must be a {kind} array of shape {shape}.")
    if not 0 <= geometry.part_count <= 1 << 16:
        raise ValueError(f"part_count {geometry.part_count} is not within 0..65536.")
    if len(geometry.indices) and int(geometry.indices.max()) >= vertices:
        raise ValueError(f"ModelGeometry.indices point beyond its {vertices} vertices.")
    if vertices and int(geometry.parts.max()) >= geometry.part_count:
        raise ValueError(f"ModelGeometry.parts name parts beyond its {geometry.part_count}.")
