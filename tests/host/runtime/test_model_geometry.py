"""The renderer's geometry of a model (geometry_builder): every part in its node's local
space, numbered per vertex, double-sided first; counts, colours and speed."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import trimesh
from trimesh.visual.color import ColorVisuals
from trimesh.visual.material import PBRMaterial, SimpleMaterial
from trimesh.visual.texture import TextureVisuals

from renderhub.host.render.geometry import ModelGeometry
from renderhub.host.runtime.geometry_builder import (
    MAX_PARTS,
    TooManyParts,
    model_geometry,
    part_sources,
)
from renderhub.host.runtime.vertex_data import NEUTRAL_GREY
from renderhub.host.scene import LoadedModel, ModelNode, mark_sidedness
from renderhub.samples.procedural import make_triangle_mesh
from tests.host.runtime.model_files import SAMPLE_NAMES, load_car, load_sample

# What each sample's colours come from, as the generator made them.
SAMPLE_COLOURS = {
    "cube.glb": "vertex",  # six faces, six vertex colours
    "gear.stl": "grey",  # STL has no colour
    "sphere.obj": "grey",
    "terrain.ply": "vertex",  # height-tinted vertex colours
    "torus-knot.glb": (46, 134, 222, 255),  # PBR baseColorFactor
}


def geometry_of(*meshes: trimesh.Trimesh) -> ModelGeometry:
    return model_geometry(part_sources(LoadedModel.of_meshes("test", meshes)))


def geometry_of_model(model: LoadedModel) -> ModelGeometry:
    return model_geometry(part_sources(model))


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_gives_arrays_of_the_right_shape(name: str) -> None:
    model = load_sample(name)
    data = geometry_of_model(model)

    meshes = [mesh for node in model.nodes for mesh in node.meshes]
    vertices = sum(len(mesh.vertices) for mesh in meshes)
    assert data.triangles == model.polygons
    assert data.vertices == vertices
    assert data.positions.dtype == np.float32 and data.positions.shape == (vertices, 3)
    assert data.normals.dtype == np.float32 and data.normals.shape == (vertices, 3)
    assert data.colours.dtype == np.uint8 and data.colours.shape == (vertices, 4)
    assert data.parts.dtype == np.uint16 and data.parts.shape == (vertices,)
    assert data.indices.dtype == np.uint32 and data.indices.shape == (3 * model.polygons,)
    assert int(data.indices.max()) == vertices - 1
    assert np.allclose(np.linalg.norm(data.normals, axis=1), 1.0, atol=1e-3)
    assert data.part_count == len(meshes) == len(data.part_triangles)
    assert sum(data.part_triangles) == model.polygons


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_keeps_its_colours(name: str) -> None:
    model = load_sample(name)
    data = geometry_of_model(model)
    expected = SAMPLE_COLOURS[name]

    if expected == "vertex":
        mesh = model.nodes[0].meshes[0]
        assert np.array_equal(data.colours, mesh.visual.vertex_colors)
        assert len(np.unique(data.colours, axis=0)) > 1
    elif expected == "grey":
        assert (data.colours == NEUTRAL_GREY).all()
    else:
        assert (data.colours == np.array(expected, dtype=np.uint8)).all()


def test_parts_keep_their_local_space_and_are_numbered_per_vertex() -> None:
    first = trimesh.creation.box()
    second = trimesh.creation.icosphere(subdivisions=1)
    second.apply_translation((3.0, 0.0, 0.0))

    data = geometry_of(first, second)

    assert data.vertices == len(first.vertices) + len(second.vertices)
    assert data.part_triangles == (len(first.faces), len(second.faces))
    assert (data.parts[: len(first.vertices)] == 0).all()
    assert (data.parts[len(first.vertices) :] == 1).all()
    tail = data.indices[3 * len(first.faces) :].reshape(-1, 3)
    assert np.array_equal(tail, second.faces + len(first.vertices))
    assert np.allclose(data.positions[data.indices[-1]], second.vertices[second.faces[-1, -1]])


def test_a_node_tree_gives_parts_in_local_space_and_an_instance_gets_its_own_part(
    tmp_path: Path,
) -> None:
    car = load_car(tmp_path)

    data = geometry_of_model(car)

    body, wheel_fl, wheel_fr = (node.meshes[0] for node in car.nodes[1:])
    assert wheel_fl is wheel_fr  # one mesh, instanced by two nodes
    assert data.part_count == 3
    assert data.part_triangles == (12, len(wheel_fl.faces), len(wheel_fl.faces))
    for part, mesh in enumerate((body, wheel_fl, wheel_fr)):
        positions = data.positions[data.parts == part]
        np.testing.assert_allclose(positions, mesh.vertices, atol=1e-6)  # not moved


def test_material_colours_come_from_pbr_and_simple_materials() -> None:
    pbr = trimesh.creation.box()
    pbr.visual = TextureVisuals(material=PBRMaterial(baseColorFactor=[10, 20, 30, 255]))
    simple = trimesh.creation.box()
    simple.visual = TextureVisuals(material=SimpleMaterial(diffuse=[200, 100, 50, 255]))

    data = geometry_of(pbr, simple)

    assert (data.colours[data.parts == 0] == [10, 20, 30, 255]).all()
    assert (data.colours[data.parts == 1] == [200, 100, 50, 255]).all()


def test_different_face_colours_give_each_face_its_own_vertices() -> None:
    box = trimesh.creation.box()
    colours = np.zeros((len(box.faces), 4), dtype=np.uint8)
    colours[:, 3] = 255
    colours[::2, 0] = 255  # alternate red and black faces
    box.visual = ColorVisuals(face_colors=colours)

    data = geometry_of(box)

    assert data.triangles == len(box.faces)
    assert data.vertices == 3 * len(box.faces)
    assert np.array_equal(data.colours[data.indices[::3]], colours)


def test_one_face_colour_for_all_faces_keeps_the_shared_vertices() -> None:
    box = trimesh.creation.box()
    box.visual = ColorVisuals(face_colors=[0, 255, 0, 255])

    data = geometry_of(box)

    assert data.vertices == len(box.vertices)
    assert (data.colours == [0, 255, 0, 255]).all()


def test_a_textured_mesh_takes_its_colours_from_the_texture() -> None:
    from PIL import Image

    box = trimesh.creation.box()
    image = Image.new("RGB", (2, 1))
    image.putpixel((0, 0), (255, 0, 0))
    image.putpixel((1, 0), (0, 0, 255))
    uv = np.column_stack([(box.vertices[:, 0] > 0) * 0.75 + 0.125, np.full(8, 0.5)])
    box.visual = TextureVisuals(uv=uv, material=SimpleMaterial(image=image))

    data = geometry_of(box)

    right = box.vertices[:, 0] > 0
    assert (data.colours[right, :3] == [0, 0, 255]).all()
    assert (data.colours[~right, :3] == [255, 0, 0]).all()


def test_a_model_without_triangles_gives_empty_arrays() -> None:
    data = model_geometry(part_sources(LoadedModel("points.ply", (ModelNode("points"),), 0, 0)))

    assert data.vertices == data.triangles == data.part_count == 0


def test_the_geometry_pickles() -> None:
    data = geometry_of_model(load_sample("cube.glb"))

    copy = pickle.loads(pickle.dumps(data))

    assert isinstance(copy, ModelGeometry)
    assert np.array_equal(copy.indices, data.indices)
    assert np.array_equal(copy.parts, data.parts)
    assert copy.part_triangles == data.part_triangles


def test_a_million_triangles_take_well_under_a_second() -> None:
    mesh = make_triangle_mesh(1_000_000)

    started = time.process_time()  # CPU time: the other processes on this machine vary
    data = geometry_of(mesh)
    seconds = time.process_time() - started

    assert data.triangles == 1_000_000
    assert seconds < 2.0, f"{seconds:.2f} s of CPU (about 0.3 s; pure Python would take minutes)"


def test_single_sided_parts_go_last_and_keep_their_order_and_numbers() -> None:
    meshes = [trimesh.creation.box() for _ in range(3)]
    for mesh, x in zip(meshes, [0.0, 5.0, 10.0], strict=True):
        mesh.apply_translation((x, 0.0, 0.0))
    mark_sidedness(meshes[0], double_sided=False)
    mark_sidedness(meshes[2], double_sided=False)

    data = geometry_of(*meshes)

    assert (data.double_sided_indices, data.single_sided_indices) == (36, 72)
    first_x = data.positions[data.indices[::36], 0]  # one corner of each box, in draw order
    assert np.allclose(np.round(first_x / 5.0) * 5.0, [5.0, 0.0, 10.0])
    assert data.parts[data.indices[::36]].tolist() == [1, 0, 2]  # numbered in file order


def test_more_parts_than_a_geometry_can_number_are_refused() -> None:
    triangle = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    nodes = (ModelNode("many", meshes=(triangle,) * (MAX_PARTS + 1)),)

    with pytest.raises(TooManyParts, match="65,537 meshes"):
        model_geometry(part_sources(LoadedModel("many.glb", nodes, MAX_PARTS + 1, 0)))
