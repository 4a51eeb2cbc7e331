"""State overrides inherited down the tree, the renderer's SceneState, cut planes, and the
polygon limit's checkerboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from renderhub.host.limits import PolygonBudget
from renderhub.host.render.geometry import HIDDEN, MAX_CUT_PLANES, SEE_THROUGH, SELECTED
from renderhub.host.runtime.errors import ErrorCode
from renderhub.host.runtime.model import SceneModel, StateChange, TransformChange
from renderhub.sizes import SessionSize
from tests.host.runtime.model_files import load_car, load_sample
from tests.host.runtime.test_model_entities import BODY, CAR, CAR_ROOT, WHEEL_FL, refused

SLOT_BODY, SLOT_FL, SLOT_FR = 0, 1, 2


@pytest.fixture
def scene(tmp_path: Path) -> SceneModel:
    scene = SceneModel()
    scene.add_model(load_car(tmp_path))
    return scene


def test_a_hidden_entity_hides_everything_under_it_unless_overridden(scene: SceneModel) -> None:
    scene.set_state(CAR, StateChange(hidden=True))
    assert scene.state().flags.tolist() == [HIDDEN, HIDDEN, HIDDEN]
    assert scene.polygons_visible == 0

    scene.set_state(WHEEL_FL, StateChange(hidden=False))
    assert scene.state().flags.tolist() == [HIDDEN, 0, HIDDEN]
    assert scene.polygons_visible == scene.entity_json(WHEEL_FL)["polygons"]

    scene.set_state(CAR, StateChange(hidden=None))
    assert scene.state().flags.tolist() == [0, 0, 0]
    assert scene.entity_json(CAR)["state"] == {}
    assert scene.entity_json(WHEEL_FL)["state"] == {"hidden": False}


def test_flags_combine_and_fields_left_out_stay(scene: SceneModel) -> None:
    scene.set_state(CAR_ROOT, StateChange(selected=True))
    scene.set_state(BODY, StateChange(see_through=True))
    scene.set_state(BODY, StateChange(hidden=True))

    assert scene.state().flags.tolist() == [HIDDEN | SEE_THROUGH | SELECTED, SELECTED, SELECTED]
    assert scene.entity_json(BODY)["state"] == {"hidden": True, "see_through": True}
    assert scene.entity_json(CAR_ROOT)["state"] == {"selected": True}


def test_the_nearest_tint_wins_and_alpha_zero_means_none(scene: SceneModel) -> None:
    scene.set_state(CAR, StateChange(tint=(1.0, 0.0, 0.0, 0.5)))
    scene.set_state(WHEEL_FL, StateChange(tint=(0.0, 0.0, 1.0, 0.0)))

    tints = scene.state().tints
    assert tints.dtype == np.float32
    assert tints.tolist() == [[1.0, 0.0, 0.0, 0.5], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.5]]
    assert scene.entity_json(CAR)["state"] == {"tint": [1.0, 0.0, 0.0, 0.5]}

    scene.set_state(CAR, StateChange(tint=None))
    assert scene.state().tints[SLOT_BODY].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_a_bad_state_change_changes_nothing(scene: SceneModel) -> None:
    refused(scene, ErrorCode.ENTITY_NOT_FOUND, "id", lambda: scene.set_state(42, StateChange(True)))
    refused(
        scene,
        ErrorCode.INVALID_FIELD,
        "tint",
        lambda: scene.set_state(BODY, StateChange(hidden=True, tint=(2.0, 0.0, 0.0, 1.0))),
    )


def test_state_is_cached_until_something_changes(scene: SceneModel) -> None:
    first = scene.state()
    assert scene.state() is first

    scene.set_transforms([TransformChange(BODY, position=(0.0, 1.0, 0.0))])
    second = scene.state()
    assert second is not first and second.version > first.version == scene.version - 1
    assert scene.version == second.version


def test_cut_planes_are_added_changed_listed_and_removed(scene: SceneModel) -> None:
    first = scene.add_cut_plane((0.0, 1.0, 0.0), (0.0, 0.0, 2.0))
    second = scene.add_cut_plane((1.0, 0.0, 0.0), (1.0, 0.0, 0.0), 0.05, (1.0, 0.5, 0.0, 1.0))

    assert (first, second) == (1, 2)
    assert scene.cut_planes_json() == [
        {
            "id": 1,
            "point": [0.0, 1.0, 0.0],
            "normal": [0.0, 0.0, 1.0],
            "fade_length": 0.0,
            "fade_colour": [1.0, 1.0, 1.0, 1.0],
        },
        {
            "id": 2,
            "point": [1.0, 0.0, 0.0],
            "normal": [1.0, 0.0, 0.0],
            "fade_length": 0.05,
            "fade_colour": [1.0, 0.5, 0.0, 1.0],
        },
    ]
    changed = scene.set_cut_plane(1, normal=(0.0, 3.0, 4.0), fade_length=0.1)
    assert changed["normal"] == pytest.approx([0.0, 0.6, 0.8]) and changed["fade_length"] == 0.1
    assert changed["point"] == [0.0, 1.0, 0.0]
    planes = scene.state().cut_planes
    assert [plane.normal for plane in planes] == [pytest.approx((0.0, 0.6, 0.8)), (1, 0, 0)]

    scene.remove_cut_plane(1)
    assert [plane["id"] for plane in scene.cut_planes_json()] == [2]
    assert scene.add_cut_plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)) == 3  # never reused


def test_bad_cut_planes_are_refused(scene: SceneModel) -> None:
    plane = scene.add_cut_plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    origin = (0.0, 0.0, 0.0)
    cases = [
        (ErrorCode.INVALID_FIELD, "normal", lambda: scene.add_cut_plane(origin, origin)),
        (
            ErrorCode.INVALID_FIELD,
            "fade_length",
            lambda: scene.add_cut_plane(origin, (1.0, 0.0, 0.0), -0.1),
        ),
        (ErrorCode.INVALID_FIELD, "normal", lambda: scene.set_cut_plane(plane, normal=origin)),
        (ErrorCode.CUT_PLANE_NOT_FOUND, "id", lambda: scene.set_cut_plane(9, point=origin)),
        (ErrorCode.CUT_PLANE_NOT_FOUND, "id", lambda: scene.remove_cut_plane(9)),
    ]
    for code, target, call in cases:
        refused(scene, code, target, call)
    assert scene.cut_planes_json()[0]["normal"] == [0.0, 1.0, 0.0]


def test_no_more_than_the_most_cut_planes(scene: SceneModel) -> None:
    for _ in range(MAX_CUT_PLANES):
        scene.add_cut_plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))

    refused(
        scene,
        ErrorCode.LIMIT_EXCEEDED,
        None,
        lambda: scene.add_cut_plane((0.0, 0.0, 0.0), (1.0, 0.0, 0.0)),
    )
    assert len(scene.state().cut_planes) == MAX_CUT_PLANES


def test_over_the_polygon_limit_the_state_asks_for_a_checkerboard_in_the_bounds(
    tmp_path: Path,
) -> None:
    budget = PolygonBudget(SessionSize.STANDARD, 1000)
    scene = SceneModel.for_budget(budget)
    scene.add_model(load_sample("cube.glb"))
    assert scene.state().checkerboard is None and scene.over_limit_message() is None

    scene.add_model(load_sample("sphere.obj"))
    scene.set_transforms([TransformChange(3, position=(0.0, 10.0, 0.0))])

    assert scene.over_limit_message() == budget.message(1292)
    assert scene.state().checkerboard == ((-0.5, -0.5, -0.5), (0.5, 10.5, 0.5))
    np.testing.assert_allclose(scene.bounds, [[-0.5, -0.5, -0.5], [0.5, 10.5, 0.5]])
    scene.remove_model(3)
    assert scene.state().checkerboard is None


def test_a_plain_limit_speaks_of_the_standard_size() -> None:
    scene = SceneModel(polygon_limit=10)
    assert scene.bounds is None

    scene.add_model(load_sample("cube.glb"))

    assert scene.over_limit_message() == PolygonBudget(SessionSize.STANDARD, 10).message(12)
    assert SceneModel().over_limit_message() is None


def test_a_request_that_changes_nothing_keeps_the_version(scene: SceneModel) -> None:
    plane = scene.add_cut_plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    version = scene.version

    scene.set_state(BODY, StateChange())
    scene.set_cut_plane(plane)
    scene.set_transforms([])

    assert scene.version == version
    scene.set_state(BODY, StateChange(selected=False))
    assert scene.version == version + 1
