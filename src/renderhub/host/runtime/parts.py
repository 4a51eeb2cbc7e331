"""The scene's parts by slot: which entity (row) each slot's part belongs to, its triangles,
its box in its entity's local space, and its ray-cast mesh.

Slots are handed out in order and never reused; a removed model's slots keep their place
with no entity (row -1), so they are not drawn and rays do not meet them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from renderhub.host.picking import PickableMesh

NO_ENTITY = -1


class Slots:
    """Per slot: `rows` (the owning entity's row, or NO_ENTITY), `triangles`, `low`/`high`
    (the local box), `picks` (the PickableMesh, or None once removed)."""

    def __init__(self) -> None:
        self.rows = np.zeros(0, dtype=np.int64)
        self.triangles = np.zeros(0, dtype=np.int64)
        self.low = np.zeros((0, 3))
        self.high = np.zeros((0, 3))
        self.picks: list[PickableMesh | None] = []

    def __len__(self) -> int:
        return len(self.rows)

    def append(
        self,
        rows: np.ndarray,
        triangles: np.ndarray,
        bounds: np.ndarray,
        picks: list[PickableMesh],
    ) -> int:
        """Give the parts the next slots; returns the first one."""
        first = len(self.rows)
        self.rows = np.concatenate([self.rows, rows.astype(np.int64)])
        self.triangles = np.concatenate([self.triangles, triangles.astype(np.int64)])
        self.low = np.concatenate([self.low, bounds[:, 0]])
        self.high = np.concatenate([self.high, bounds[:, 1]])
        self.picks.extend(picks)
        return first

    def free(self, slots: range) -> None:
        self.rows[slots.start : slots.stop] = NO_ENTITY
        for slot in slots:
            self.picks[slot] = None

    @property
    def alive(self) -> np.ndarray:
        return self.rows != NO_ENTITY

    def world_boxes(self, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each slot's box in the world ((S, 3) low, high), given world matrices by row;
        +inf/-inf for slots without an entity."""
        alive = self.alive
        matrices = world[np.where(alive, self.rows, 0)]
        centre = (self.low + self.high) / 2
        extent = (self.high - self.low) / 2
        world_centre = np.einsum("sij,sj->si", matrices[:, :3, :3], centre) + matrices[:, :3, 3]
        world_extent = np.einsum("sij,sj->si", np.abs(matrices[:, :3, :3]), extent)
        low = np.where(alive[:, None], world_centre - world_extent, np.inf)
        high = np.where(alive[:, None], world_centre + world_extent, -np.inf)
        return low, high
