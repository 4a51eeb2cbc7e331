"""Extracting the renderer's merged arrays from loaded scenes: counts, colours, speed."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
import trimesh
from trimesh.visual.color import ColorVisuals
from trimesh.visual.material import PBRMaterial, SimpleMaterial
from trimesh.visual.texture import TextureVisuals

from renderhub.host.render.scene_data import NEUTRAL_GREY, SceneData, scene_data
from renderhub.host.scene import LoadedScene, mark_sidedness
from renderhub.samples.procedural import make_triangle_mesh
from tests.host.render.rendering import SAMPLE_NAMES, loaded_sample, sample_data, scene_of

# What each sample's colours come from, as the generator made them.
SAMPLE_COLOURS = {
    "cube.glb": "vertex",  # six faces, six vertex colours
    "gear.stl": "grey",  # STL has no colour
    "sphere.obj": "grey",
    "terrain.ply": "vertex",  # height-tinted vertex colours
    "torus-knot.glb": (46, 134, 222, 255),  # PBR baseColorFactor
}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_gives_merged_arrays_of_the_right_shape(name: str) -> None:
    scene = loaded_sample(name)
    data = sample_data(name)

    vertices = sum(len(mesh.vertices) for mesh in scene.meshes)
    assert data.triangles == scene.polygons
    assert data.vertices == vertices
    assert data.positions.dtype == np.float32 and data.positions.shape == (vertices, 3)
    assert data.normals.dtype == np.float32 and data.normals.shape == (vertices, 3)
    assert data.colours.dtype == np.uint8 and data.colours.shape == (vertices, 4)
    assert data.indices.dtype == np.uint32 and data.indices.shape == (3 * scene.polygons,)
    assert int(data.indices.max()) == vertices - 1
    assert np.allclose(np.linalg.norm(data.normals, axis=1), 1.0, atol=1e-3)
    assert scene.bounds is not None and data.bounds is not None
    assert np.allclose(data.bounds, scene.bounds)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_keeps_its_colours(name: str) -> None:
    data = sample_data(name)
    expected = SAMPLE_COLOURS[name]

    if expected == "vertex":
        mesh = loaded_sample(name).meshes[0]
        assert np.array_equal(data.colours, mesh.visual.vertex_colors)
        assert len(np.unique(data.colours, axis=0)) > 1
    elif expected == "grey":
        assert (data.colours == NEUTRAL_GREY).all()
    else:
        assert (data.colours == np.array(expected, dtype=np.uint8)).all()


def test_meshes_are_merged_with_their_indices_offset() -> None:
    first = trimesh.creation.box()
    second = trimesh.creation.icosphere(subdivisions=1)
    second.apply_translation((3.0, 0.0, 0.0))

    data = scene_of(first, second)

    assert data.vertices == len(first.vertices) + len(second.vertices)
    assert data.triangles == len(first.faces) + len(second.faces)
    tail = data.indices[3 * len(first.faces) :].reshape(-1, 3)
    assert np.array_equal(tail, second.faces + len(first.vertices))
    assert np.allclose(data.positions[data.indices[-1]], second.vertices[second.faces[-1, -1]])
    assert np.allclose(data.bounds, [[-0.5, -1.0, -1.0], [4.0, 1.0, 1.0]])  # sphere radius 1


def test_material_colours_come_from_pbr_and_simple_materials() -> None:
    pbr = trimesh.creation.box()
    pbr.visual = TextureVisuals(material=PBRMaterial(baseColorFactor=[10, 20, 30, 255]))
    simple = trimesh.creation.box()
    simple.visual = TextureVisuals(material=SimpleMaterial(diffuse=[200, 100, 50, 255]))

    data = scene_of(pbr, simple)

    count = len(pbr.vertices)
    assert (data.colours[:count] == [10, 20, 30, 255]).all()
    assert (data.colours[count:] == [200, 100, 50, 255]).all()


def test_different_face_colours_give_each_face_its_own_vertices() -> None:
    box = trimesh.creation.box()
    colours = np.zeros((len(box.faces), 4), dtype=np.uint8)
    colours[:, 3] = 255
    colours[::2, 0] = 255  # alternate red and black faces
    box.visual = ColorVisuals(face_colors=colours)

    data = scene_of(box)

    assert data.triangles == len(box.faces)
    assert data.vertices == 3 * len(box.faces)
    assert np.array_equal(data.colours[data.indices[::3]], colours)


def test_one_face_colour_for_all_faces_keeps_the_shared_vertices() -> None:
    box = trimesh.creation.box()
    box.visual = ColorVisuals(face_colors=[0, 255, 0, 255])

    data = scene_of(box)

    assert data.vertices == len(box.vertices)
    assert (data.colours == [0, 255, 0, 255]).all()


def test_a_textured_mesh_takes_its_colours_from_the_texture() -> None:
    image_module = pytest.importorskip("PIL.Image", reason="trimesh textures need Pillow")
    Image = image_module

    box = trimesh.creation.box()
    image = Image.new("RGB", (2, 1))
    image.putpixel((0, 0), (255, 0, 0))
    image.putpixel((1, 0), (0, 0, 255))
    uv = np.column_stack([(box.vertices[:, 0] > 0) * 0.75 + 0.125, np.full(8, 0.5)])
    box.visual = TextureVisuals(uv=uv, material=SimpleMaterial(image=image))

    data = scene_of(box)

    right = box.vertices[:, 0] > 0
    assert (data.colours[right, :3] == [0, 0, 255]).all()
    assert (data.colours[~right, :3] == [255, 0, 0]).all()


def test_an_empty_scene_gives_empty_arrays() -> None:
    data = scene_data(LoadedScene())

    assert data.vertices == data.triangles == 0
    assert data.bounds is None


def test_scene_data_pickles() -> None:
    data = sample_data("cube.glb")

    copy = pickle.loads(pickle.dumps(data))

    assert isinstance(copy, SceneData)
    assert np.array_equal(copy.indices, data.indices)
    assert np.array_equal(copy.colours, data.colours)


def test_a_million_triangles_take_well_under_a_second() -> None:
    mesh = make_triangle_mesh(1_000_000)

    started = time.perf_counter()
    data = scene_of(mesh)
    seconds = time.perf_counter() - started

    assert data.triangles == 1_000_000
    assert seconds < 1.5, f"{seconds:.2f} s (about 0.3 s here; pure Python would take minutes)"


def test_single_sided_meshes_go_last_and_keep_their_order() -> None:
    meshes = [trimesh.creation.box() for _ in range(3)]
    for mesh, x in zip(meshes, [0.0, 5.0, 10.0], strict=True):
        mesh.apply_translation((x, 0.0, 0.0))
    mark_sidedness(meshes[0], double_sided=False)
    mark_sidedness(meshes[2], double_sided=False)

    data = scene_of(*meshes)

    assert (data.double_sided_indices, data.single_sided_indices) == (36, 72)
    first_x = data.positions[data.indices[::36], 0]  # one corner of each box, in draw order
    assert np.allclose(np.round(first_x / 5.0) * 5.0, [5.0, 0.0, 10.0])


@pytest.mark.parametrize("single", [-3, 4, 39])
def test_a_single_sided_range_outside_the_indices_is_refused(single: int) -> None:
    data = sample_data("cube.glb")

    with pytest.raises(ValueError, match="single_sided_indices"):
        SceneData(data.positions, data.normals, data.colours, data.indices, data.bounds, single)
