"""A glTF file's node tree, with each node's meshes in its local space.

trimesh's glTF loader builds a scene graph of uniquely renamed frames; it keeps each node's
`extras` on the graph's edges, but also splits a node whose mesh has several primitives
into synthetic child frames, so the file's own tree is read here from the glTF JSON (the
names as the file has them, parents, transforms, extras), and trimesh supplies the loaded
primitives of each node by the frame name its loader gave the node.
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from trimesh.scene.transforms import DEFAULT_BASE_FRAME

from renderhub.host.runtime.transforms import trs_matrix
from renderhub.host.scene import ModelNode

log = logging.getLogger(__name__)

_GLB_HEADER = struct.Struct("<4sII")
_CHUNK_HEADER = struct.Struct("<II")
_JSON_CHUNK = 0x4E4F534A


def read_gltf_document(path: Path) -> dict[str, Any]:
    """The glTF JSON of a .gltf file, or of a .glb file's JSON chunk (read alone: the
    binary chunk after it, most of the file, is not read again)."""
    with path.open("rb") as file:
        head = file.read(_GLB_HEADER.size + _CHUNK_HEADER.size)
        if head[:4] != b"glTF":
            document = json.loads(head + file.read())
        else:
            chunk_length, chunk_type = _CHUNK_HEADER.unpack_from(head, _GLB_HEADER.size)
            if chunk_type != _JSON_CHUNK:
                raise ValueError("the GLB's first chunk is not JSON")
            document = json.loads(file.read(chunk_length))
    if not isinstance(document, dict):
        raise ValueError("it is not a glTF document")
    return document


def gltf_nodes(scene: trimesh.Scene, document: dict[str, Any]) -> tuple[ModelNode, ...] | None:
    """The nodes of the document's default scene, depth first, parents before children,
    each with the triangle meshes trimesh loaded for it (the same Trimesh object in every
    node instancing one glTF mesh). None when trimesh's graph does not match the document
    (the caller then falls back to one node of everything)."""
    entries = document.get("nodes") or []
    frames = _frame_names(entries)
    roots = _scene_roots(document)
    if any(not 0 <= index < len(entries) for index in roots):
        return None
    graph = scene.graph.transforms
    real_frames = set(frames.values())
    result: list[ModelNode] = []
    seen: set[int] = set()
    stack = [(index, -1) for index in reversed(roots)]
    while stack:
        index, parent = stack.pop()
        if index in seen or not 0 <= index < len(entries):
            continue  # a node listed twice (not valid glTF) is read once
        seen.add(index)
        entry = entries[index]
        if "mesh" in entry and frames[index] not in graph.node_data:
            log.warning("trimesh's graph lacks glTF node %d; reading the file as one node", index)
            return None
        meshes = _frame_meshes(scene, frames[index], real_frames) if "mesh" in entry else ()
        result.append(
            ModelNode(
                name=_name(entry, index),
                parent=parent,
                matrix=_local_matrix(entry),
                meshes=meshes,
                metadata=_metadata(entry),
            )
        )
        children = entry.get("children") or []
        stack.extend((child, len(result) - 1) for child in reversed(children))
    return tuple(result)


def _frame_names(entries: list[Any]) -> dict[int, str]:
    """The frame name trimesh's loader gives each node: its name (or index) made unique in
    node order, as trimesh.exchange.gltf does it."""
    name_index: dict[str, int] = {}
    counts: dict[str | None, int] = {}
    for i, entry in enumerate(entries):
        start = entry.get("name", str(i)) if isinstance(entry, dict) else str(i)
        name_index[trimesh.util.unique_name(start, name_index, counts=counts)] = i
    names = {index: name for name, index in name_index.items()}
    world = name_index.get(DEFAULT_BASE_FRAME)
    if world is not None:
        names[world] = trimesh.util.unique_name(DEFAULT_BASE_FRAME, set(names.values()))
    return names


def _scene_roots(document: dict[str, Any]) -> list[int]:
    scenes = document.get("scenes") or []
    index = document.get("scene", 0)
    if not isinstance(index, int) or not 0 <= index < len(scenes):
        return []
    roots = scenes[index].get("nodes") or []
    return [root for root in roots if isinstance(root, int)]


def _frame_meshes(
    scene: trimesh.Scene, frame: str, real_frames: set[str]
) -> tuple[trimesh.Trimesh, ...]:
    """The triangle meshes trimesh hung on a node's frame: on the frame itself (one
    primitive) or on the synthetic child frames it made for each primitive."""
    graph = scene.graph.transforms
    names = [graph.node_data[frame].get("geometry")]
    names += [
        graph.node_data[child].get("geometry")
        for child in graph.children.get(frame, [])
        if child not in real_frames
    ]
    geometry = [scene.geometry.get(name) for name in names if name is not None]
    return tuple(g for g in geometry if isinstance(g, trimesh.Trimesh) and len(g.faces))


def _name(entry: dict[str, Any], index: int) -> str:
    name = entry.get("name")
    return name if isinstance(name, str) and name else f"node {index}"


def _local_matrix(entry: dict[str, Any]) -> np.ndarray:
    """The node's `matrix` (column-major in glTF) or its translation @ rotation @ scale."""
    if "matrix" in entry:
        return np.array(entry["matrix"], dtype=np.float64).reshape(4, 4).T
    return trs_matrix(entry.get("translation"), entry.get("rotation"), entry.get("scale"))


def _metadata(entry: dict[str, Any]) -> dict[str, Any]:
    """The node's `extras` as an object: {} when absent, {"extras": value} when the file
    holds a value that is not an object there (glTF allows any JSON value)."""
    extras = entry.get("extras")
    if extras is None:
        return {}
    return dict(extras) if isinstance(extras, dict) else {"extras": extras}
