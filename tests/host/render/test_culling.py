"""Back-face culling in real renders (EGL, llvmpipe without a GPU): single-sided meshes, as
their loader marked them, show only their front; double-sided ones show both sides."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import trimesh
from trimesh.visual.material import PBRMaterial
from trimesh.visual.texture import TextureVisuals

from renderhub.assets import write_asset
from renderhub.conversions.meshing import convert_model
from renderhub.conversions.settings_file import parse_settings
from tests.host.render.rendering import (
    Scene,
    file_scene,
    front_view,
    object_mask,
    process_of,
    renderer_of,
    sample_scene,
)

FRONT = front_view(eye=(0.0, 0.0, 3.0))  # the quads face +z
BEHIND = front_view(eye=(0.0, 0.0, -3.0))
RED = [220, 40, 40, 255]


def quad(x: float = 0.0, *, double_sided: bool | None) -> trimesh.Trimesh:
    """A 1 x 1 square in the z = 0 plane around (x, 0), wound counter-clockwise seen from +z
    (glTF's front), with a PBR material whose doubleSided is `double_sided` (None: unset)."""
    vertices = np.array([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0]])
    mesh = trimesh.Trimesh(vertices + np.array([x, 0, 0]), [[0, 1, 2], [0, 2, 3]], process=False)
    material = PBRMaterial(baseColorFactor=RED, doubleSided=double_sided)
    mesh.visual = TextureVisuals(material=material)
    return mesh


def load(tmp_path: Path, name: str, *meshes: trimesh.Trimesh) -> Scene:
    """Write `meshes` to a file named `name` and load it as a host does."""
    path = tmp_path / name
    kind = path.suffix.lstrip(".")
    data = trimesh.Scene(list(meshes)).export(file_type=kind) if kind == "glb" else None
    data = data or trimesh.util.concatenate(list(meshes)).export(file_type=kind)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return file_scene(path)


def render(scene: Scene, view: object) -> np.ndarray:
    renderer = renderer_of(scene)
    try:
        return renderer.render(view)  # type: ignore[arg-type]
    finally:
        renderer.release()


def drawn(scene: Scene, view: object) -> int:
    """How many pixels show something other than the background."""
    return int(object_mask(render(scene, view)).sum())


@pytest.mark.parametrize("flag", [False, None], ids=["doubleSided-false", "doubleSided-unset"])
def test_a_single_sided_gltf_quad_shows_from_the_front_only(
    tmp_path: Path, flag: bool | None
) -> None:
    scene = load(tmp_path, "quad.glb", quad(double_sided=flag))
    assert scene.geometry.single_sided_indices == len(scene.geometry.indices) == 6

    assert drawn(scene, FRONT) > 5_000
    assert drawn(scene, BEHIND) == 0


def test_a_double_sided_gltf_quad_shows_and_is_lit_from_both_sides(tmp_path: Path) -> None:
    scene = load(tmp_path, "quad.glb", quad(double_sided=True))
    assert scene.geometry.single_sided_indices == 0

    front, behind = render(scene, FRONT), render(scene, BEHIND)
    assert object_mask(front).sum() == object_mask(behind).sum() > 5_000
    # The shader turns normals towards the eye: the back is lit by the headlight as well.
    assert abs(int(front[120, 160, 0]) - int(behind[120, 160, 0])) < 40
    assert behind[120, 160, 0] > 150


def test_a_mirrored_single_sided_quad_still_faces_the_same_way(tmp_path: Path) -> None:
    """glTF: a node whose transform mirrors turns its triangles' front to the clockwise side;
    the part keeps its local triangles and its mirroring matrix, and the renderer culls its
    front faces instead, so the same side shows."""
    scene = trimesh.Scene()
    scene.add_geometry(quad(double_sided=False), transform=np.diag([-1.0, 1.0, 1.0, 1.0]))
    path = tmp_path / "mirrored.glb"
    path.write_bytes(scene.export(file_type="glb"))
    data = file_scene(path)
    assert data.geometry.single_sided_indices == 6
    assert np.linalg.det(data.state.matrices[0, :3, :3]) < 0

    assert drawn(data, FRONT) > 5_000
    assert drawn(data, BEHIND) == 0


def test_one_scene_culls_its_single_sided_part_and_not_its_double_sided_one(
    tmp_path: Path,
) -> None:
    left_single = quad(-0.7, double_sided=False)
    right_double = quad(0.7, double_sided=True)
    scene = load(tmp_path, "two.glb", left_single, right_double)
    assert scene.geometry.single_sided_indices == scene.geometry.double_sided_indices == 6

    front = object_mask(render(scene, FRONT))
    behind = object_mask(render(scene, BEHIND))

    # From the front +x is on the right of the picture; from behind it is on the left.
    assert front[:, :160].sum() > 3_000 and front[:, 160:].sum() > 3_000
    assert behind[:, :160].sum() > 3_000 and behind[:, 160:].sum() == 0


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl"])
def test_formats_without_sidedness_stay_double_sided(tmp_path: Path, suffix: str) -> None:
    scene = load(tmp_path, "quad" + suffix, quad(double_sided=False))
    assert scene.geometry.single_sided_indices == 0

    assert drawn(scene, FRONT) == drawn(scene, BEHIND) > 5_000


@pytest.mark.parametrize(("sidedness", "culled"), [("SingleSided", True), ("DoubleSided", False)])
def test_a_converted_asset_renders_with_its_default_sidedness(
    tmp_path: Path, sidedness: str, culled: bool
) -> None:
    source = tmp_path / "quad.glb"
    source.write_bytes(trimesh.Scene(quad(double_sided=False)).export(file_type="glb"))
    settings = parse_settings(
        json.dumps({"opaqueMaterialDefaultSidedness": sidedness}).encode(), "q.json"
    )
    asset_path = tmp_path / "quad.arrAsset"
    write_asset(convert_model(source, "quad.glb", settings).asset, asset_path)

    scene = file_scene(asset_path)

    assert scene.geometry.single_sided_indices == (6 if culled else 0)
    assert drawn(scene, FRONT) > 5_000
    assert (drawn(scene, BEHIND) == 0) is culled


def test_culling_a_closed_mesh_leaves_its_picture_unchanged() -> None:
    """The torus knot sample is single-sided and closed, wound outwards: culling only skips
    faces the depth test would have hidden (and shows that the front face is right)."""
    culled = sample_scene("torus-knot.glb")
    assert culled.geometry.single_sided_indices == len(culled.geometry.indices)
    unculled = culled.with_geometry(replace(culled.geometry, single_sided_indices=0))
    for eye in [(0.0, 0.0, 3.0), (2.0, 1.0, -2.0), (0.0, -3.0, 0.5)]:
        view = front_view(eye=eye)
        with_culling, without = render(culled, view), render(unculled, view)
        differs = np.abs(with_culling.astype(np.int32) - without).max(axis=-1) > 8
        assert object_mask(without).sum() > 5_000
        assert differs.sum() <= 20  # a few pixels where hidden edges met in depth


async def test_the_renderer_process_culls_what_the_scene_says(tmp_path: Path) -> None:
    """The single-sided range travels to the renderer process with the model."""
    scene = load(tmp_path, "two.glb", quad(-0.7, double_sided=False), quad(0.7, double_sided=True))
    process = await process_of(scene)
    try:
        front = object_mask((await process.render(FRONT)).pixels)
        behind = object_mask((await process.render(BEHIND)).pixels)
    finally:
        await process.aclose()

    assert front[:, :160].sum() > 3_000 and front[:, 160:].sum() > 3_000
    assert behind[:, :160].sum() > 3_000 and behind[:, 160:].sum() == 0
