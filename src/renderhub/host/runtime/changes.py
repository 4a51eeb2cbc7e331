"""What a request asks the scene model to change: the entries of a set_transforms batch and
a set_state's fields, with UNSET for a field the request left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Vector = tuple[float, float, float]
Quaternion = tuple[float, float, float, float]  # x, y, z, w
Colour = tuple[float, float, float, float]
MAX_BATCH = 10_000


class Unset:
    """A field the request left out: the value stays as it is (None means "inherit")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()


@dataclass(frozen=True, slots=True)
class TransformChange:
    """One entry of set_transforms; UNSET fields keep their value."""

    id: int
    position: Vector | Unset = UNSET
    rotation: Quaternion | Unset = UNSET
    scale: Vector | Unset = UNSET


@dataclass(frozen=True, slots=True)
class StateChange:
    """set_state's fields: True/False override, None inherits again, UNSET leaves as is."""

    hidden: bool | Unset | None = UNSET
    see_through: bool | Unset | None = UNSET
    selected: bool | Unset | None = UNSET
    tint: Colour | Unset | None = UNSET
