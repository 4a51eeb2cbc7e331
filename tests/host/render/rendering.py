"""Helpers for the renderer tests: scenes from samples or meshes, cameras, pixel checks."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import trimesh

from renderhub.host.frames import View
from renderhub.host.meshes import build_scene, load_model_file
from renderhub.host.render.geometry import ModelGeometry, SceneState
from renderhub.host.render.gl import BACKGROUND, GlRenderer
from renderhub.host.render.scene_data import SceneData, scene_data
from renderhub.host.scene import LoadedModel, LoadedScene
from renderhub.samples import sample_files

SAMPLE_NAMES = [path.name for path in sample_files()]


def loaded_sample(name: str) -> LoadedScene:
    path = next(p for p in sample_files() if p.name == name)
    return build_scene([load_model_file(name, path)])


@cache
def sample_data(name: str) -> SceneData:
    return scene_data(loaded_sample(name))


def scene_of(*meshes: trimesh.Trimesh) -> SceneData:
    model = LoadedModel.of_meshes("test", meshes)
    return scene_data(build_scene([model]))


def front_view(**changes: object) -> View:
    """The default camera of these tests: in front of the origin, on +z, looking at it."""
    values: dict[str, object] = {
        "eye": (0.0, 0.0, 3.0),
        "target": (0.0, 0.0, 0.0),
        "width": 320,
        "height": 240,
    }
    values.update(changes)
    return View(**values)  # type: ignore[arg-type]


def object_mask(pixels: np.ndarray) -> np.ndarray:
    """Where the picture differs from the background (a plain colour)."""
    background = np.round(np.array(BACKGROUND) * 255)
    return np.abs(pixels.astype(np.int32) - background).sum(axis=-1) > 24


def geometry_of(
    *meshes: trimesh.Trimesh, single_sided: bool = False, colours: list[tuple[int, ...]] = ()
) -> ModelGeometry:
    """A model with one part per mesh (part i: meshes[i]), as the runtime would hand it over:
    each mesh's own vertices, area-weighted vertex normals, a flat colour per part (grey
    unless `colours` names one), all double-sided or all single-sided."""
    positions, normals, paints, parts, indices = [], [], [], [], []
    offset = 0
    for part, mesh in enumerate(meshes):
        count = len(mesh.vertices)
        positions.append(np.asarray(mesh.vertices, dtype=np.float32))
        normals.append(np.asarray(mesh.vertex_normals, dtype=np.float32))  # area-weighted
        colour = colours[part] if part < len(colours) else (200, 200, 200, 255)
        paints.append(np.tile(np.array(colour, dtype=np.uint8), (count, 1)))
        parts.append(np.full(count, part, dtype=np.uint16))
        indices.append(np.asarray(mesh.faces, dtype=np.uint32).ravel() + offset)
        offset += count
    all_indices = np.concatenate(indices) if indices else np.zeros(0, np.uint32)
    return ModelGeometry(
        positions=np.concatenate(positions) if positions else np.zeros((0, 3), np.float32),
        normals=np.concatenate(normals) if normals else np.zeros((0, 3), np.float32),
        colours=np.concatenate(paints) if paints else np.zeros((0, 4), np.uint8),
        parts=np.concatenate(parts) if parts else np.zeros(0, np.uint16),
        indices=all_indices,
        part_count=len(meshes),
        single_sided_indices=len(all_indices) if single_sided else 0,
        part_triangles=tuple(len(mesh.faces) for mesh in meshes),
    )


def box(size: float = 1.0, centre: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    """An axis-aligned cube of side `size` around `centre` (in its part's local space)."""
    mesh = trimesh.creation.box(extents=(size, size, size))
    mesh.apply_translation(centre)
    return mesh


def translation(x: float, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    matrix = np.eye(4, dtype=np.float32)
    matrix[:3, 3] = (x, y, z)
    return matrix


def state_with(slots: int, **changes: object) -> SceneState:
    """SceneState.identity(slots) with fields replaced (matrices, tints, flags, ...)."""
    return replace(SceneState.identity(slots), **changes)  # type: ignore[arg-type]


def model_of(scene: SceneData) -> ModelGeometry:
    """A merged scene as one model of one part."""
    return ModelGeometry(
        positions=scene.positions,
        normals=scene.normals,
        colours=scene.colours,
        parts=np.zeros(scene.vertices, dtype=np.uint16),
        indices=scene.indices,
        part_count=1,
        single_sided_indices=scene.single_sided_indices,
        part_triangles=(scene.triangles,),
    )


def renderer_of(
    scene: SceneData, *, checkerboard: bool = False, samples: int | None = None
) -> GlRenderer:
    """A GlRenderer drawing `scene` in place (model 0, slot 0), or its checkerboard."""
    renderer = GlRenderer(samples=samples)
    renderer.add_model(0, 0, model_of(scene))
    bounds = scene.bounds
    box = None
    if checkerboard and bounds is not None:
        box = (tuple(map(float, bounds[0])), tuple(map(float, bounds[1])))
    renderer.set_state(state_with(1, checkerboard=box))
    return renderer
