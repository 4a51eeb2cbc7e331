"""The orbit camera: framing a scene, the commands, their limits and their validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from renderhub.host.camera import MAX_PITCH_DEGREES, OrbitCamera, Pose
from renderhub.host.commands import CommandError
from renderhub.host.frames import View

BOX = np.array([[-2.0, 0.0, -1.0], [4.0, 3.0, 1.0]])


def corners(bounds: np.ndarray) -> list[np.ndarray]:
    low, high = bounds
    return [
        np.array([x, y, z])
        for x in (low[0], high[0])
        for y in (low[1], high[1])
        for z in (low[2], high[2])
    ]


def in_view(view: View, point: np.ndarray) -> bool:
    """Whether `point` projects inside the View's frustum (between near and far)."""
    eye, target = np.array(view.eye), np.array(view.target)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, view.up)
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    relative = point - eye
    depth = relative @ forward
    if not view.near <= depth <= view.far:
        return False
    half_y = math.tan(math.radians(view.fov_y_degrees) / 2)
    half_x = half_y * view.width / view.height
    return abs(relative @ right / depth) <= half_x and abs(relative @ up / depth) <= half_y


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (640, 640), (720, 1280)])
def test_framing_shows_the_whole_box_from_three_quarters(width: int, height: int) -> None:
    camera = OrbitCamera.framing(BOX, aspect=width / height)
    view = camera.view(width, height)

    assert all(in_view(view, corner) for corner in corners(BOX))
    assert view.target == (1.0, 1.5, 0.0)
    assert 20 <= camera.pose.yaw <= 60 and 15 <= camera.pose.pitch <= 40
    eye = np.array(view.eye)
    assert eye[0] > 1 and eye[1] > 1.5 and eye[2] > 0, "above, to the right, in front"


def test_an_empty_scene_gets_a_camera_at_the_origin() -> None:
    view = OrbitCamera.framing(None).view(1280, 720)

    assert view.target == (0.0, 0.0, 0.0)
    assert 0 < view.near < view.far


def test_orbit_a_whole_viewport_is_half_a_turn() -> None:
    camera = OrbitCamera(Pose((0, 0, 0), yaw=0, pitch=0, distance=5))

    camera.apply({"type": "orbit", "dx": 1.0, "dy": 0.0})

    assert camera.pose.yaw == pytest.approx(-180.0)
    assert camera.eye == pytest.approx((0.0, 0.0, -5.0), abs=1e-9)


def test_orbit_dragging_down_raises_the_eye_and_stops_short_of_the_pole() -> None:
    camera = OrbitCamera(Pose((0, 0, 0), yaw=0, pitch=0, distance=5))

    camera.apply({"type": "orbit", "dx": 0.0, "dy": 0.25})
    assert camera.pose.pitch == pytest.approx(45.0)
    camera.apply({"type": "orbit", "dx": 0.0, "dy": 3.0})
    assert camera.pose.pitch == MAX_PITCH_DEGREES
    camera.apply({"type": "orbit", "dx": 0.0, "dy": -9.0})
    assert camera.pose.pitch == -MAX_PITCH_DEGREES


def test_pan_moves_the_target_across_the_view() -> None:
    camera = OrbitCamera(Pose((0, 0, 0), yaw=0, pitch=0, distance=10), aspect=2.0, radius=5)
    visible_height = 2 * 10 * math.tan(math.radians(camera.fov) / 2)

    camera.apply({"type": "pan", "dx": 0.5, "dy": 0.25})

    x, y, z = camera.pose.target
    assert x == pytest.approx(-0.5 * visible_height * 2.0), "the scene follows the pointer right"
    assert y == pytest.approx(0.25 * visible_height), "and down"
    assert z == pytest.approx(0.0)
    assert camera.pose.distance == 10


def test_zoom_multiplies_the_distance_within_limits() -> None:
    camera = OrbitCamera(Pose((0, 0, 0), yaw=0, pitch=0, distance=10), radius=1)

    camera.apply({"type": "zoom", "factor": 0.5})
    assert camera.pose.distance == 5
    camera.apply({"type": "zoom", "factor": 1e9})
    assert camera.pose.distance == 100
    camera.apply({"type": "zoom", "factor": 1e-9})
    assert camera.pose.distance == pytest.approx(1e-3)


def test_pose_and_reset() -> None:
    camera = OrbitCamera.framing(BOX)
    home = camera.pose

    camera.apply({"type": "pose", "target": [1, 2, 3], "yaw": 270, "pitch": 100, "distance": 4})
    assert camera.pose == Pose((1.0, 2.0, 3.0), -90.0, MAX_PITCH_DEGREES, 4.0)
    camera.apply({"type": "reset"})
    assert camera.pose == home


def test_the_depth_range_follows_the_distance() -> None:
    camera = OrbitCamera(Pose((0, 0, 0), yaw=0, pitch=0, distance=10), radius=1)
    near, far = camera.view(640, 480).near, camera.view(640, 480).far
    assert near == pytest.approx(9 * 0.99) and far == pytest.approx(11 * 1.01)

    camera.apply({"type": "zoom", "factor": 0.01})  # inside the scene
    view = camera.view(640, 480)
    assert 0 < view.near < 0.1 < 1 < view.far


def test_the_view_carries_size_and_marker() -> None:
    view = OrbitCamera.framing(BOX).view(640, 480, marker=7)

    assert (view.width, view.height, view.marker) == (640, 480, 7)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ({"type": "spin"}, "Unknown message type 'spin'; expected one of 'orbit', 'pan'"),
        ({"type": "orbit", "dx": 1}, "'dy' is required."),
        (
            {"type": "orbit", "dx": 1, "dy": 0, "dz": 0},
            "'dz' is not a field this request takes; it takes 'seq', 'type', 'dx', 'dy'.",
        ),
        ({"type": "orbit", "dx": True, "dy": 0}, "'dx' must be a number."),
        ({"type": "pan", "dx": float("nan"), "dy": 0}, "'dx' must be a finite number"),
        ({"type": "pan", "dx": 1e300, "dy": 0}, "'dx' must be a finite number"),
        ({"type": "zoom", "factor": -2}, "'factor' must be greater than 0."),
        ({"type": "zoom"}, "'factor' is required."),
        ({"type": "reset", "now": True}, "'now' is not a field this request takes"),
        (
            {"type": "pose", "target": [1, 2], "yaw": 0, "pitch": 0, "distance": 1},
            "'target' must be a list of three numbers",
        ),
        (
            {"type": "pose", "target": "origin", "yaw": 0, "pitch": 0, "distance": 1},
            "'target' must be a list of three numbers",
        ),
        (
            {"type": "pose", "target": [0, 0, 0], "yaw": 0, "pitch": 0, "distance": 0},
            "'distance' must be greater than 0.",
        ),
    ],
)
def test_bad_commands_are_refused_and_change_nothing(
    command: dict[str, object], message: str
) -> None:
    camera = OrbitCamera.framing(BOX)
    before = camera.pose

    with pytest.raises(CommandError) as refused:
        camera.apply(command)

    assert refused.value.message.startswith(message)
    assert camera.pose == before


def test_the_target_cannot_wander_off_to_infinity() -> None:
    camera = OrbitCamera(Pose((0, 0, 0), yaw=0, pitch=0, distance=1), radius=1)

    for _ in range(50):
        camera.apply({"type": "pan", "dx": 1e14, "dy": -1e14})

    view = camera.view(640, 480)
    assert all(math.isfinite(v) for v in (*view.eye, *view.target, view.near, view.far))
    assert max(abs(v) for v in camera.pose.target) <= 1000


def test_look_puts_the_eye_where_asked_and_orbit_goes_on_from_there() -> None:
    camera = OrbitCamera.framing(BOX)
    camera.look(position=(3.0, 4.0, 0.0), target=(0.0, 0.0, 0.0), fov=30.0)
    assert camera.eye == pytest.approx((3.0, 4.0, 0.0))
    assert camera.fov == 30.0
    assert camera.view(640, 480).fov_y_degrees == 30.0

    camera.look(target=(0.0, 4.0, 0.0))  # the eye stays, only the target moves
    assert camera.eye == pytest.approx((3.0, 4.0, 0.0))
    assert camera.pose.pitch == pytest.approx(0.0)

    with pytest.raises(ValueError, match="same point"):
        camera.look(position=(0.0, 4.0, 0.0))
    assert camera.eye == pytest.approx((3.0, 4.0, 0.0)), "a refused look changes nothing"


def test_a_ray_through_the_picture_matches_the_view() -> None:
    camera = OrbitCamera.framing(BOX, aspect=2.0)
    camera.look(position=(0.0, 0.0, 10.0), target=(0.0, 0.0, 0.0), fov=90.0)

    origin, middle = camera.ray(0.5, 0.5)
    assert origin == pytest.approx((0.0, 0.0, 10.0))
    assert middle == pytest.approx((0.0, 0.0, -1.0))
    # At fov 90 the top edge is 45 degrees up; the right edge, at aspect 2, atan(2) across.
    _, top = camera.ray(0.5, 0.0)
    assert top == pytest.approx((0.0, math.sqrt(0.5), -math.sqrt(0.5)))
    _, right = camera.ray(1.0, 0.5)
    assert right == pytest.approx((2 / math.sqrt(5), 0.0, -1 / math.sqrt(5)))
