"""Loaded models keep their node trees: glTF nodes as the file has them (names, parents,
local transforms, extras, meshes in local space, instancing); one node for formats without
a tree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from renderhub.host.meshes import load_model_file
from renderhub.host.scene import is_double_sided
from tests.host.runtime.model_files import (
    BODY_EXTENTS,
    CAR_POSITION,
    WHEEL_POSITIONS,
    WHEEL_RADIUS,
    WHEEL_WIDTH,
    car_scene,
    exported_gltf,
    load_car,
    load_sample,
    write_gltf,
)


def test_a_glb_keeps_its_node_names_parents_transforms_and_extras(tmp_path: Path) -> None:
    car = load_car(tmp_path)

    assert [(node.name, node.parent) for node in car.nodes] == [
        ("Car", -1),
        ("Body", 0),
        ("Wheel_FL", 0),
        ("Wheel_FR", 0),
    ]
    assert [node.metadata for node in car.nodes] == [
        {"partNumber": "C-1", "tags": ["demo"]},
        {},
        {"partNumber": "W-FL"},
        {"partNumber": "W-FR"},
    ]
    np.testing.assert_allclose(car.nodes[0].matrix[:3, 3], CAR_POSITION)
    np.testing.assert_allclose(car.nodes[2].matrix[:3, 3], WHEEL_POSITIONS["Wheel_FL"])
    np.testing.assert_allclose(car.nodes[2].matrix[:3, 0], [0.0, 0.0, -1.0], atol=1e-12)


def test_meshes_stay_in_their_nodes_local_space_and_instances_share_theirs(
    tmp_path: Path,
) -> None:
    car = load_car(tmp_path)

    car_node, body, wheel_fl, wheel_fr = car.nodes
    assert car_node.meshes == ()
    np.testing.assert_allclose(body.meshes[0].bounds, np.array([[-1, -0.5, -2], [1, 0.5, 2]]))
    assert wheel_fl.meshes[0] is wheel_fr.meshes[0]
    assert car.polygons == 12 + 2 * len(wheel_fl.meshes[0].faces)  # each instance counts


def test_the_bounds_are_those_of_the_meshes_as_the_file_places_them(tmp_path: Path) -> None:
    car = load_car(tmp_path)

    # the body spans CAR_POSITION +- BODY_EXTENTS / 2; a wheel, turned onto x, spans its
    # centre +- (WHEEL_WIDTH / 2, WHEEL_RADIUS, WHEEL_RADIUS)
    wheel_half = np.array([WHEEL_WIDTH / 2, WHEEL_RADIUS, WHEEL_RADIUS])
    boxes = [
        (
            np.add(CAR_POSITION, -np.divide(BODY_EXTENTS, 2)),
            np.add(CAR_POSITION, np.divide(BODY_EXTENTS, 2)),
        )
    ]
    for position in WHEEL_POSITIONS.values():
        centre = np.add(CAR_POSITION, position)
        boxes.append((centre - wheel_half, centre + wheel_half))
    expected = [np.min([low for low, _ in boxes], axis=0), np.max([h for _, h in boxes], axis=0)]
    assert car.bounds is not None
    np.testing.assert_allclose(car.bounds, expected, atol=1e-6)
    np.testing.assert_allclose(expected, [[-0.1, 1.2, 1.0], [2.1, 2.5, 5.0]])  # worked out


def test_a_mesh_of_several_primitives_stays_one_node_with_each_primitive(
    tmp_path: Path,
) -> None:
    document, files = exported_gltf(car_scene())
    meshes = document["meshes"]
    assert isinstance(meshes, list)
    meshes[0]["primitives"] += meshes[1]["primitives"]  # the body mesh gains the wheel's
    path = write_gltf(tmp_path, document, files)

    model = load_model_file("model.gltf", path)

    assert [node.name for node in model.nodes] == ["Car", "Body", "Wheel_FL", "Wheel_FR"]
    body = model.nodes[1]
    assert sorted(len(mesh.faces) for mesh in body.meshes) == sorted(
        [12, len(model.nodes[2].meshes[0].faces)]
    )


def test_unnamed_nodes_are_named_by_index_and_odd_extras_are_wrapped(tmp_path: Path) -> None:
    document, files = exported_gltf(car_scene())
    nodes = document["nodes"]
    assert isinstance(nodes, list)
    del nodes[1]["name"]
    nodes[2]["extras"] = "a plain string"
    nodes[3]["name"] = "Wheel_FL"  # a duplicate name stays as the file has it
    path = write_gltf(tmp_path, document, files)

    model = load_model_file("model.gltf", path)

    assert [node.name for node in model.nodes] == ["Car", "node 1", "Wheel_FL", "Wheel_FL"]
    assert model.nodes[2].metadata == {"extras": "a plain string"}
    assert all(len(node.meshes) == 1 for node in model.nodes[1:])


def test_a_node_with_translation_rotation_and_scale_is_placed_as_glTF_says(
    tmp_path: Path,
) -> None:
    document, files = exported_gltf(car_scene())
    nodes = document["nodes"]
    assert isinstance(nodes, list)
    body = nodes[1]
    body.pop("matrix", None)
    body.update(translation=[0, 1, 0], rotation=[0, 0, 0.7071068, 0.7071068], scale=[2, 1, 1])
    path = write_gltf(tmp_path, document, files)

    matrix = load_model_file("model.gltf", path).nodes[1].matrix

    # T @ R @ S: x is scaled by 2 first, then turned a quarter about z onto y
    np.testing.assert_allclose(matrix @ [1, 0, 0, 1], [0, 3, 0, 1], atol=1e-6)
    np.testing.assert_allclose(matrix @ [0, 1, 0, 1], [-1, 1, 0, 1], atol=1e-6)


def test_sidedness_is_marked_on_each_gltf_mesh(tmp_path: Path) -> None:
    document, files = exported_gltf(car_scene())
    document["materials"] = [{"doubleSided": False}]
    meshes = document["meshes"]
    assert isinstance(meshes, list)
    meshes[1]["primitives"][0]["material"] = 0  # the wheels are single-sided
    path = write_gltf(tmp_path, document, files)

    model = load_model_file("model.gltf", path)

    assert [is_double_sided(node.meshes[0]) for node in model.nodes[1:]] == [True, False, False]


@pytest.mark.parametrize(
    ("name", "node"), [("gear.stl", "gear"), ("sphere.obj", "sphere"), ("terrain.ply", "terrain")]
)
def test_a_file_without_a_tree_is_one_node_of_all_its_meshes(name: str, node: str) -> None:
    model = load_sample(name)

    assert [(n.name, n.parent, len(n.meshes)) for n in model.nodes] == [(node, -1, 1)]
    np.testing.assert_array_equal(model.nodes[0].matrix, np.eye(4))
    assert model.nodes[0].polygons == model.polygons


def test_an_obj_of_several_objects_is_still_one_node(tmp_path: Path) -> None:
    path = tmp_path / "two.obj"
    first = trimesh.creation.box()
    second = trimesh.creation.box()
    second.apply_translation((3.0, 0.0, 0.0))
    path.write_text(trimesh.Scene({"a": first, "b": second}).export(file_type="obj"))

    model = load_model_file("two.obj", path)

    assert [(n.name, n.polygons) for n in model.nodes] == [("two", 24)]
    assert model.bounds is not None
    np.testing.assert_allclose(model.bounds, [[-0.5, -0.5, -0.5], [3.5, 0.5, 0.5]])
