"""Parsing model files: polygon counts, scene bounds, and clear messages for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from renderhub.host.errors import ModelLoadError
from renderhub.host.meshes import build_scene, load_model_file
from renderhub.samples import sample_files


def sample(name: str) -> Path:
    return next(p for p in sample_files() if p.name == name)


def test_a_corrupt_glb_names_the_model_and_the_cause(tmp_path: Path) -> None:
    path = tmp_path / "broken.glb"
    path.write_bytes(b"glTF" + b"\x00" * 40)

    with pytest.raises(ModelLoadError) as raised:
        load_model_file("broken.glb", path)

    assert raised.value.message.startswith("Could not load model 'broken.glb': ")
    assert raised.value.message.endswith(".")


def test_a_file_without_geometry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.obj"
    path.write_text("# nothing here\n")

    with pytest.raises(ModelLoadError, match="holds no geometry"):
        load_model_file("empty.obj", path)


def test_a_point_cloud_counts_no_polygons(tmp_path: Path) -> None:
    path = tmp_path / "points.ply"
    points = trimesh.PointCloud(np.arange(30, dtype=np.float64).reshape(10, 3))
    path.write_bytes(points.export(file_type="ply"))

    model = load_model_file("points.ply", path)

    assert model.polygons == 0
    assert [(node.name, node.meshes) for node in model.nodes] == [("points", ())]


def test_a_gltf_whose_buffer_is_missing_says_so(tmp_path: Path) -> None:
    path = tmp_path / "scene.gltf"
    path.write_text(json.dumps({"asset": {"version": "2.0"}, "buffers": [{"uri": "gone.bin"}]}))

    with pytest.raises(ModelLoadError, match=r"refers to 'gone\.bin'"):
        load_model_file("scene.gltf", path)


def test_a_gltf_may_not_reach_outside_its_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\x00" * 16)
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "scene.gltf"
    path.write_text(
        json.dumps({"asset": {"version": "2.0"}, "buffers": [{"uri": "../secret.bin"}]})
    )

    with pytest.raises(ModelLoadError, match=r"refers to '\.\./secret\.bin'"):
        load_model_file("scene.gltf", path)


def test_build_scene_joins_models_and_their_bounds() -> None:
    cube = load_model_file("cube.glb", sample("cube.glb"))
    terrain = load_model_file("terrain.ply", sample("terrain.ply"))

    scene = build_scene([cube, terrain])

    assert scene.polygons == cube.polygons + terrain.polygons
    assert [len(node.meshes) for model in scene.models for node in model.nodes] == [1, 1]
    assert scene.bounds is not None
    np.testing.assert_allclose(scene.bounds[0][:2], [-1.0, -1.0])
    np.testing.assert_allclose(scene.bounds[1], [1.0, 1.0, 0.5])


def test_an_empty_scene_has_no_bounds() -> None:
    scene = build_scene([])

    assert scene.polygons == 0
    assert scene.bounds is None
