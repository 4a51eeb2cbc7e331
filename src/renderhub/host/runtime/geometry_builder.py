"""The renderer's geometry of one model (`ModelGeometry`): every part (one mesh of one node)
in its node's local space, with its colours, in one vertex and index buffer.

Built once per model in the host process, off the event loop, then sent to the renderer
process. Vectorised numpy per part (about 0.3 s for a million triangles); trimesh itself is
not imported, so a caller that only reads the arrays does not pay for it.

Each part's arrays and colours come from `vertex_data`. Sidedness: as the loader marked each
mesh; the triangles of double-sided parts come first, single-sided ones (drawn culled) last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from renderhub.host.render.geometry import ModelGeometry
from renderhub.host.runtime.vertex_data import MeshArrays, mesh_arrays
from renderhub.host.scene import is_double_sided

if TYPE_CHECKING:
    import trimesh

    from renderhub.host.scene import LoadedModel

MAX_PARTS = int(np.iinfo(np.uint16).max) + 1  # ModelGeometry.parts is uint16


class TooManyParts(ValueError):
    """A model has more parts than one ModelGeometry can number."""


@dataclass(frozen=True, slots=True)
class PartSource:
    """Where part `index` of a model comes from: mesh `mesh` of node `node`."""

    node: int
    mesh: trimesh.Trimesh


def part_sources(model: LoadedModel) -> list[PartSource]:
    """The model's parts in order (node by node, each node's meshes in order), leaving out
    meshes without triangles. A mesh instanced by several nodes is a part of each."""
    return [
        PartSource(index, mesh)
        for index, node in enumerate(model.nodes)
        for mesh in node.meshes
        if len(mesh.faces) and len(mesh.vertices)
    ]


def model_geometry(sources: list[PartSource]) -> ModelGeometry:
    """One ModelGeometry of the parts (blocking: run it off the event loop); part p's
    vertices carry p in `parts`. Raises TooManyParts past MAX_PARTS."""
    if len(sources) > MAX_PARTS:
        raise TooManyParts(f"it has {len(sources):,} meshes, more than {MAX_PARTS:,}")
    built: dict[int, MeshArrays] = {}  # an instanced mesh's arrays are made once
    parts = [
        built.get(id(source.mesh)) or built.setdefault(id(source.mesh), mesh_arrays(source.mesh))
        for source in sources
    ]
    if not parts:
        return _empty()
    sides = [is_double_sided(source.mesh) for source in sources]
    order = sorted(range(len(parts)), key=lambda p: not sides[p])  # stable: file order kept
    counts = [len(parts[p].positions) for p in order]
    offsets = np.cumsum([0, *counts[:-1]])
    if int(offsets[-1]) + counts[-1] > np.iinfo(np.uint32).max:
        raise ValueError("The model has more vertices than 32-bit indices can address.")
    indices = _join(
        [(parts[p].faces + offset).ravel() for p, offset in zip(order, offsets, strict=True)],
        np.uint32,
    )
    return ModelGeometry(
        positions=_join([parts[p].positions for p in order], np.float32),
        normals=_join([parts[p].normals for p in order], np.float32),
        colours=_join([parts[p].colours for p in order], np.uint8),
        parts=np.repeat(np.array(order, dtype=np.uint16), counts),
        indices=indices,
        part_count=len(parts),
        single_sided_indices=sum(
            part.faces.size for part, side in zip(parts, sides, strict=True) if not side
        ),
        part_triangles=tuple(len(part.faces) for part in parts),
    )


def _join(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    if len(arrays) == 1:
        return np.ascontiguousarray(arrays[0], dtype=dtype)
    joined: np.ndarray = np.concatenate(
        arrays, dtype=dtype, casting="unsafe"
    )  # ranges checked by callers
    return np.ascontiguousarray(joined)


def _empty() -> ModelGeometry:
    return ModelGeometry(
        positions=np.zeros((0, 3), dtype=np.float32),
        normals=np.zeros((0, 3), dtype=np.float32),
        colours=np.zeros((0, 4), dtype=np.uint8),
        parts=np.zeros(0, dtype=np.uint16),
        indices=np.zeros(0, dtype=np.uint32),
        part_count=0,
    )
