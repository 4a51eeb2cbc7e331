"""The blocking half of adding a model to the scene, safe in a worker thread: its geometry
for the renderer, each part's local box and ray-cast mesh, and its nodes' transforms split
into position, rotation and scale. It touches nothing of the scene.

The ray-cast meshes' acceleration structures are not built here (seconds for a million
triangles, which would delay the session's Ready): the scene begins building them, in the
background, when it commits the model (`start_ray_structures`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from renderhub.errors import BadRequest
from renderhub.host.render.geometry import ModelGeometry
from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.runtime.geometry_builder import (
    PartSource,
    TooManyParts,
    model_geometry,
    part_sources,
)
from renderhub.host.runtime.transforms import decompose_many
from renderhub.host.scene import LoadedModel
from renderhub.model_sources import redact

if TYPE_CHECKING:
    from renderhub.host.picking import MeshGeometry, PickableMesh


@dataclass(eq=False)
class PreparedModel:
    """A model ready to be committed into a scene (once). Per part p: `part_nodes[p]` the
    node it belongs to, `part_triangles[p]`, `part_bounds[p]` its local [[min], [max]],
    `picks[p]` its ray-cast mesh (one MeshGeometry per mesh, shared by instancing nodes).
    Per node: `positions`, `rotations` (unit xyzw), `scales`."""

    model: LoadedModel
    geometry: ModelGeometry
    part_nodes: np.ndarray
    part_triangles: np.ndarray
    part_bounds: np.ndarray
    picks: list[PickableMesh]
    positions: np.ndarray
    rotations: np.ndarray
    scales: np.ndarray
    committed: bool = field(default=False)

    def start_ray_structures(self) -> None:
        """Begin building the parts' ray-cast structures in daemon threads (once each)."""
        for pick in self.picks:
            pick.geometry.start_build()


def prepare(model: LoadedModel) -> PreparedModel:
    """Build what the scene needs of `model` (blocking: numpy over all its triangles; the
    ray-cast structures are left to `start_ray_structures`). ModelLoadFailed when it has
    more parts than a ModelGeometry can number."""
    sources = part_sources(model)
    try:
        geometry = model_geometry(sources)
    except TooManyParts as exc:
        raise SceneError(
            ErrorCode.MODEL_LOAD_FAILED, f"Could not load model {redact(model.url)!r}: {exc}."
        ) from exc
    try:
        picks = _pick_meshes(sources)
    except BadRequest as exc:  # vertices that are not finite numbers
        raise SceneError(
            ErrorCode.MODEL_LOAD_FAILED,
            f"Could not load model {redact(model.url)!r}: {exc.message}.",
        ) from exc
    bounds = np.array([np.asarray(source.mesh.bounds) for source in sources]).reshape(-1, 2, 3)
    matrices = np.array([node.matrix for node in model.nodes], dtype=np.float64)
    positions, rotations, scales = decompose_many(matrices.reshape(-1, 4, 4))
    return PreparedModel(
        model=model,
        geometry=geometry,
        part_nodes=np.array([source.node for source in sources], dtype=np.int64),
        part_triangles=np.array(geometry.part_triangles, dtype=np.int64),
        part_bounds=bounds,
        picks=picks,
        positions=positions,
        rotations=rotations,
        scales=scales,
    )


def _pick_meshes(sources: list[PartSource]) -> list[PickableMesh]:
    """One PickableMesh per part, at the identity until committed and moved; parts of one
    mesh (instances) share its MeshGeometry and so its acceleration structure."""
    from renderhub.host.picking import MeshGeometry, PickableMesh  # trimesh, Embree

    shared: dict[int, MeshGeometry] = {}
    picks = []
    for source in sources:
        geometry = shared.get(id(source.mesh))
        if geometry is None:
            geometry = shared[id(source.mesh)] = MeshGeometry.from_trimesh(source.mesh)
        picks.append(PickableMesh(0, geometry))  # its entity's id is set on commit
    return picks
