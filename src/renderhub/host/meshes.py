"""Parsing model files with trimesh into node trees of triangle meshes, and counting polygons.

trimesh (and numpy, scipy under it) is imported here only, so a host that has not started
loading yet answers its health check without paying for that import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from renderhub.host.errors import ModelLoadError
from renderhub.host.scene import LoadedModel, LoadedScene, ModelNode, mark_sidedness
from renderhub.model_sources import redact

if TYPE_CHECKING:
    from renderhub.assets import AssetMesh

GLTF_SUFFIXES = (".gltf", ".glb")


def load_model_file(url: str, path: Path) -> LoadedModel:
    """Parse one glTF/GLB/OBJ/PLY/STL file or converted asset (blocking: run it off the
    event loop) into its node tree.

    glTF/GLB keep their nodes (names, parents, local transforms, `extras`) with each node's
    meshes in its local space; OBJ, PLY and STL give one node holding all their meshes. A
    point cloud or a line drawing loads but counts 0 polygons; a file with no geometry at
    all, or one trimesh cannot parse, raises ModelLoadError naming the model and the cause.
    """
    import trimesh

    from renderhub.assets import SUFFIX as ASSET_SUFFIX
    from renderhub.host.gltf_nodes import gltf_nodes, read_gltf_document

    if path.suffix.lower() == ASSET_SUFFIX.lower():
        return load_asset_file(url, path)
    name = redact(url)  # for messages: a SAS query is never shown
    is_gltf = path.suffix.lower() in GLTF_SUFFIXES
    if path.suffix.lower() == ".gltf":
        _check_gltf_resources(name, path)
    try:
        scene = trimesh.load_scene(path)
        nodes = gltf_nodes(scene, read_gltf_document(path)) if is_gltf else None
        if nodes is None:
            nodes = (_single_node(trimesh, path, scene.dump()),)
    except Exception as exc:
        raise ModelLoadError(f"Could not load model {name!r}: {_describe(exc, path)}.") from exc
    if not scene.geometry:
        raise ModelLoadError(f"Could not load model {name!r}: the file holds no geometry.")
    if is_gltf:
        for node in nodes:
            for mesh in node.meshes:
                mark_sidedness(mesh, double_sided=_gltf_double_sided(mesh))
    polygons = sum(node.polygons for node in nodes)
    return LoadedModel(url=url, nodes=nodes, polygons=polygons, bytes=path.stat().st_size)


def _single_node(trimesh: Any, path: Path, geometry: list[Any]) -> ModelNode:
    """The one node of a file without a node tree: every triangle mesh it holds."""
    meshes = tuple(g for g in geometry if isinstance(g, trimesh.Trimesh) and len(g.faces))
    return ModelNode(name=path.stem, meshes=meshes)


def load_asset_file(url: str, path: Path) -> LoadedModel:
    """Load a converted `.arrAsset`: its arrays are used as stored (welded, with normals and
    baked colours), so trimesh does no processing; that is what makes it fast to load.

    An asset's meshes are merged per material, in world space, and no longer tied to the
    source's nodes, so the model has one node per mesh, named after its material, at the
    identity transform (the asset's node list describes the source, not its meshes)."""
    import trimesh

    from renderhub.assets import SINGLE_SIDED, AssetFormatError, read_asset

    try:
        asset = read_asset(path)
    except AssetFormatError as exc:
        raise ModelLoadError(f"Could not load model {redact(url)!r}: {exc}.") from exc
    except OSError as exc:
        raise ModelLoadError(f"Could not load model {redact(url)!r}: {exc.strerror}.") from exc
    nodes = tuple(
        ModelNode(
            name=asset.materials[mesh.material].name,
            meshes=(
                _asset_mesh(
                    trimesh, mesh, asset.materials[mesh.material].sidedness != SINGLE_SIDED
                ),
            ),
        )
        for mesh in asset.meshes
        if mesh.triangles
    )
    if not nodes:
        raise ModelLoadError(f"Could not load model {redact(url)!r}: the asset holds no geometry.")
    return LoadedModel(url=url, nodes=nodes, polygons=asset.triangles, bytes=path.stat().st_size)


def _gltf_double_sided(mesh: Any) -> bool:
    """A glTF material is single-sided unless it says `doubleSided: true` (the glTF
    default); trimesh keeps that flag on its PBRMaterial (None when the file left it out).
    A primitive without a material stays double-sided, as the formats without the notion."""
    material = getattr(getattr(mesh, "visual", None), "material", None)
    if material is None or not hasattr(material, "doubleSided"):
        return True
    return material.doubleSided is True


def _asset_mesh(trimesh: Any, mesh: AssetMesh, double_sided: bool) -> Any:
    """A Trimesh over the asset's arrays, its normals and bounds already in trimesh's cache
    (an asset has no unused vertices, so the bounds of all of them are trimesh's bounds;
    trimesh would spend ~40 ms per million triangles finding the used ones first), marked
    with its material's sidedness (the conversion's opaqueMaterialDefaultSidedness or the
    source's doubleSided)."""
    loaded = trimesh.Trimesh(
        vertices=mesh.positions,
        faces=mesh.indices,
        vertex_normals=mesh.normals,
        vertex_colors=mesh.colours,
        process=False,
        validate=False,
    )
    import numpy as np

    bounds = np.array([mesh.positions.min(axis=0), mesh.positions.max(axis=0)], dtype=np.float64)
    loaded._cache["bounds"] = bounds
    mark_sidedness(loaded, double_sided=double_sided)
    return loaded


def build_scene(models: list[LoadedModel]) -> LoadedScene:
    """Join the loaded models into one scene and compute its bounds (as the files place
    their nodes)."""
    import numpy as np

    boxes = [box for box in (model.bounds for model in models) if box is not None]
    bounds = None
    if boxes:
        corners = np.array(boxes)
        bounds = np.array([corners[:, 0].min(axis=0), corners[:, 1].max(axis=0)])
    return LoadedScene(models=tuple(models), bounds=bounds)


def _check_gltf_resources(url: str, path: Path) -> None:
    """A .gltf may name buffers and images in its own folder; refuse missing or outside ones."""
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"Could not load model {url!r}: it is not valid glTF JSON.") from exc
    if not isinstance(document, dict):
        raise ModelLoadError(f"Could not load model {url!r}: it is not a glTF document.")
    folder = path.parent.resolve()
    for uri in _external_uris(document):
        resource = (folder / unquote(uri)).resolve()
        if not resource.is_relative_to(folder) or not resource.is_file():
            raise ModelLoadError(
                f"Could not load model {url!r}: it refers to {uri!r}, which is not beside it "
                "(use a .glb, or a .gltf with embedded data: URIs, for downloaded models)."
            )


def _external_uris(document: dict[str, object]) -> list[str]:
    uris = []
    for key in ("buffers", "images"):
        entries = document.get(key)
        for entry in entries if isinstance(entries, list) else []:
            uri = entry.get("uri") if isinstance(entry, dict) else None
            if isinstance(uri, str) and not uri.startswith("data:"):
                uris.append(uri)
    return uris


def _describe(exc: Exception, path: Path) -> str:
    if isinstance(exc, MemoryError):
        return "it does not fit in this host's memory"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    detail = str(exc).strip().rstrip(".")
    if len(detail) > 200:
        detail = detail[:200] + "..."
    if not detail or isinstance(exc, LookupError):
        detail = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    kind = path.suffix.lstrip(".").upper()
    return f"it is not a valid {kind} file ({detail})"
