"""Entities as the protocol's Entity objects (docs/scene-protocol.md, "Entity")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from renderhub.host.runtime.entities import EntityTree


def entity_objects(
    tree: EntityTree, ids: Iterable[int], low: np.ndarray, high: np.ndarray
) -> list[dict[str, Any]]:
    """The Entity objects of `ids`, given each row's world box of its subtree (`low`,
    `high`; +inf/-inf where there is no geometry under the entity). The arrays become
    Python lists once for all rows, not per entity: a tree of thousands takes milliseconds."""
    positions, rotations, scales = tree.transforms_as_lists()
    has_bounds = np.isfinite(low).all(axis=1).tolist()
    lows, highs = low.tolist(), high.tolist()
    objects = []
    for entity_id in ids:
        entity = tree.entities[entity_id]
        row = entity.row
        body: dict[str, Any] = {"id": entity.id, "name": entity.name}
        if entity.parent is not None:
            body["parent"] = entity.parent
        body["model"] = entity.model
        body["position"], body["rotation"], body["scale"] = (
            positions[row],
            rotations[row],
            scales[row],
        )
        if has_bounds[row]:
            body["bounds"] = {"min": lows[row], "max": highs[row]}
        body["polygons"] = entity.polygons
        body["metadata"] = dict(entity.metadata)
        body["state"] = entity.overrides()
        objects.append(body)
    return objects
