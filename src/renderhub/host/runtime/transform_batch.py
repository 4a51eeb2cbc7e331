"""A set_transforms batch checked as a whole before anything moves.

Checking entry by entry in Python (a numpy array per vector) costs ~20 us an entry, too much
for a batch of thousands that should show in the next frame; here the loop over the entries
only sorts their values into lists, and numpy checks each field of all entries at once. The
first bad entry (in batch order) is the one reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from renderhub.host.runtime.changes import UNSET, TransformChange
from renderhub.host.runtime.checks import checked_numbers, invalid
from renderhub.host.runtime.errors import SceneError, entity_not_found
from renderhub.host.runtime.transforms import TINY


@dataclass(frozen=True, slots=True)
class FieldUpdate:
    """New values of one field: `rows` (distinct; where an entity appears twice in a batch,
    its later value wins) and their `values`."""

    rows: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, slots=True)
class TransformBatch:
    """Every row the batch touches, and the new positions, rotations (unit) and scales."""

    rows: np.ndarray
    position: FieldUpdate
    rotation: FieldUpdate
    scale: FieldUpdate


class _Field:
    """One field's values as the entries give them, with where each came from."""

    def __init__(self, name: str, width: int) -> None:
        self.name, self.width = name, width
        self.values: list[object] = []
        self.entries: list[int] = []  # the batch index of each value
        self.last: dict[int, int] = {}  # row -> index into values of its latest value

    def add(self, entry: int, row: int, value: object) -> None:
        self.last[row] = len(self.values)
        self.values.append(value)
        self.entries.append(entry)

    def checked(self) -> tuple[np.ndarray, tuple[int, SceneError] | None]:
        """All values as (n, width) floats, and the first error (entry, error) if any."""
        try:
            array = np.array(self.values, dtype=np.float64).reshape(len(self.values), self.width)
        except (TypeError, ValueError):  # a value of the wrong length or type: find it
            for entry, value in zip(self.entries, self.values, strict=True):
                try:
                    checked_numbers(value, self.width, self.target(entry))  # type: ignore[arg-type]
                except SceneError as exc:
                    return np.zeros((0, self.width)), (entry, exc)
            raise
        bad = np.asarray(~np.isfinite(array).all(axis=1))
        return array, self.first_where(bad, f"must be {self.width} finite numbers")

    def target(self, entry: int) -> str:
        return f"transforms[{entry}].{self.name}"

    def first_where(self, bad: np.ndarray, message: str) -> tuple[int, SceneError] | None:
        if not bad.any():
            return None
        entry = self.entries[int(np.argmax(bad))]
        target = self.target(entry)
        return entry, invalid(f"{target} {message}.", target)

    def update(self, array: np.ndarray) -> FieldUpdate:
        rows = np.fromiter(self.last.keys(), dtype=np.int64, count=len(self.last))
        picks = np.fromiter(self.last.values(), dtype=np.int64, count=len(self.last))
        return FieldUpdate(rows, array[picks])


def checked_batch(
    changes: Sequence[TransformChange], exists: Callable[[int], bool]
) -> TransformBatch:
    """The batch's updates, or the SceneError of its first bad entry."""
    position, rotation, scale = _Field("position", 3), _Field("rotation", 4), _Field("scale", 3)
    errors: list[tuple[int, SceneError]] = []
    for i, change in enumerate(changes):
        if not exists(change.id):
            errors.append((i, entity_not_found(change.id, f"transforms[{i}].id")))
            break  # later entries cannot come first
        row = change.id - 1
        if change.position is not UNSET:
            position.add(i, row, change.position)
        if change.rotation is not UNSET:
            rotation.add(i, row, change.rotation)
        if change.scale is not UNSET:
            scale.add(i, row, change.scale)
    positions, position_error = position.checked()
    rotations, rotation_error = rotation.checked()
    scales, scale_error = scale.checked()
    errors += [error for error in (position_error, rotation_error, scale_error) if error]
    if rotation_error is None:
        lengths = np.linalg.norm(rotations, axis=1)
        zero = rotation.first_where(lengths <= TINY, "must not be the zero quaternion")
        errors += [zero] if zero else []
        rotations = rotations / np.where(lengths > TINY, lengths, 1.0)[:, None]
    if scale_error is None:
        zero = scale.first_where((scales == 0.0).any(axis=1), "must not have a zero component")
        errors += [zero] if zero else []
    if errors:
        raise min(errors, key=lambda error: error[0])[1]
    updates = (position.update(positions), rotation.update(rotations), scale.update(scales))
    rows = np.unique(np.concatenate([update.rows for update in updates]))
    return TransformBatch(rows, *updates)
