"""The shipped sample models: present, small, up to date with their generator, loadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderhub.host.meshes import load_model_file
from renderhub.samples import install_samples, sample_files
from renderhub.samples.procedural import make_triangle_mesh, write_mesh, write_samples

# Triangle counts worked out from each generator's parameters, not read back from the loader.
EXPECTED_POLYGONS = {
    "cube.glb": 12,
    "gear.stl": 32 * 24,
    "sphere.obj": 20 * 4**3,
    "terrain.ply": 2 * 95 * 95,
    "torus-knot.glb": 2 * 384 * 24,
}


def test_the_expected_samples_are_shipped() -> None:
    assert [path.name for path in sample_files()] == sorted(EXPECTED_POLYGONS)


@pytest.mark.parametrize("name", sorted(EXPECTED_POLYGONS))
def test_each_sample_loads_with_its_polygon_count(name: str) -> None:
    path = next(p for p in sample_files() if p.name == name)

    model = load_model_file(name, path)

    assert model.polygons == EXPECTED_POLYGONS[name]
    assert model.bytes == path.stat().st_size < 500_000
    assert model.nodes and all(node.meshes for node in model.nodes)
    assert sum(node.polygons for node in model.nodes) == model.polygons


def test_shipped_samples_match_the_generator(tmp_path: Path) -> None:
    generated = {path.name: path.read_bytes() for path in write_samples(tmp_path)}

    assert generated == {path.name: path.read_bytes() for path in sample_files()}


def test_install_samples_copies_once_and_repairs_changed_files(tmp_path: Path) -> None:
    installed = install_samples(tmp_path)
    assert [p.name for p in installed] == [p.name for p in sample_files()]
    assert all(p.parent == tmp_path / "samples" for p in installed)

    installed[0].write_bytes(b"changed")
    before = installed[1].stat().st_mtime_ns
    install_samples(tmp_path)

    assert installed[0].read_bytes() == sample_files()[0].read_bytes()
    assert installed[1].stat().st_mtime_ns == before


@pytest.mark.parametrize("triangles", [2, 999, 100_000])
def test_make_triangle_mesh_has_exactly_the_asked_for_triangles(
    tmp_path: Path, triangles: int
) -> None:
    path = tmp_path / "big.glb"
    write_mesh(make_triangle_mesh(triangles), path)

    assert load_model_file("big.glb", path).polygons == triangles


def test_script_writes_a_big_mesh(tmp_path: Path) -> None:
    import importlib.util

    script = Path(__file__).parents[2] / "scripts" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.main(["--triangles", "5000", "--output", str(tmp_path / "m.ply")]) == 0
    assert load_model_file("m.ply", tmp_path / "m.ply").polygons == 5000
