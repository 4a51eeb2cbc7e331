"""The whole scene as today's renderer needs it: one merged vertex/index buffer, double-sided
meshes' triangles first and single-sided ones (drawn with back faces culled) last.

TRANSITIONAL: the scene runtime gives the renderer one `ModelGeometry` per model instead
(renderhub.host.runtime.geometry_builder); this module goes once the renderer takes those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from renderhub.host.runtime.vertex_data import NEUTRAL_GREY, area_weighted_normals, rgba_rows

if TYPE_CHECKING:
    import trimesh

    from renderhub.host.scene import LoadedScene

__all__ = ["NEUTRAL_GREY", "SceneData", "area_weighted_normals", "rgba_rows", "scene_data"]


@dataclass(frozen=True, slots=True)
class SceneData:
    """Merged geometry, picklable. `positions`, `normals`: float32 (N, 3); `colours`: uint8
    (N, 4) RGBA; `indices`: uint32 (3 * triangles,); `bounds`: float32 [[min], [max]] or None
    when the scene is empty. The last `single_sided_indices` of `indices` are the triangles
    of single-sided meshes (the renderer culls their back faces, which llvmpipe rewards);
    those before are double-sided."""

    positions: np.ndarray
    normals: np.ndarray
    colours: np.ndarray
    indices: np.ndarray
    bounds: np.ndarray | None
    single_sided_indices: int = 0

    def __post_init__(self) -> None:
        single = self.single_sided_indices
        if not 0 <= single <= len(self.indices) or single % 3:
            raise ValueError(
                f"single_sided_indices {single} is not a whole number of triangles "
                f"within the {len(self.indices)} indices."
            )

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
        arrays = (self.positions, self.normals, self.colours, self.indices)
        return sum(array.nbytes for array in arrays)


def scene_data(scene: LoadedScene) -> SceneData:
    """Merge every mesh of `scene`, placed in the world as its file places it, into one
    SceneData (blocking: run it off the event loop); colours and sidedness as
    `renderhub.host.runtime.geometry_builder` gives them."""
    from renderhub.host.runtime.geometry_builder import PartSource, model_geometry

    meshes = [
        mesh if np.allclose(world, np.eye(4)) else _placed(mesh, world)
        for model in scene.models
        for node, world in zip(model.nodes, model.world_matrices(), strict=True)
        for mesh in node.meshes
    ]
    geometry = model_geometry([PartSource(0, mesh) for mesh in meshes if len(mesh.faces)])
    if not geometry.vertices:
        return _empty()
    bounds = scene.bounds
    if bounds is None:
        bounds = np.array([geometry.positions.min(axis=0), geometry.positions.max(axis=0)])
    return SceneData(
        positions=geometry.positions,
        normals=geometry.normals,
        colours=geometry.colours,
        indices=geometry.indices,
        bounds=np.asarray(bounds, dtype=np.float32),
        single_sided_indices=geometry.single_sided_indices,
    )


def _placed(mesh: trimesh.Trimesh, world: np.ndarray) -> trimesh.Trimesh:
    placed = mesh.copy()
    placed.apply_transform(world)
    return placed


def _empty() -> SceneData:
    return SceneData(
        positions=np.zeros((0, 3), dtype=np.float32),
        normals=np.zeros((0, 3), dtype=np.float32),
        colours=np.zeros((0, 4), dtype=np.uint8),
        indices=np.zeros(0, dtype=np.uint32),
        bounds=None,
    )
