"""The scene model's entity trees: adding and removing models, the Entity objects, and
moving entities (all or nothing)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import trimesh

from renderhub.host.meshes import load_model_file
from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.runtime.model import MAX_BATCH, SceneModel, TransformChange
from tests.host.runtime.model_files import (
    CAR_POSITION,
    QUARTER_TURN_Y,
    WHEEL_POSITIONS,
    load_car,
    load_sample,
)

CAR_ROOT, CAR, BODY, WHEEL_FL, WHEEL_FR = 1, 2, 3, 4, 5


@pytest.fixture
def scene(tmp_path: Path) -> SceneModel:
    scene = SceneModel()
    scene.add_model(load_car(tmp_path))
    return scene


def snapshot(scene: SceneModel) -> tuple[object, ...]:
    state = scene.state()
    return (
        scene.entities_json(),
        state.matrices.tobytes(),
        state.flags.tobytes(),
        state.tints.tobytes(),
        state.cut_planes,
        scene.cut_planes_json(),
        scene.version,
    )


def refused(scene: SceneModel, code: ErrorCode, target: str | None, call: object) -> SceneError:
    """Run `call`, which must raise SceneError `code` naming `target` and change nothing."""
    before = snapshot(scene)
    with pytest.raises(SceneError) as raised:
        call()  # type: ignore[operator]
    assert (raised.value.code, raised.value.target) == (code, target)
    assert raised.value.message.endswith(".")
    assert snapshot(scene) == before
    return raised.value


def test_a_model_becomes_a_root_named_after_its_file_with_its_nodes_below(
    tmp_path: Path,
) -> None:
    scene = SceneModel()

    added = scene.add_model(load_car(tmp_path))

    assert (added.root, added.entities, added.first_slot) == (1, (1, 2, 3, 4, 5), 0)
    assert added.geometry.part_count == 3
    entities = scene.entities_json()
    assert [(e["id"], e["name"], e.get("parent"), e["model"]) for e in entities] == [
        (CAR_ROOT, "car.glb", None, CAR_ROOT),
        (CAR, "Car", CAR_ROOT, CAR_ROOT),
        (BODY, "Body", CAR, CAR_ROOT),
        (WHEEL_FL, "Wheel_FL", CAR, CAR_ROOT),
        (WHEEL_FR, "Wheel_FR", CAR, CAR_ROOT),
    ]
    root, car, body, wheel, _ = entities
    assert root["metadata"] == {"url": "models/car.glb?<SAS redacted>"}
    assert "parent" not in root and root["polygons"] == 0 and root["state"] == {}
    assert car["metadata"] == {"partNumber": "C-1", "tags": ["demo"]}
    assert car["position"] == pytest.approx(CAR_POSITION)
    assert car["rotation"] == [0.0, 0.0, 0.0, 1.0] and car["scale"] == [1.0, 1.0, 1.0]
    assert body["polygons"] == 12 and car["polygons"] == 0
    assert wheel["position"] == pytest.approx(WHEEL_POSITIONS["Wheel_FL"])
    assert wheel["rotation"] == pytest.approx(QUARTER_TURN_Y)
    assert wheel["scale"] == pytest.approx([1.0, 1.0, 1.0])
    assert root["bounds"] == car["bounds"]
    assert root["bounds"]["min"] == pytest.approx([-0.1, 1.2, 1.0])
    assert root["bounds"]["max"] == pytest.approx([2.1, 2.5, 5.0])
    assert body["bounds"] == {"min": [0.0, 1.5, 1.0], "max": [2.0, 2.5, 5.0]}


def test_entity_json_and_a_subtree_are_the_same_objects(scene: SceneModel) -> None:
    whole = scene.entities_json()

    assert scene.entities_json(root=CAR) == whole[1:]
    assert scene.entity_json(WHEEL_FR) == whole[-1]


def test_models_take_the_next_ids_and_slots_and_may_hang_under_an_entity(
    scene: SceneModel,
) -> None:
    cube = scene.add_model(load_sample("cube.glb"), parent=WHEEL_FL)
    knot = scene.add_model(load_sample("torus-knot.glb"))

    assert (cube.root, cube.entities, cube.first_slot) == (6, (6, 7), 3)
    assert (knot.root, knot.entities, knot.first_slot) == (8, (8, 9), 4)
    assert scene.model_roots() == [CAR_ROOT, 6, 8]
    assert [scene.slots_of(root) for root in scene.model_roots()] == [
        range(0, 3),
        range(3, 4),
        range(4, 5),
    ]
    ids = [entity["id"] for entity in scene.entities_json()]
    assert ids == [1, 2, 3, 4, 6, 7, 5, 8, 9]  # the cube under Wheel_FL, before Wheel_FR
    assert scene.entity_json(6)["parent"] == WHEEL_FL and scene.entity_json(7)["model"] == 6
    assert scene.state().slots == 5


def test_a_model_under_a_missing_parent_is_refused(scene: SceneModel) -> None:
    refused(
        scene,
        ErrorCode.ENTITY_NOT_FOUND,
        "parent",
        lambda: scene.add_model(load_sample("cube.glb"), parent=42),
    )
    prepared = scene.prepare_model(load_sample("cube.glb"))
    refused(scene, ErrorCode.ENTITY_NOT_FOUND, "parent", lambda: scene.commit_model(prepared, 42))

    assert scene.commit_model(prepared).root == 6  # the refused commit took no id


def test_removing_a_model_removes_the_models_under_it_and_never_reuses_ids(
    scene: SceneModel,
) -> None:
    scene.add_model(load_sample("cube.glb"), parent=BODY)
    scene.add_model(load_sample("sphere.obj"))

    removed = scene.remove_model(CAR_ROOT)

    assert removed == [1, 2, 3, 6, 7, 4, 5]
    assert scene.removed_models(removed) == [1, 6]
    assert scene.model_roots() == [8]
    assert [entity["id"] for entity in scene.entities_json()] == [8, 9]
    state = scene.state()
    assert state.slots == 5 and state.flags[:4].tolist() == [1, 1, 1, 1]  # not drawn
    assert state.flags[4] == 0
    assert scene.polygons_loaded == scene.polygons_visible == 1280
    again = scene.add_model(load_sample("cube.glb"))
    assert (again.root, again.first_slot) == (10, 5)


def test_only_a_models_root_can_be_removed(scene: SceneModel) -> None:
    refused(scene, ErrorCode.NOT_A_MODEL, "id", lambda: scene.remove_model(BODY))
    refused(scene, ErrorCode.ENTITY_NOT_FOUND, "id", lambda: scene.remove_model(99))
    scene.remove_model(CAR_ROOT)
    refused(scene, ErrorCode.ENTITY_NOT_FOUND, "id", lambda: scene.remove_model(CAR_ROOT))
    refused(scene, ErrorCode.ENTITY_NOT_FOUND, "id", lambda: scene.entity_json(BODY))
    refused(scene, ErrorCode.ENTITY_NOT_FOUND, "root", lambda: scene.entities_json(BODY))


def test_transforms_move_entities_and_what_is_under_them(scene: SceneModel) -> None:
    count = scene.set_transforms(
        [
            TransformChange(CAR, position=(10.0, 0.0, 0.0)),
            TransformChange(BODY, rotation=(0.0, 0.0, 2.0, 0.0), scale=(1.0, 2.0, 1.0)),
        ]
    )

    assert count == 2
    car, body = scene.entity_json(CAR), scene.entity_json(BODY)
    assert car["position"] == [10.0, 0.0, 0.0]
    assert body["rotation"] == [0.0, 0.0, 1.0, 0.0]  # normalised: half a turn about z
    assert body["position"] == [0.0, 0.0, 0.0] and body["scale"] == [1.0, 2.0, 1.0]
    # the body box (2 x 1 x 4) scaled by 2 in y, turned about z, at x = 10
    assert body["bounds"] == {"min": [9.0, -1.0, -2.0], "max": [11.0, 1.0, 2.0]}
    wheel = scene.entity_json(WHEEL_FL)
    assert wheel["bounds"]["min"] == pytest.approx([8.9, -0.8, 1.2])


def test_state_matrices_compose_the_tree(scene: SceneModel) -> None:
    scene.set_transforms(
        [
            TransformChange(CAR_ROOT, scale=(2.0, 2.0, 2.0)),
            TransformChange(CAR, rotation=(0.0, float(np.sqrt(0.5)), 0.0, float(np.sqrt(0.5)))),
        ]
    )

    matrices = scene.state().matrices
    assert matrices.dtype == np.float32 and matrices.shape == (3, 4, 4)
    # Wheel_FL: at (-1, -0.5, 1.5) in the car, the car turned a quarter about y (x -> -z,
    # z -> x) and put at CAR_POSITION, all doubled by the root
    corner = matrices[1] @ np.array([0.0, 0.0, 0.0, 1.0])
    expected = 2.0 * (np.array(CAR_POSITION) + np.array([1.5, -0.5, 1.0]))
    np.testing.assert_allclose(corner[:3], expected, atol=1e-5)
    np.testing.assert_allclose(
        matrices[0][:3, :3] / 2.0, [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-6
    )


def test_fields_left_out_keep_their_values_and_later_entries_win(scene: SceneModel) -> None:
    scene.set_transforms(
        [
            TransformChange(BODY, position=(1.0, 1.0, 1.0), scale=(3.0, 3.0, 3.0)),
            TransformChange(BODY, position=(2.0, 2.0, 2.0)),
        ]
    )

    body = scene.entity_json(BODY)
    assert (body["position"], body["scale"]) == ([2.0, 2.0, 2.0], [3.0, 3.0, 3.0])


@pytest.mark.parametrize(
    ("bad", "code", "target"),
    [
        (TransformChange(42, position=(0.0, 0.0, 0.0)), ErrorCode.ENTITY_NOT_FOUND, "id"),
        (TransformChange(BODY, rotation=(0.0, 0.0, 0.0, 0.0)), ErrorCode.INVALID_FIELD, "rotation"),
        (TransformChange(BODY, scale=(1.0, 0.0, 1.0)), ErrorCode.INVALID_FIELD, "scale"),
        (
            TransformChange(BODY, position=(float("nan"), 0.0, 0.0)),
            ErrorCode.INVALID_FIELD,
            "position",
        ),
    ],
)
def test_a_batch_with_one_bad_entry_moves_nothing(
    scene: SceneModel, bad: TransformChange, code: ErrorCode, target: str
) -> None:
    batch = [TransformChange(CAR, position=(5.0, 5.0, 5.0)), TransformChange(BODY), bad]

    refused(scene, code, f"transforms[2].{target}", lambda: scene.set_transforms(batch))


def test_a_batch_over_the_limit_is_refused(scene: SceneModel) -> None:
    batch = [TransformChange(CAR, position=(1.0, 0.0, 0.0))] * (MAX_BATCH + 1)

    error = refused(
        scene, ErrorCode.LIMIT_EXCEEDED, "transforms", lambda: scene.set_transforms(batch)
    )
    assert "10,000" in error.message
    assert scene.set_transforms(batch[:MAX_BATCH]) == MAX_BATCH


def test_a_file_name_is_taken_from_a_url_without_its_query(tmp_path: Path) -> None:
    scene = SceneModel()
    url = "https://account.blob.core.windows.net/models/My%20Car.glb?sv=1&sig=secret"

    scene.add_model(load_car(tmp_path, url=url))

    root = scene.entity_json(1)
    assert root["name"] == "My Car.glb"
    assert root["metadata"] == {
        "url": "https://account.blob.core.windows.net/models/My%20Car.glb?<SAS redacted>"
    }


def test_an_empty_scene_has_no_slots_entities_bounds_or_hits() -> None:
    scene = SceneModel()

    state = scene.state()
    assert (state.slots, state.matrices.shape, state.checkerboard) == (0, (0, 4, 4), None)
    assert scene.entities_json() == [] and scene.model_roots() == []
    assert scene.bounds is None and scene.polygons_loaded == scene.polygons_visible == 0
    assert scene.raycast((0.0, 0.0, 5.0), (0.0, 0.0, -1.0)) == []


def test_a_model_without_triangles_has_entities_but_no_bounds_or_slots(tmp_path: Path) -> None:
    path = tmp_path / "points.ply"
    path.write_bytes(trimesh.PointCloud(np.eye(3)).export(file_type="ply"))
    scene = SceneModel()

    added = scene.add_model(load_model_file("points.ply", path))

    assert added.geometry.part_count == 0 and scene.slots_of(added.root) == range(0, 0)
    entities = scene.entities_json()
    assert [(e["name"], e["polygons"], "bounds" in e) for e in entities] == [
        ("points.ply", 0, False),
        ("points", 0, False),
    ]
    assert scene.state().slots == 0


def test_preparing_touches_nothing_and_a_prepared_model_is_committed_once(
    scene: SceneModel,
) -> None:
    before = snapshot(scene)
    prepared: list[object] = []
    worker = threading.Thread(
        target=lambda: prepared.append(scene.prepare_model(load_sample("torus-knot.glb")))
    )
    worker.start()
    worker.join()
    assert snapshot(scene) == before

    scene.commit_model(prepared[0])
    with pytest.raises(ValueError, match="once"):
        scene.commit_model(prepared[0])
    assert scene.model_roots() == [CAR_ROOT, 6]


def test_the_scene_model_imports_without_trimesh() -> None:
    """A host imports the runtime at start; trimesh (and Embree) come with the first model."""
    code = "import sys, renderhub.host.runtime.model; print('trimesh' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert shown.stdout.strip() == "False"
