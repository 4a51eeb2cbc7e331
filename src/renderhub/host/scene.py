"""The models a host holds in memory once they are loaded: each one's node tree, with every
node's meshes in the node's own local space, so that the scene runtime can move, hide and
tint the nodes one by one (`renderhub.host.runtime`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import trimesh


@dataclass(frozen=True, slots=True, eq=False)
class ModelNode:
    """One node of a model's tree.

    `parent`: the index of the parent node within the model's `nodes`, or -1 for a node
    directly under the model's root (parents always come before their children). `matrix`:
    the local transform, 4x4 float64 (translation in the last column), relative to the
    parent. `meshes`: the node's triangle meshes in the node's LOCAL space, marked with their
    sidedness and carrying their colours; a mesh that several nodes instance is the same
    object in each. `metadata`: the glTF node's `extras` ({} when there are none)."""

    name: str
    parent: int = -1
    matrix: np.ndarray = field(default_factory=lambda: _identity())
    meshes: tuple[trimesh.Trimesh, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def polygons(self) -> int:
        return sum(len(mesh.faces) for mesh in self.meshes)


@dataclass(frozen=True, slots=True, eq=False)
class LoadedModel:
    """One model file: its node tree, its polygon count, its size in bytes."""

    url: str
    nodes: tuple[ModelNode, ...]
    polygons: int
    bytes: int

    @classmethod
    def of_meshes(cls, url: str, meshes: tuple[trimesh.Trimesh, ...]) -> LoadedModel:
        """A model of one node holding `meshes` as they are (for tests and benchmarks)."""
        node = ModelNode(name="mesh", meshes=meshes)
        return cls(url=url, nodes=(node,), polygons=node.polygons, bytes=0)

    def summary(self) -> dict[str, object]:
        from renderhub.model_sources import redact

        return {"url": redact(self.url), "polygons": self.polygons, "bytes": self.bytes}

    def world_matrices(self) -> list[np.ndarray]:
        """Each node's transform relative to the model's root (parents composed in)."""
        worlds: list[np.ndarray] = []
        for node in self.nodes:
            parent = worlds[node.parent] if node.parent >= 0 else None
            worlds.append(node.matrix if parent is None else parent @ node.matrix)
        return worlds

    @property
    def bounds(self) -> np.ndarray | None:
        """[[min xyz], [max xyz]] of every mesh as the file places it, or None when empty."""
        import numpy as np

        corners = [
            _box_corners(np.asarray(mesh.bounds)) @ world[:3, :3].T + world[:3, 3]
            for node, world in zip(self.nodes, self.world_matrices(), strict=True)
            for mesh in node.meshes
            if len(mesh.vertices)
        ]
        if not corners:
            return None
        points = np.concatenate(corners)
        return np.array([points.min(axis=0), points.max(axis=0)])


def _identity() -> np.ndarray:
    import numpy as np  # numpy is imported when a model loads, not when the host starts

    return np.eye(4)


def _box_corners(bounds: np.ndarray) -> np.ndarray:
    """The 8 corners of an axis-aligned box [[min], [max]]."""
    import numpy as np

    low, high = bounds
    pick = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], dtype=bool)
    return np.where(pick, high, low)


@dataclass(frozen=True, slots=True)
class LoadedScene:
    """All of a session's models. `bounds` is [[min xyz], [max xyz]], or None when empty."""

    models: tuple[LoadedModel, ...] = ()
    bounds: np.ndarray | None = field(default=None, compare=False)

    @property
    def polygons(self) -> int:
        return sum(model.polygons for model in self.models)


# The key, in a trimesh mesh's metadata, under which a loader marks the mesh's sidedness.
DOUBLE_SIDED_KEY = "renderhub_double_sided"


def mark_sidedness(mesh: trimesh.Trimesh, *, double_sided: bool) -> None:
    """Record, on the loaded mesh, whether its material is drawn from both sides."""
    mesh.metadata[DOUBLE_SIDED_KEY] = double_sided


def is_double_sided(mesh: trimesh.Trimesh) -> bool:
    """Whether `mesh` is drawn from both sides (no back-face culling).

    Only what a loader marked single-sided is culled (a glTF material that is not
    doubleSided, a converted asset's SingleSided material): OBJ, PLY and STL have no notion
    of sidedness, and culling an open or inconsistently wound mesh would punch holes in it."""
    metadata = getattr(mesh, "metadata", None) or {}
    return bool(metadata.get(DOUBLE_SIDED_KEY, True))
