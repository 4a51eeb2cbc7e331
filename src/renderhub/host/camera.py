"""The client's camera: an orbit around a target point, steered by commands from the client.

Conventions: +Y is up. At yaw 0 and pitch 0 the eye lies on the target's +Z side looking
towards -Z; positive yaw moves the eye towards +X, positive pitch raises it. Pointer movements
(`dx`, `dy`) are fractions of the viewport, x to the right and y downwards, as a browser
reports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from renderhub.host.commands import (
    CAMERA_COMMANDS,
    CameraCommand,
    Orbit,
    Pan,
    Reset,
    SetPose,
    Zoom,
    parse_command,
)
from renderhub.host.frames import Vector, View

MAX_PITCH_DEGREES = 89.0
DEFAULT_FOV_DEGREES = 45.0
HOME_YAW_DEGREES = 35.0
HOME_PITCH_DEGREES = 25.0
# The closest and farthest the eye may get, in multiples of the scene's radius.
MIN_DISTANCE_RADII = 1e-3
MAX_DISTANCE_RADII = 100.0
# The target stays within this many radii of the scene's centre (per axis).
MAX_TARGET_RADII = 1000.0
# Depth range: the near plane is never closer than this fraction of the far plane.
NEAR_FAR_RATIO = 1e-4


@dataclass(frozen=True, slots=True)
class Pose:
    """Where the camera is: the point it orbits, its angles in degrees and its distance."""

    target: Vector
    yaw: float
    pitch: float
    distance: float


class OrbitCamera:
    """A perspective camera orbiting `target`; `apply` steers it, `view` asks for a frame.

    `center` and `radius` describe the scene's bounding sphere: they scale the zoom limits and
    set the depth range. `aspect` (width / height) scales horizontal panning.
    """

    def __init__(
        self,
        pose: Pose,
        *,
        center: Vector = (0.0, 0.0, 0.0),
        radius: float = 1.0,
        fov: float = DEFAULT_FOV_DEGREES,
        aspect: float = 16 / 9,
    ) -> None:
        self.center = center
        self.radius = radius if radius > 0 and math.isfinite(radius) else 1.0
        self.fov = fov
        self.aspect = aspect
        self.home = self._clamped(pose)
        self.pose = self.home

    @classmethod
    def framing(
        cls,
        bounds: np.ndarray | None,
        *,
        fov: float = DEFAULT_FOV_DEGREES,
        aspect: float = 16 / 9,
    ) -> OrbitCamera:
        """A camera that shows all of `bounds` ([[min xyz], [max xyz]]) from a 3/4 angle.

        The whole bounding sphere fits the narrower of the two fields of view at `aspect`
        (width / height), so the box stays in view at that aspect or any wider one. No bounds
        (an empty scene): a unit sphere around the origin.
        """
        center, radius = _sphere(bounds)
        half_angle = min(math.radians(fov) / 2, _half_fov_x(fov, aspect))
        distance = radius / math.sin(half_angle)
        pose = Pose(center, HOME_YAW_DEGREES, HOME_PITCH_DEGREES, distance)
        return cls(pose, center=center, radius=radius, fov=fov, aspect=aspect)

    @property
    def eye(self) -> Vector:
        """The eye's position in world space."""
        yaw, pitch = math.radians(self.pose.yaw), math.radians(self.pose.pitch)
        offset = (
            math.cos(pitch) * math.sin(yaw),
            math.sin(pitch),
            math.cos(pitch) * math.cos(yaw),
        )
        return _add(self.pose.target, _scale(offset, self.pose.distance))

    def apply(self, command: CameraCommand | Mapping[str, Any]) -> None:
        """Apply one camera command (see the module docstring and renderhub.host.commands);
        a JSON object is parsed first, and CommandError raised if it does not fit.

        A rejected command changes nothing.
        """
        if isinstance(command, Mapping):
            command = parse_command(dict(command), CAMERA_COMMANDS)  # type: ignore[assignment]
        if isinstance(command, Orbit):
            self._orbit(command.dx, command.dy)
        elif isinstance(command, Pan):
            self._pan(command.dx, command.dy)
        elif isinstance(command, Zoom):
            self._set(distance=self.pose.distance * command.factor)
        elif isinstance(command, SetPose):
            pose = Pose(command.target, command.yaw, command.pitch, command.distance)
            self.pose = self._clamped(pose)
        elif isinstance(command, Reset):
            self.pose = self.home

    def look(
        self,
        position: Vector | None = None,
        target: Vector | None = None,
        fov: float | None = None,
    ) -> None:
        """Put the eye at `position` looking at `target` (either kept when None) with a
        vertical field of view of `fov` degrees; orbit, pan and zoom go on from there.

        ValueError when the eye would be at the target (no direction to look in). Like
        every pose, the result is kept within the pitch and distance limits."""
        eye = position if position is not None else self.eye
        aim = target if target is not None else self.pose.target
        offset = np.subtract(eye, aim, dtype=float)
        distance = float(np.linalg.norm(offset))
        if not distance > 0 or not math.isfinite(distance):
            raise ValueError("the camera's position and target must not be the same point")
        yaw = math.degrees(math.atan2(offset[0], offset[2]))
        pitch = math.degrees(math.asin(max(-1.0, min(1.0, offset[1] / distance))))
        if fov is not None:
            self.fov = fov
        self.pose = self._clamped(Pose(aim, yaw, pitch, distance))

    def ray(self, x: float, y: float) -> tuple[Vector, Vector]:
        """The ray from the eye through the point (`x`, `y`) of the picture, each from 0 to 1
        from the top-left corner: (origin, unit direction), in world space."""
        eye = self.eye
        forward = np.subtract(self.pose.target, eye, dtype=float)
        forward /= np.linalg.norm(forward)
        right, up = (np.array(axis) for axis in self._screen_axes())
        half_height = math.tan(math.radians(self.fov) / 2)
        across = (2 * x - 1) * half_height * self.aspect
        upwards = (1 - 2 * y) * half_height
        direction = forward + across * right + upwards * up
        direction /= np.linalg.norm(direction)
        return eye, (float(direction[0]), float(direction[1]), float(direction[2]))

    def view(self, width: int, height: int, marker: int | None = None) -> View:
        """The View to render now, at `width` x `height`, with the depth range fitted."""
        near, far = self._depth_range()
        return View(
            eye=self.eye,
            target=self.pose.target,
            fov_y_degrees=self.fov,
            near=near,
            far=far,
            width=width,
            height=height,
            marker=marker,
        )

    def _orbit(self, dx: float, dy: float) -> None:
        # Dragging right turns the scene to the right (the eye moves left around it); dragging
        # down tips it towards the viewer (the eye rises). A full viewport is half a turn.
        self._set(yaw=self.pose.yaw - dx * 180.0, pitch=self.pose.pitch + dy * 180.0)

    def _pan(self, dx: float, dy: float) -> None:
        # The scene follows the pointer: the target moves the other way, in the view plane.
        visible_height = 2 * self.pose.distance * math.tan(math.radians(self.fov) / 2)
        right, up = self._screen_axes()
        shift = _add(
            _scale(right, -dx * visible_height * self.aspect), _scale(up, dy * visible_height)
        )
        self._set(target=_add(self.pose.target, shift))

    def _screen_axes(self) -> tuple[Vector, Vector]:
        yaw, pitch = math.radians(self.pose.yaw), math.radians(self.pose.pitch)
        right = (math.cos(yaw), 0.0, -math.sin(yaw))
        up = (
            -math.sin(pitch) * math.sin(yaw),
            math.cos(pitch),
            -math.sin(pitch) * math.cos(yaw),
        )
        return right, up

    def _depth_range(self) -> tuple[float, float]:
        to_center = math.dist(self.eye, self.center)
        far = (to_center + self.radius) * 1.01
        near = max((to_center - self.radius) * 0.99, far * NEAR_FAR_RATIO)
        return near, far

    def _set(self, **changes: object) -> None:
        self.pose = self._clamped(replace(self.pose, **changes))  # type: ignore[arg-type]

    def _clamped(self, pose: Pose) -> Pose:
        yaw = (pose.yaw + 180.0) % 360.0 - 180.0
        pitch = min(max(pose.pitch, -MAX_PITCH_DEGREES), MAX_PITCH_DEGREES)
        lowest, highest = self.radius * MIN_DISTANCE_RADII, self.radius * MAX_DISTANCE_RADII
        distance = min(max(pose.distance, lowest), highest)
        reach = self.radius * MAX_TARGET_RADII
        target = tuple(
            min(max(value, centre - reach), centre + reach)
            for value, centre in zip(pose.target, self.center, strict=True)
        )
        return Pose((target[0], target[1], target[2]), yaw, pitch, distance)


def _sphere(bounds: np.ndarray | None) -> tuple[Vector, float]:
    if bounds is None:
        return (0.0, 0.0, 0.0), 1.0
    low, high = np.asarray(bounds, dtype=float)
    center = (low + high) / 2
    radius = float(np.linalg.norm(high - low)) / 2
    if not math.isfinite(radius) or radius <= 0:
        radius = 1.0
    return (float(center[0]), float(center[1]), float(center[2])), radius


def _half_fov_x(fov: float, aspect: float) -> float:
    return math.atan(math.tan(math.radians(fov) / 2) * aspect)


def _add(a: Vector, b: Vector) -> Vector:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _scale(a: Vector, factor: float) -> Vector:
    return (a[0] * factor, a[1] * factor, a[2] * factor)
