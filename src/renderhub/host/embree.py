"""trimesh's Embree ray intersector on one Embree device for the whole process.

trimesh makes a new Embree device for every scene it builds, and each device starts its own
thread pool: past about a thousand scenes (a model of a thousand separate meshes, or a large
mesh built in chunks) the process segfaults while making the next one. Embree's devices are
meant to be shared, so every scene here is made on one device, created on first use.

Everything else (scaling the mesh to a unit box for precision, the queries) is trimesh's:
only where the scene is made differs. Import this only where embreex is installed.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from embreex import rtcore, rtcore_scene
from embreex.mesh_construction import TriangleMesh
from trimesh import caching
from trimesh.ray import ray_pyembree

_EMBREE_DTYPE = np.float32
_device: Any = None
_device_lock = threading.Lock()


def shared_device() -> Any:
    """The process's one Embree device (made on first use, from any thread)."""
    global _device
    with _device_lock:
        if _device is None:
            _device = rtcore.EmbreeDevice()
        return _device


class SharedDeviceScene:
    """An Embree scene of one mesh, on the shared device; queried as trimesh queries its own
    (`run(origins, directions, **options)`), in the same scaled coordinates."""

    def __init__(self, vertices: Any, faces: Any, scale: float) -> None:
        scaled = np.array(vertices, dtype=np.float64)
        self.origin = scaled.min(axis=0)
        self.scale = float(scale)
        scaled = (scaled - self.origin) * self.scale
        self.scene = rtcore_scene.EmbreeScene(shared_device())
        TriangleMesh(
            scene=self.scene,
            vertices=scaled.astype(_EMBREE_DTYPE),
            indices=np.asarray(faces).astype(np.int32),
        )

    def run(self, origins: Any, directions: Any, **options: Any) -> Any:
        scaled = (np.array(origins, dtype=np.float64) - self.origin) * self.scale
        return self.scene.run(
            scaled.astype(_EMBREE_DTYPE), np.asarray(directions).astype(_EMBREE_DTYPE), **options
        )


class SharedDeviceIntersector(ray_pyembree.RayMeshIntersector):  # type: ignore[misc]
    """trimesh's Embree intersector, its scene made on the shared device."""

    @caching.cache_decorator
    def _scene(self) -> SharedDeviceScene:
        return SharedDeviceScene(self.mesh.vertices, self.mesh.faces, self._scale)
