"""The geometry a host holds in memory once its models are loaded (a later stage renders it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import trimesh


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """One model file: its triangle meshes in world space, their polygon count, its size."""

    url: str
    meshes: tuple[trimesh.Trimesh, ...]
    polygons: int
    bytes: int

    def summary(self) -> dict[str, object]:
        from renderhub.model_sources import redact

        return {"url": redact(self.url), "polygons": self.polygons, "bytes": self.bytes}


@dataclass(frozen=True, slots=True)
class LoadedScene:
    """All of a session's models. `bounds` is [[min xyz], [max xyz]], or None when empty."""

    models: tuple[LoadedModel, ...] = ()
    bounds: np.ndarray | None = field(default=None, compare=False)

    @property
    def meshes(self) -> tuple[trimesh.Trimesh, ...]:
        return tuple(mesh for model in self.models for mesh in model.meshes)

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
