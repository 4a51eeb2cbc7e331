"""Helpers for the renderer tests: scenes from samples or meshes, cameras, pixel checks."""

from __future__ import annotations

from functools import cache

import numpy as np
import trimesh

from renderhub.host.frames import View
from renderhub.host.meshes import build_scene, load_model_file
from renderhub.host.render.gl import BACKGROUND
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
