"""Helpers for the renderer tests: scenes built the way the host builds them, renderers
(in process and in their own process) holding them, cameras, pixel checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import trimesh

from renderhub.host.frames import View
from renderhub.host.meshes import load_model_file
from renderhub.host.render import ModelGeometry, RendererProcess, SceneState
from renderhub.host.render.gl import BACKGROUND, GlRenderer
from renderhub.host.render.process import RENDER_TIMEOUT_S
from renderhub.host.runtime.model import AddedModel, SceneModel
from renderhub.host.scene import LoadedModel
from renderhub.samples import sample_files

SAMPLE_NAMES = [path.name for path in sample_files()]


@dataclass(frozen=True, slots=True)
class Scene:
    """What the host hands a renderer: each model's id, first slot and geometry (in its
    parts' local spaces), and the scene's state placing them."""

    models: tuple[AddedModel, ...]
    state: SceneState

    @property
    def geometry(self) -> ModelGeometry:
        """The geometry of a scene of one model."""
        (model,) = self.models
        return model.geometry

    def with_geometry(self, geometry: ModelGeometry) -> Scene:
        """This one-model scene with other geometry for its model."""
        (model,) = self.models
        return replace(self, models=(replace(model, geometry=geometry),))


def scene_of_models(*models: LoadedModel, polygon_limit: int | None = None) -> Scene:
    """The scene of `models` as the host makes it: each added to a SceneModel (its
    geometry from the runtime's geometry builder), the state from SceneModel.state(), which
    asks for a checkerboard when the models are over `polygon_limit`."""
    scene = SceneModel(polygon_limit)
    added = tuple(scene.add_model(model) for model in models)
    return Scene(added, scene.state())


def file_scene(path: Path, *, polygon_limit: int | None = None) -> Scene:
    """The scene of the model file at `path`, loaded as a host loads it."""
    return scene_of_models(load_model_file(path.name, path), polygon_limit=polygon_limit)


@cache
def sample_scene(name: str, *, polygon_limit: int | None = None) -> Scene:
    """The scene of one of the bundled samples."""
    path = next(p for p in sample_files() if p.name == name)
    return file_scene(path, polygon_limit=polygon_limit)


def scene_of(*meshes: trimesh.Trimesh) -> Scene:
    """One model of `meshes` (one node each, in place)."""
    return scene_of_models(LoadedModel.of_meshes("test", meshes))


def renderer_of(scene: Scene, *, samples: int | None = None) -> GlRenderer:
    """A GlRenderer in this process drawing `scene`."""
    renderer = GlRenderer(samples=samples)
    try:
        for model in scene.models:
            renderer.add_model(model.root, model.first_slot, model.geometry)
        renderer.set_state(scene.state)
    except BaseException:
        renderer.release()
        raise
    return renderer


async def process_of(
    scene: Scene, *, samples: int | None = None, render_timeout: float = RENDER_TIMEOUT_S
) -> RendererProcess:
    """A RendererProcess drawing `scene`: launched, its models added, the state set."""
    renderer = await RendererProcess.launch(samples=samples, render_timeout=render_timeout)
    try:
        for model in scene.models:
            await renderer.add_model(model.root, model.first_slot, model.geometry)
        renderer.set_state(scene.state)
    except BaseException:
        await renderer.aclose()
        raise
    return renderer


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


@asynccontextmanager
async def loop_lags(interval: float = 0.002) -> AsyncIterator[list[float]]:
    """How late each `interval` sleep on the event loop woke, in seconds, while inside: a
    loop blocked on the renderer shows as long lags."""
    lags: list[float] = []

    async def tick() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(interval)
            lags.append(time.perf_counter() - before - interval)

    ticker = asyncio.create_task(tick())
    try:
        yield lags
    finally:
        ticker.cancel()
