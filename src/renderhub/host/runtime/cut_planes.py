"""The scene's cut planes: ids counting up from 1, at most MAX_CUT_PLANES at once, each
checked (a non-zero normal, scaled to length 1; a fade length >= 0; a colour in 0..1)
before anything changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from renderhub.host.render.geometry import MAX_CUT_PLANES, CutPlaneData
from renderhub.host.runtime.checks import (
    checked_colour,
    checked_fade_length,
    checked_vector,
    unit_vector,
)
from renderhub.host.runtime.errors import ErrorCode, SceneError

Vector = tuple[float, float, float]
Colour = tuple[float, float, float, float]


class CutPlanes:
    """The cut planes by id, in the order they were added."""

    def __init__(self) -> None:
        self._planes: dict[int, CutPlaneData] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._planes)

    def data(self) -> tuple[CutPlaneData, ...]:
        return tuple(self._planes.values())

    def add(self, point: Vector, normal: Vector, fade_length: float, fade_colour: Colour) -> int:
        if len(self._planes) >= MAX_CUT_PLANES:
            raise SceneError(
                ErrorCode.LIMIT_EXCEEDED,
                f"There are {MAX_CUT_PLANES} cut planes already, the most a scene may have.",
            )
        plane = CutPlaneData(
            point=checked_vector(point, "point"),
            normal=unit_vector(normal, "normal"),
            fade_length=checked_fade_length(fade_length),
            fade_colour=checked_colour(fade_colour, "fade_colour"),
        )
        plane_id = self._next_id
        self._next_id += 1
        self._planes[plane_id] = plane
        return plane_id

    def change(self, plane_id: int, **fields: Any) -> dict[str, Any]:
        """Change the given fields of a plane (point, normal, fade_length, fade_colour)."""
        plane = self._find(plane_id)
        checks: dict[str, Callable[[Any], Any]] = {
            "point": lambda value: checked_vector(value, "point"),
            "normal": lambda value: unit_vector(value, "normal"),
            "fade_length": checked_fade_length,
            "fade_colour": lambda value: checked_colour(value, "fade_colour"),
        }
        changed: dict[str, Any] = {name: checks[name](value) for name, value in fields.items()}
        self._planes[plane_id] = replace(plane, **changed)
        return self.json(plane_id)

    def remove(self, plane_id: int) -> None:
        self._find(plane_id)
        del self._planes[plane_id]

    def json(self, plane_id: int) -> dict[str, Any]:
        plane = self._find(plane_id)
        return {
            "id": plane_id,
            "point": list(plane.point),
            "normal": list(plane.normal),
            "fade_length": plane.fade_length,
            "fade_colour": list(plane.fade_colour),
        }

    def all_json(self) -> list[dict[str, Any]]:
        return [self.json(plane_id) for plane_id in self._planes]

    def _find(self, plane_id: int) -> CutPlaneData:
        plane = self._planes.get(plane_id)
        if plane is None:
            raise SceneError(
                ErrorCode.CUT_PLANE_NOT_FOUND, f"There is no cut plane {plane_id}.", "id"
            )
        return plane
