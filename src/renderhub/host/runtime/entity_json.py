"""Entities as the protocol's Entity objects (docs/scene-protocol.md, "Entity"), and what
keeps a page of them within one data-channel message: the bytes each takes, and metadata
capped in size."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import numpy as np

from renderhub.host.runtime.entities import EntityTree

log = logging.getLogger(__name__)

MAX_METADATA_BYTES = 16 * 1024  # an entity's metadata, serialised; larger is replaced


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


def json_size(value: Any) -> int:
    """How many bytes `value` takes as the host sends it (compact JSON, ASCII escapes)."""
    return len(json.dumps(value, separators=(",", ":")))


def capped_metadata(metadata: dict[str, Any], name: str) -> dict[str, Any]:
    """A node's metadata as its entity carries it: as it is, or, when it takes more than
    MAX_METADATA_BYTES, {"truncated": true, "bytes": n}, so that every entity fits a page
    (a log line says which node lost it)."""
    size = json_size(metadata)
    if size <= MAX_METADATA_BYTES:
        return dict(metadata)
    log.warning("the metadata of node %r (%d bytes) is replaced by its size", name, size)
    return {"truncated": True, "bytes": size}


def fitting(objects: list[dict[str, Any]], budget: int) -> int:
    """How many of `objects`, from the first, fit in `budget` bytes of a JSON list (at
    least one, so that a page always moves on: a reply still too large for the channel
    becomes ReplyTooLarge)."""
    if json_size(objects) <= budget:  # the usual case, and one call is quicker than many
        return len(objects)
    used = 2  # the brackets
    for count, body in enumerate(objects):
        used += json_size(body) + (1 if count else 0)
        if used > budget and count:
            return count
    return len(objects)
