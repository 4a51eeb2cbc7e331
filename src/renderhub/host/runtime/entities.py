"""The scene's entity tree: who is whose parent, each entity's local transform and state
overrides, and, computed from them for every entity at once, the world matrices and the
inherited states.

Each entity has a row in numpy arrays (row = id - 1: ids count up from 1 and are never
reused, so a removed entity's row simply stays unused). The world matrices are composed
down the tree one depth level at a time (one batched matmul per level, not one per entity)
and cached until a transform or the tree changes; inherited states the same way. That is
what keeps a batch of a thousand moves followed by a new SceneState within a millisecond or
two.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from renderhub.host.render.geometry import HIDDEN, SEE_THROUGH, SELECTED
from renderhub.host.runtime.transform_batch import TransformBatch
from renderhub.host.runtime.transforms import compose

# The overridable flags, in the order of the override columns.
FLAGS: tuple[tuple[str, int], ...] = (
    ("hidden", HIDDEN),
    ("see_through", SEE_THROUGH),
    ("selected", SELECTED),
)
_INHERIT = -1
_IDENTITY_QUATERNION = np.array([0.0, 0.0, 0.0, 1.0])


@dataclass(slots=True, eq=False)
class Entity:
    """What the tree knows of one entity besides its arrays: its place in the tree, its
    name and metadata, its own parts (slots) and their triangles, and its state overrides
    (None: inherited)."""

    id: int
    name: str
    parent: int | None
    model: int
    metadata: dict[str, Any]
    slots: tuple[int, ...] = ()
    polygons: int = 0
    children: list[int] = field(default_factory=list)
    hidden: bool | None = None
    see_through: bool | None = None
    selected: bool | None = None
    tint: tuple[float, float, float, float] | None = None

    @property
    def row(self) -> int:
        return self.id - 1

    def overrides(self) -> dict[str, Any]:
        """The states set on this entity itself, as the protocol's `state` object."""
        state: dict[str, Any] = {}
        if self.hidden is not None:
            state["hidden"] = self.hidden
        if self.see_through is not None:
            state["see_through"] = self.see_through
        if self.selected is not None:
            state["selected"] = self.selected
        if self.tint is not None:
            state["tint"] = list(self.tint)
        return state


class EntityTree:
    """All entities of a scene, with their transforms and states in arrays by row."""

    _position: np.ndarray
    _rotation: np.ndarray
    _scale: np.ndarray
    _local: np.ndarray
    _world: np.ndarray
    _parent_row: np.ndarray
    _overrides: np.ndarray  # int8 (rows, len(FLAGS)): -1 inherit, 0 off, 1 on
    _flag_values: np.ndarray  # the inherited values of the same
    _flags: np.ndarray  # uint8 bits of the inherited values
    _tint: np.ndarray
    _tint_set: np.ndarray
    _effective_tint: np.ndarray

    def __init__(self) -> None:
        self.entities: dict[int, Entity] = {}
        self.roots: list[int] = []  # entities without a parent, in the order added
        self._capacity = 0
        self._grow(64)
        self._levels: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._world_valid = False
        self._states_valid = False

    # ---- structure ----------------------------------------------------------------------
    def add(
        self,
        entities: list[Entity],
        positions: np.ndarray,
        rotations: np.ndarray,
        scales: np.ndarray,
    ) -> None:
        """Add entities with consecutive ids, parents before children, each under its
        parent (in the tree already, or earlier in `entities`), with their local
        transforms ((n, 3) positions, (n, 4) unit quaternions, (n, 3) scales)."""
        if not entities:
            return
        rows = np.arange(entities[0].row, entities[-1].row + 1)
        if len(rows) != len(entities):
            raise ValueError("entities to add must have consecutive ids")
        if rows[-1] >= self._capacity:
            self._grow(max(2 * self._capacity, int(rows[-1]) + 1))
        for entity in entities:
            self.entities[entity.id] = entity
            if entity.parent is None:
                self.roots.append(entity.id)
            else:
                self.entities[entity.parent].children.append(entity.id)
        self._parent_row[rows] = [-1 if e.parent is None else e.parent - 1 for e in entities]
        self._position[rows], self._rotation[rows], self._scale[rows] = (
            positions,
            rotations,
            scales,
        )
        self._local[rows] = compose(positions, rotations, scales)
        self._overrides[rows] = _INHERIT
        self._tint_set[rows] = False
        self._structure_changed()

    def remove(self, entity_id: int) -> list[int]:
        """Remove an entity and everything under it; returns their ids, parents first."""
        removed = list(self.subtree(entity_id))
        entity = self.entities[entity_id]
        if entity.parent is None:
            self.roots.remove(entity_id)
        else:
            self.entities[entity.parent].children.remove(entity_id)
        for gone in removed:
            del self.entities[gone]
        self._structure_changed()
        return removed

    def subtree(self, entity_id: int) -> Iterator[int]:
        """`entity_id` and every entity under it, depth first, parents before children."""
        stack = [entity_id]
        while stack:
            current = stack.pop()
            yield current
            stack.extend(reversed(self.entities[current].children))

    def walk(self) -> Iterator[int]:
        """Every entity, tree by tree in the order their roots were added."""
        for root in self.roots:
            yield from self.subtree(root)

    # ---- transforms ---------------------------------------------------------------------
    def transforms_as_lists(self) -> tuple[list[Any], list[Any], list[Any]]:
        """Positions, rotations and scales of every row as Python lists (for JSON: one
        conversion for all entities rather than three per entity)."""
        return self._position.tolist(), self._rotation.tolist(), self._scale.tolist()

    def set_transforms(self, batch: TransformBatch) -> None:
        """Apply a checked batch: its fields to their rows, then the rows' local matrices."""
        for array, update in (
            (self._position, batch.position),
            (self._rotation, batch.rotation),
            (self._scale, batch.scale),
        ):
            array[update.rows] = update.values
        rows = batch.rows
        self._local[rows] = compose(self._position[rows], self._rotation[rows], self._scale[rows])
        self._world_valid = False

    def world(self) -> np.ndarray:
        """(capacity, 4, 4) world matrices by row (rows of removed entities are stale)."""
        if not self._world_valid:
            for rows, parents in self._depth_levels():
                if parents is None:
                    self._world[rows] = self._local[rows]
                else:
                    self._world[rows] = np.matmul(self._world[parents], self._local[rows])
            self._world_valid = True
        return self._world

    # ---- states -------------------------------------------------------------------------
    def set_override(self, entity_id: int, name: str, value: bool | None) -> None:
        setattr(self.entities[entity_id], name, value)
        column = [flag for flag, _bit in FLAGS].index(name)
        self._overrides[entity_id - 1, column] = _INHERIT if value is None else int(value)
        self._states_valid = False

    def set_tint(self, entity_id: int, tint: tuple[float, float, float, float] | None) -> None:
        self.entities[entity_id].tint = tint
        row = entity_id - 1
        self._tint_set[row] = tint is not None
        self._tint[row] = (0.0, 0.0, 0.0, 0.0) if tint is None else tint
        self._states_valid = False

    def states(self) -> tuple[np.ndarray, np.ndarray]:
        """Inherited (flags uint8, tints float32 (n, 4)) by row: the nearest override up
        the tree wins; without one a flag is off and there is no tint."""
        if not self._states_valid:
            for rows, parents in self._depth_levels():
                overrides = self._overrides[rows]
                inherited = (
                    np.zeros((len(rows), len(FLAGS)), dtype=np.int8)
                    if parents is None
                    else self._flag_values[parents]
                )
                values = np.where(overrides == _INHERIT, inherited, overrides)
                self._flag_values[rows] = values
                bits = np.array([bit for _name, bit in FLAGS], dtype=np.uint8)
                self._flags[rows] = (values.astype(np.uint8) * bits).sum(axis=1, dtype=np.uint8)
                parent_tint = (
                    np.zeros((len(rows), 4), dtype=np.float32)
                    if parents is None
                    else self._effective_tint[parents]
                )
                own = self._tint_set[rows][:, None]
                self._effective_tint[rows] = np.where(own, self._tint[rows], parent_tint)
            self._states_valid = True
        return self._flags, self._effective_tint

    # ---- bounds -------------------------------------------------------------------------
    def subtree_bounds(self, own_low: np.ndarray, own_high: np.ndarray) -> None:
        """Grow each row's box (own_low/own_high, by row, +inf/-inf when empty) by the
        boxes of its children, deepest level first, so each row ends with its subtree's."""
        for rows, parents in reversed(self._depth_levels()):
            if parents is not None:
                np.minimum.at(own_low, parents, own_low[rows])
                np.maximum.at(own_high, parents, own_high[rows])

    # ---- internals ----------------------------------------------------------------------
    def _structure_changed(self) -> None:
        self._levels = None
        self._world_valid = False
        self._states_valid = False

    def _depth_levels(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The rows of each depth level, with their parents' rows (None for the roots)."""
        if self._levels is None:
            levels: list[tuple[np.ndarray, Any]] = []
            current = [root - 1 for root in self.roots]
            while current:
                rows = np.array(current, dtype=np.int64)
                levels.append((rows, None if not levels else self._parent_row[rows]))
                current = [
                    child - 1 for row in current for child in self.entities[row + 1].children
                ]
            self._levels = levels
        return self._levels

    def _grow(self, capacity: int) -> None:
        """Room for `capacity` rows, keeping what the rows hold."""
        old = self._capacity

        def grown(name: str, shape: tuple[int, ...], dtype: Any, fill: Any = 0) -> None:
            array = np.full((capacity, *shape), fill, dtype=dtype)
            if old:
                array[:old] = getattr(self, name)
            setattr(self, name, array)

        grown("_position", (3,), np.float64)
        grown("_rotation", (4,), np.float64)
        grown("_scale", (3,), np.float64, 1.0)
        grown("_local", (4, 4), np.float64)
        grown("_world", (4, 4), np.float64)
        grown("_parent_row", (), np.int64, -1)
        grown("_overrides", (len(FLAGS),), np.int8, _INHERIT)
        grown("_flag_values", (len(FLAGS),), np.int8)
        grown("_flags", (), np.uint8)
        grown("_tint", (4,), np.float32)
        grown("_tint_set", (), np.bool_, False)
        grown("_effective_tint", (4,), np.float32)
        self._capacity = capacity
        self._world_valid = self._states_valid = False
