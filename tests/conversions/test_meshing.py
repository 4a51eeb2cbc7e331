"""From model files to assets: every sample converts, and each conversion setting does what
ARR's does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh

from renderhub.assets import Asset
from renderhub.conversions.meshing import (
    ModelReadError,
    convert_model,
    srgb_to_linear,
    unique_rows,
)
from renderhub.conversions.settings_file import ConversionSettings, parse_settings
from renderhub.samples import sample_files
from tests.conversions.models import box_gltf, glb_of


def settings(**values: Any) -> ConversionSettings:
    return parse_settings(json.dumps(values).encode(), "test.ConversionSettings.json")


def convert_files(tmp_path: Path, files: dict[str, bytes], model: str, **values: Any) -> Asset:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return convert_model(tmp_path / model, model, settings(**values)).asset


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_every_sample_converts_with_its_triangles(path: Path) -> None:
    meshed = convert_model(path, path.name, ConversionSettings())
    source = trimesh.load_scene(path, process=False)
    expected = sum(len(g.faces) for g in source.geometry.values())
    assert meshed.asset.triangles == expected == meshed.input_statistics["numFaces"]
    assert meshed.asset.vertices <= meshed.input_statistics["numVertices"]  # welded, never more
    for mesh in meshed.asset.meshes:
        assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-4)


def test_an_unwelded_stl_is_welded_and_gets_smooth_normals(tmp_path: Path) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2)
    asset = convert_files(tmp_path, {"s.stl": sphere.export(file_type="stl")}, "s.stl")
    assert asset.vertices == len(sphere.vertices)  # 3 per triangle in the file, shared here
    mesh = asset.meshes[0]
    radial = mesh.positions / np.linalg.norm(mesh.positions, axis=1, keepdims=True)
    assert (np.einsum("ij,ij->i", mesh.normals, radial) > 0.95).all()


def outward(asset: Asset) -> bool:
    """Every triangle's winding agrees with its vertices' normals."""
    mesh = asset.meshes[0]
    corners = mesh.positions[mesh.indices.astype(np.int64)]
    faces = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = mesh.normals[mesh.indices.astype(np.int64)].sum(axis=1)
    return bool((np.einsum("ij,ij->i", faces, normals) > 0).all())


def test_axis_maps_and_a_mirror_keeps_triangles_facing_out(tmp_path: Path) -> None:
    box = trimesh.creation.box(extents=(1.0, 2.0, 3.0))
    files = {"b.glb": glb_of(box)}
    plain = convert_files(tmp_path, files, "b.glb")
    np.testing.assert_allclose(plain.bounds, [[-0.5, -1, -1.5], [0.5, 1, 1.5]], atol=1e-6)
    swapped = convert_files(tmp_path, files, "b.glb", axis=["+x", "+z", "-y"])
    np.testing.assert_allclose(swapped.bounds, [[-0.5, -1.5, -1], [0.5, 1.5, 1]], atol=1e-6)
    mirrored = convert_files(tmp_path, files, "b.glb", axis=["-x", "default", "default"])
    assert outward(plain) and outward(swapped) and outward(mirrored)


def test_scaling_and_recentring(tmp_path: Path) -> None:
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    box.apply_translation([5.0, 0.0, 0.0])
    files = {"b.glb": glb_of(box)}
    scaled = convert_files(tmp_path, files, "b.glb", scaling=0.5)
    np.testing.assert_allclose(scaled.bounds, [[2.25, -0.25, -0.25], [2.75, 0.25, 0.25]])
    meshed = convert_model(tmp_path / "b.glb", "b", settings(scaling=2, recenterToOrigin=True))
    np.testing.assert_allclose(meshed.asset.bounds, [[-1, -1, -1], [1, 1, 1]], atol=1e-6)
    assert meshed.recentering_offset == pytest.approx((-10.0, 0.0, 0.0))


def test_materials_follow_the_settings(tmp_path: Path) -> None:
    files = box_gltf()
    default = convert_files(tmp_path, files, "box.gltf").materials[0]
    assert (default.sidedness, default.unlit) == ("DoubleSided", False)
    chosen = convert_files(
        tmp_path, files, "box.gltf", opaqueMaterialDefaultSidedness="SingleSided",
        unlitMaterials=True,
    ).materials[0]  # fmt: skip
    assert (chosen.sidedness, chosen.unlit) == ("SingleSided", True)


def test_gamma_to_linear_for_vertex_colours(tmp_path: Path) -> None:
    box = trimesh.creation.box()
    box.visual.vertex_colors = np.tile([128, 64, 255, 200], (len(box.vertices), 1))
    files = {"b.ply": box.export(file_type="ply")}
    plain = convert_files(tmp_path, files, "b.ply").meshes[0].colours[0]
    linear = convert_files(tmp_path, files, "b.ply", gammaToLinearVertex=True).meshes[0].colours[0]
    assert plain.tolist() == [128, 64, 255, 200]
    expected = np.rint(srgb_to_linear(np.array([128, 64, 255]) / 255) * 255).tolist()
    assert linear.tolist() == [*expected, 200]  # alpha stays
    assert expected[0] == 55  # sRGB 128 is about 21.6% linear


def test_scene_graph_mode_keeps_or_drops_the_nodes(tmp_path: Path) -> None:
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(), node_name="left", transform=np.eye(4))
    right = np.eye(4)
    right[0, 3] = 3.0
    scene.add_geometry(trimesh.creation.box(), node_name="right", transform=right)
    files = {"s.glb": bytes(scene.export(file_type="glb"))}
    flat = convert_files(tmp_path, files, "s.glb", sceneGraphMode="none")
    kept = convert_files(tmp_path, files, "s.glb", sceneGraphMode="dynamic")
    assert [n.name for n in flat.nodes] == ["root"]
    assert {"left", "right"} <= {n.name for n in kept.nodes}
    assert len(kept.meshes) == 1 and kept.triangles == 24  # one material: merged
    np.testing.assert_allclose(kept.bounds, [[-0.5, -0.5, -0.5], [3.5, 0.5, 0.5]], atol=1e-6)


def test_a_gltf_without_its_buffer_fails_by_name(tmp_path: Path) -> None:
    files = box_gltf()
    del files["box.bin"]
    with pytest.raises(ModelReadError, match=r"needs the buffer 'box\.bin'"):
        convert_files(tmp_path, files, "box.gltf")


def test_a_model_with_no_triangles_fails(tmp_path: Path) -> None:
    cloud = trimesh.PointCloud(np.random.default_rng(1).random((10, 3)))
    (tmp_path / "p.ply").write_bytes(cloud.export(file_type="ply"))
    with pytest.raises(ModelReadError, match="holds no triangles"):
        convert_model(tmp_path / "p.ply", "p.ply", ConversionSettings())


def test_an_obj_without_its_textures_or_materials_warns(tmp_path: Path) -> None:
    box = trimesh.creation.box()
    lines = [f"v {x} {y} {z}" for x, y, z in box.vertices]
    lines += ["mtllib box.mtl", "mtllib gone.mtl", "usemtl paint"]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in box.faces]
    (tmp_path / "box.obj").write_text("\n".join(lines) + "\n")
    (tmp_path / "box.mtl").write_text("newmtl paint\nKd 1 0 0\nmap_Kd -s 1 1 1 paint.png\n")
    meshed = convert_model(tmp_path / "box.obj", "box.obj", ConversionSettings())
    assert meshed.asset.triangles == 12
    assert [(w.code, w.title, w.details) for w in meshed.warnings] == [
        ("4004", "Missing texture",
         {"texture": "paint.png", "materialLibrary": "box.mtl", "model": "box.obj"}),
        ("4005", "Missing material library", {"materialLibrary": "gone.mtl", "model": "box.obj"}),
    ]  # fmt: skip


def test_unique_rows_finds_the_distinct_rows() -> None:
    rng = np.random.default_rng(3)
    distinct = rng.integers(0, 255, (50, 13), dtype=np.uint8)  # 13 bytes: padded to words
    picks = rng.integers(0, 50, 400)
    rows = distinct[picks]
    first, inverse = unique_rows(rows)
    assert len(first) == len(np.unique(picks))
    np.testing.assert_array_equal(rows[first][inverse], rows)
    assert (
        first == np.array([np.flatnonzero((rows == rows[i]).all(axis=1))[0] for i in first])
    ).all()


def test_unique_rows_survives_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    import renderhub.conversions.meshing as meshing

    monkeypatch.setattr(meshing, "_MIX", np.uint64(0))  # every row hashes to 0
    rows = np.array([[1, 2], [3, 4], [1, 2]], dtype=np.uint8)
    first, inverse = unique_rows(rows)
    np.testing.assert_array_equal(rows[first][inverse], rows)
    assert len(first) == 2


def test_materials_alike_merge_unless_deduplication_is_off(tmp_path: Path) -> None:
    files = box_gltf(copies=3)  # three nodes, each with its own mesh and material, all alike
    merged = convert_files(tmp_path, files, "box.gltf")
    assert (len(merged.meshes), len(merged.materials), merged.triangles) == (1, 1, 36)
    apart = convert_files(tmp_path, files, "box.gltf", deduplicateMaterials=False)
    assert (len(apart.meshes), len(apart.materials), apart.triangles) == (3, 3, 36)
    assert sorted(m.name for m in apart.materials) == ["paint", "paint1", "paint2"]
