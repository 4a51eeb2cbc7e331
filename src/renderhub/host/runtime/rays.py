"""Ray casts against the scene as it stands: the glue between the scene model and
`renderhub.host.picking`.

Each part has a PickableMesh; its acceleration structure is built in a daemon thread begun
when the model is committed, and a cast against a part waits for it. On the event loop,
`built` awaits them first, so that the wait does not block the loop (seconds for a million
triangles just loaded). Moving entities does not touch the meshes; a cast first moves the
meshes whose world matrix changed since the last cast (compared in one numpy pass), then
casts against the parts that are drawn: not hidden (inherited), not removed. A part whose
world matrix picking refuses (a zero scale somewhere up the tree, coordinates past 1e9)
cannot be hit until it is placed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from renderhub.errors import BadRequest
from renderhub.host.render.geometry import HIDDEN, CutPlaneData
from renderhub.host.runtime.checks import checked_vector, invalid, unit_vector
from renderhub.host.runtime.parts import Slots

if TYPE_CHECKING:
    from renderhub.host.picking import MeshGeometry, PickableMesh


class RayCaster:
    """Keeps the parts' PickableMeshes where their entities are, and casts rays."""

    def __init__(self) -> None:
        self._placed = np.zeros((0, 4, 4))  # the world matrix each slot's mesh was moved to
        self._pickable = np.zeros(0, dtype=bool)

    async def built(self, slots: Slots) -> None:
        """Return once the structure of every part in the scene is built (parts committed
        while waiting included), starting builds not begun; the event loop runs meanwhile.
        A build that failed is left for the cast to report."""
        while waiting := _unbuilt(slots.picks):
            for geometry in waiting:
                geometry.start_build()
            await asyncio.wait([asyncio.wrap_future(geometry.built) for geometry in waiting])

    def cast(
        self,
        slots: Slots,
        slot_world: np.ndarray,
        slot_flags: np.ndarray,
        planes: tuple[CutPlaneData, ...],
        ray: tuple[Any, Any, Literal["closest", "all"], float | None],
    ) -> list[dict[str, Any]]:
        """Hits of `ray` (origin, direction, mode, max_distance) against the visible parts,
        nearest first, as the protocol's hit objects. InvalidField for a bad ray."""
        from renderhub.host.picking import CutPlane, cast  # trimesh: imported on first use

        origin, direction, mode, max_distance = ray
        checked_vector(origin, "origin")
        unit_vector(direction, "direction")
        self._place(slots, slot_world)
        visible = slots.alive & self._pickable & ((slot_flags & HIDDEN) == 0)
        meshes = [slots.picks[slot] for slot in np.flatnonzero(visible)]
        cut_planes = [CutPlane(np.array(p.point), np.array(p.normal)) for p in planes]
        try:
            hits = cast(
                origin,
                direction,
                [mesh for mesh in meshes if mesh is not None],
                cut_planes=cut_planes,
                mode=mode,
                max_distance=max_distance,
            )
        except BadRequest as exc:
            raise invalid(_sentence(exc.message), exc.target or "ray") from exc
        return [
            {
                "entity": hit.entity_id,
                "position": [float(v) for v in hit.position],
                "normal": [float(v) for v in hit.normal],
                "distance": float(hit.distance),
            }
            for hit in hits
        ]

    def _place(self, slots: Slots, slot_world: np.ndarray) -> None:
        """Move every mesh whose slot's world matrix differs from where it was put."""
        count = len(slots)
        if len(self._placed) < count:
            grown = np.full((count, 4, 4), np.nan)
            grown[: len(self._placed)] = self._placed
            self._placed = grown
            self._pickable = np.concatenate(
                [self._pickable, np.zeros(count - len(self._pickable), dtype=bool)]
            )
        from renderhub.host.picking import place_all

        moved = np.flatnonzero(slots.alive & (slot_world != self._placed[:count]).any(axis=(1, 2)))
        meshes = [slots.picks[slot] for slot in moved]
        if meshes:
            self._pickable[moved] = place_all(meshes, slot_world[moved])  # type: ignore[arg-type]
            self._placed[moved] = slot_world[moved]


def _unbuilt(picks: Iterable[PickableMesh | None]) -> list[MeshGeometry]:
    """The distinct geometries of these meshes whose structure is not built yet."""
    unbuilt = {id(p.geometry): p.geometry for p in picks if p is not None and not p.geometry.ready}
    return list(unbuilt.values())


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
