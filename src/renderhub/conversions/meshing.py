"""From a model file to an asset: load it with trimesh, apply the conversion settings, weld
each mesh, bake its colours, and merge everything that shares a material into one mesh.

The settings act as in ARR: `axis` maps source axes to output axes (a mirror flips the
triangles' winding), `scaling` multiplies, `recenterToOrigin` moves the bounding box's centre
to the origin, `gammaToLinear*` turn sRGB colours linear, `unlitMaterials` and
`opaqueMaterialDefaultSidedness` set the materials, `sceneGraphMode` decides whether the
source's nodes are kept (geometry is always stored in world space, merged per material).
"""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from renderhub.assets import (
    DOUBLE_SIDED,
    Asset,
    AssetMaterial,
    AssetMesh,
    AssetNode,
    AssetTexture,
)
from renderhub.conversions.settings_file import ConversionSettings, axis_source
from renderhub.host.runtime.vertex_data import area_weighted_normals, rgba_rows

NEUTRAL_GREY = (180 / 255, 180 / 255, 180 / 255, 1.0)


class ModelReadError(Exception):
    """The model cannot be read or holds nothing to convert; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ConversionWarning:
    """A problem that does not stop the conversion, in ARR's result-file terms."""

    code: str
    title: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Meshed:
    """The asset made from a model, with what the info file reports about its input."""

    asset: Asset
    input_statistics: dict[str, Any]
    input_info: dict[str, Any]
    recentering_offset: tuple[float, float, float]
    warnings: tuple[ConversionWarning, ...]


def convert_model(path: Path, name: str, settings: ConversionSettings) -> Meshed:
    """Load the model at `path` (named `name` in messages) and build its asset (blocking)."""
    warnings: list[ConversionWarning] = []
    scene = load_scene(path, name, warnings)
    statistics = input_statistics(scene)
    parts = _world_parts(scene, settings, warnings)
    if not parts:
        raise ModelReadError(f"The model '{name}' holds no triangles to convert.")
    offset = _recentre(parts) if settings.recenter_to_origin else np.zeros(3)
    asset = _merge_by_material(parts, scene, settings)
    info = {"sourceAssetExtension": path.suffix.lower(), "sourceAssetName": name}
    return Meshed(
        asset=asset,
        input_statistics=statistics,
        input_info=info,
        recentering_offset=tuple(float(x) for x in offset),  # type: ignore[arg-type]
        warnings=tuple(warnings),
    )


def load_scene(path: Path, name: str, warnings: list[ConversionWarning]) -> Any:
    """trimesh's scene of the model, unprocessed (welding is done here, faster). Missing
    textures (and an OBJ's missing material files) become warnings; a glTF's missing buffers
    are an error."""
    import trimesh

    if path.suffix.lower() == ".gltf":
        path = _gltf_without_missing_images(path, name, warnings)
    elif path.suffix.lower() == ".obj":
        warnings.extend(_obj_missing_files(path, name))
    try:
        return trimesh.load_scene(path, process=False)
    except Exception as exc:
        kind = path.suffix.lstrip(".").upper()
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelReadError(
            f"The model '{name}' could not be read: it is not a valid {kind} file ({detail}). "
            "Check that it opens in a 3D tool and export it again."
        ) from exc


def _gltf_without_missing_images(path: Path, name: str, warnings: list[ConversionWarning]) -> Path:
    """A copy of the .gltf beside it whose missing images are a white pixel (a warning each);
    a missing or outside buffer fails the conversion."""
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelReadError(f"The model '{name}' is not valid glTF JSON ({exc}).") from exc
    if not isinstance(document, dict):
        raise ModelReadError(f"The model '{name}' is not a glTF document.")
    folder = path.parent.resolve()
    for buffer in _entries(document, "buffers"):
        uri = buffer.get("uri")
        if isinstance(uri, str) and not uri.startswith("data:") and not _beside(folder, uri):
            raise ModelReadError(
                f"The model '{name}' needs the buffer '{uri}', which is not in the input "
                "beside it; upload it next to the model (under the same blob prefix)."
            )
    patched = False
    for image in _entries(document, "images"):
        uri = image.get("uri")
        if isinstance(uri, str) and not uri.startswith("data:") and not _beside(folder, uri):
            warnings.append(
                ConversionWarning("4004", "Missing texture", {"texture": uri, "model": name})
            )
            image["uri"] = _white_pixel_png()
            patched = True
    if not patched:
        return path
    copy = path.with_name(f".{path.stem}.patched.gltf")
    copy.write_text(json.dumps(document))
    return copy


def _white_pixel_png() -> str:
    """A data: URI of an opaque white 1x1 PNG: a missing texture then leaves the material's
    colour as it is."""
    from PIL import Image

    encoded = io.BytesIO()
    Image.new("RGBA", (1, 1), (255, 255, 255, 255)).save(encoded, format="PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.getvalue()).decode()


_MTLLIB = re.compile(rb"^[ \t]*mtllib[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_TEXTURE_MAP = re.compile(
    rb"^[ \t]*(?:map_Kd|map_Ka|map_Ks|map_Bump|map_bump|bump|map_d|norm)[ \t]+(.+?)[ \t]*$",
    re.MULTILINE,
)


def _obj_missing_files(path: Path, name: str) -> list[ConversionWarning]:
    """An OBJ's material libraries and their textures that are not beside it (trimesh goes
    on without them, so the user is told here)."""
    folder = path.parent.resolve()
    warnings = []
    for match in _MTLLIB.finditer(path.read_bytes()):
        library = match.group(1).decode(errors="replace")
        if not _beside(folder, library):
            details = {"materialLibrary": library, "model": name}
            warnings.append(ConversionWarning("4005", "Missing material library", details))
            continue
        for texture in _TEXTURE_MAP.finditer((folder / library).read_bytes()):
            file = texture.group(1).decode(errors="replace").split()[-1]  # options come first
            if not _beside(folder, file):
                details = {"texture": file, "materialLibrary": library, "model": name}
                warnings.append(ConversionWarning("4004", "Missing texture", details))
    return warnings


def _entries(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = document.get(key)
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _beside(folder: Path, uri: str) -> bool:
    resource = (folder / unquote(uri)).resolve()
    return resource.is_relative_to(folder) and resource.is_file()


def input_statistics(scene: Any) -> dict[str, Any]:
    """What ARR's info file reports about the input, before any setting is applied."""
    import trimesh

    meshes = [g for g in scene.geometry.values() if isinstance(g, trimesh.Trimesh)]
    materials = {id(getattr(m.visual, "material", None)) for m in meshes}
    bounds = scene.bounds if len(scene.geometry) else None
    return {
        "numMeshes": len(meshes),
        "numFaces": int(sum(len(m.faces) for m in meshes)),
        "numVertices": int(sum(len(m.vertices) for m in meshes)),
        "numMaterials": len(materials),
        "numNodes": len(scene.graph.nodes),
        "numMeshUsagesInScene": len(scene.graph.nodes_geometry),
        "boundingBox": bounding_box(bounds),
    }


def bounding_box(bounds: np.ndarray | None) -> dict[str, list[float]] | None:
    if bounds is None:
        return None
    return {"min": [float(x) for x in bounds[0]], "max": [float(x) for x in bounds[1]]}


@dataclass(slots=True)
class _Part:
    """One mesh instance in output space, welded, before merging by material."""

    material: Any
    positions: np.ndarray
    normals: np.ndarray
    colours: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None


def _world_parts(
    scene: Any, settings: ConversionSettings, warnings: list[ConversionWarning]
) -> list[_Part]:
    import trimesh

    output_basis = _output_basis(settings)
    parts = []
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        mesh = scene.geometry[geometry_name]
        if not isinstance(mesh, trimesh.Trimesh):
            warnings.append(
                ConversionWarning(
                    "4010", "Geometry skipped", {"node": str(node), "kind": type(mesh).__name__}
                )
            )
            continue
        if len(mesh.faces) and len(mesh.vertices):
            parts.append(_part(mesh, output_basis @ np.asarray(transform), settings))
    return parts


def _output_basis(settings: ConversionSettings) -> np.ndarray:
    """4x4: the `axis` mapping, then the `scaling`."""
    basis = np.zeros((4, 4))
    for index, name in enumerate(settings.axis):
        source, sign = axis_source(name, index)
        basis[index, source] = sign * settings.scaling
    basis[3, 3] = 1.0
    return basis


def _part(mesh: Any, transform: np.ndarray, settings: ConversionSettings) -> _Part:
    linear = transform[:3, :3]
    positions = np.asarray(mesh.vertices, dtype=np.float64) @ linear.T + transform[:3, 3]
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if np.linalg.det(linear) < 0:  # a mirror: keep the triangles facing outwards
        faces = faces[:, ::-1]
    source_normals = _source_normals(mesh)
    colours, uvs = _colours_and_uvs(mesh, settings)
    if colours.shape[0] != len(positions):  # per-face colours: one vertex per corner
        positions, faces, source_normals, uvs, colours = _unmerge(
            positions, faces, source_normals, uvs, colours
        )
    positions, normals, colours, faces, uvs = _weld(positions, source_normals, colours, faces, uvs)
    if normals is None:
        normals = area_weighted_normals(positions, faces)
    else:
        normal_matrix = np.linalg.inv(linear).T
        normals = normals @ normal_matrix.T
        lengths = np.linalg.norm(normals, axis=1, keepdims=True)
        np.divide(normals, lengths, out=normals, where=lengths > 0)
    material = getattr(mesh.visual, "material", None)
    return _Part(material, positions, normals.astype(np.float32), colours, faces, uvs)


def _material_key(material: Any, settings: ConversionSettings) -> object:
    """What groups meshes into one: the material's content with deduplicateMaterials (two
    materials alike merge), else the material itself."""
    if material is None:
        return "default"
    if not settings.deduplicate_materials:
        return id(material)
    data = getattr(material, "_data", None)  # a PBR material's properties, by name
    if not isinstance(data, dict):
        return hash(material)
    properties = tuple(
        (key, np.asanyarray(value).tobytes())  # a texture's pixels too
        for key, value in sorted(data.items())
        if value is not None and key != "name"
    )
    return hash((type(material).__name__, properties))


def _source_normals(mesh: Any) -> np.ndarray | None:
    """The file's own vertex normals, if it had any (never computed here: that is slow)."""
    cache = getattr(mesh, "_cache", None)
    if cache is not None and "vertex_normals" in cache:
        normals = np.asarray(mesh.vertex_normals, dtype=np.float64)
        if normals.shape == (len(mesh.vertices), 3):
            return normals
    return None


def _colours_and_uvs(
    mesh: Any, settings: ConversionSettings
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-vertex RGBA uint8 (or per-face, when the colours are per face) and the UVs."""
    visual = mesh.visual
    kind = getattr(visual, "kind", None)
    count = len(mesh.vertices)
    if kind == "vertex":
        colours = rgba_rows(visual.vertex_colors)
        return _linear(colours, settings.gamma_to_linear_vertex), None
    if kind == "face":
        colours = rgba_rows(visual.face_colors)
        if (colours == colours[0]).all():
            return _linear(_repeat(colours[0], count), settings.gamma_to_linear_vertex), None
        return _linear(colours, settings.gamma_to_linear_vertex), None
    material = getattr(visual, "material", None)
    uv = getattr(visual, "uv", None)
    uvs = np.asarray(uv, dtype=np.float32) if uv is not None and len(uv) == count else None
    sampled = None
    if uvs is not None and _texture_image(material) is not None:
        sampled = _sampled(material, uvs)
    if sampled is None:
        sampled = _repeat(rgba_rows(_base_colour(material))[0], count)
    return _linear(sampled, settings.gamma_to_linear_material), uvs


def _sampled(material: Any, uvs: np.ndarray) -> np.ndarray | None:
    try:
        colours = rgba_rows(material.to_color(uvs))
    except Exception:  # a texture trimesh cannot sample: the material's colour instead
        return None
    return colours if len(colours) == len(uvs) else None


def _texture_image(material: Any) -> Any:
    for name in ("baseColorTexture", "image"):
        image = getattr(material, name, None)
        if image is not None:
            return image
    return None


def _base_colour(material: Any) -> Any:
    for name in ("baseColorFactor", "diffuse"):
        value = getattr(material, name, None)
        if value is not None:
            return value
    return NEUTRAL_GREY


def _repeat(colour: np.ndarray, count: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(colour, (count, 4)))


def _linear(colours: np.ndarray, convert: bool) -> np.ndarray:
    """sRGB -> linear on the RGB channels when asked (gammaToLinear*); alpha unchanged."""
    if not convert:
        return colours
    table = np.rint(srgb_to_linear(np.arange(256) / 255.0) * 255.0).astype(np.uint8)
    result = colours.copy()
    result[:, :3] = table[colours[:, :3]]
    return result


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def _unmerge(
    positions: np.ndarray,
    faces: np.ndarray,
    normals: np.ndarray | None,
    uvs: np.ndarray | None,
    face_colours: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray]:
    corners = faces.ravel()
    return (
        positions[corners],
        np.arange(len(corners), dtype=np.int64).reshape(-1, 3),
        None if normals is None else normals[corners],
        None if uvs is None else uvs[corners],
        np.repeat(face_colours, 3, axis=0),
    )


def _weld(
    positions: np.ndarray,
    normals: np.ndarray | None,
    colours: np.ndarray,
    faces: np.ndarray,
    uvs: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray | None]:
    """Merge vertices identical in every attribute (as stored: float32 positions), drop
    unused ones, and index the faces into what is left."""
    floats = [a for a in (positions, normals, uvs) if a is not None]
    columns = [_as_key_bytes(array) for array in floats]
    columns.append(colours)
    rows = np.ascontiguousarray(np.hstack(columns))
    used = np.flatnonzero(np.bincount(faces.ravel(), minlength=len(positions)))
    first, inverse = unique_rows(rows[used])
    remap = np.empty(len(positions), dtype=np.int64)
    remap[used] = inverse
    keep = used[first]
    return (
        positions[keep],
        None if normals is None else normals[keep],
        colours[keep],
        remap[faces],
        None if uvs is None else uvs[keep],
    )


_MIX = np.uint64(0x9E3779B97F4A7C15)  # an odd 64-bit constant (the golden ratio's bits)


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For byte rows (N, B): the index of each distinct row's first copy, and for every row
    the position of its distinct row among those. Rows are hashed to 64 bits and sorted as
    integers (sorting raw bytes takes ~10x longer); a hash collision is caught by comparing
    the rows, and then the exact, slower sort is used."""
    words = _as_words(rows)
    hashes = np.zeros(len(rows), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in words.T:
            hashes = (hashes ^ column.astype(np.uint64)) * _MIX
            hashes ^= hashes >> np.uint64(29)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if np.array_equal(rows[first][inverse], rows):
        return first, inverse
    keys = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _as_words(rows: np.ndarray) -> np.ndarray:
    """Byte rows as uint32 columns (padded with zero bytes to a multiple of 4)."""
    padding = -rows.shape[1] % 4
    if padding:
        rows = np.hstack([rows, np.zeros((len(rows), padding), dtype=np.uint8)])
    return np.ascontiguousarray(rows).view(np.uint32)


def _as_key_bytes(array: np.ndarray) -> np.ndarray:
    """The float32 bytes of each row; -0.0 counts as 0.0 (adding 0.0 makes it so)."""
    values = np.ascontiguousarray(array, dtype=np.float32) + np.float32(0.0)
    return values.view(np.uint8).reshape(len(array), -1)


def _recentre(parts: list[_Part]) -> np.ndarray:
    lows = np.array([p.positions.min(axis=0) for p in parts]).min(axis=0)
    highs = np.array([p.positions.max(axis=0) for p in parts]).max(axis=0)
    offset = -(lows + highs) / 2.0
    for part in parts:
        part.positions = part.positions + offset
    return offset


def _merge_by_material(parts: list[_Part], scene: Any, settings: ConversionSettings) -> Asset:
    keys: dict[int, object] = {}  # one key per material object, however often it is used
    groups: dict[object, list[_Part]] = {}
    for part in parts:
        if id(part.material) not in keys:
            keys[id(part.material)] = _material_key(part.material, settings)
        groups.setdefault(keys[id(part.material)], []).append(part)
    meshes, materials = [], []
    for index, group in enumerate(groups.values()):
        materials.append(_asset_material(group[0].material, index, settings))
        meshes.append(_merged_mesh(group, index))
    return Asset(
        meshes=tuple(meshes),
        materials=tuple(materials),
        nodes=_nodes(scene, settings.scene_graph_mode),
        scene_graph_mode=settings.scene_graph_mode,
    )


def _merged_mesh(group: list[_Part], material: int) -> AssetMesh:
    offsets = np.cumsum([0] + [len(p.positions) for p in group[:-1]])
    if offsets[-1] + len(group[-1].positions) > np.iinfo(np.uint32).max:
        raise ModelReadError(
            "The model has more vertices in one material than 32-bit indices allow."
        )
    with_uvs = all(p.uvs is not None for p in group)
    return AssetMesh(
        material=material,
        positions=np.concatenate([p.positions for p in group]).astype(np.float32),
        normals=np.concatenate([p.normals for p in group]).astype(np.float32),
        colours=np.concatenate([p.colours for p in group]),
        indices=np.concatenate([p.faces + o for p, o in zip(group, offsets, strict=True)]).astype(
            np.uint32
        ),
        uvs=np.concatenate([p.uvs for p in group]) if with_uvs else None,  # type: ignore[misc]
    )


def _asset_material(material: Any, index: int, settings: ConversionSettings) -> AssetMaterial:
    colour: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    name = "default"
    if material is not None:
        name = str(getattr(material, "name", None) or f"material{index}")
        rgba = rgba_rows(_base_colour(material))
        if settings.gamma_to_linear_material:
            rgba = _linear(rgba, True)
        colour = tuple(float(x) / 255.0 for x in rgba[0])
    double_sided = bool(getattr(material, "doubleSided", False))
    sidedness = DOUBLE_SIDED if double_sided else settings.opaque_material_default_sidedness
    return AssetMaterial(
        name=name,
        base_colour=colour,  # type: ignore[arg-type]
        sidedness=sidedness,
        unlit=settings.unlit_materials,
        texture=_embedded_texture(material, name),
    )


def _embedded_texture(material: Any, name: str) -> AssetTexture | None:
    image = _texture_image(material)
    if image is None or not hasattr(image, "save"):
        return None
    encoded = io.BytesIO()
    image.save(encoded, format="PNG")
    return AssetTexture(f"{name}_baseColor.png", encoded.getvalue(), "image/png")


def _nodes(scene: Any, mode: str) -> tuple[AssetNode, ...]:
    """`none`: one root; `static`/`dynamic`: the source's nodes, parents and local matrices."""
    if mode == "none":
        return (AssetNode("root"),)
    names = list(scene.graph.nodes)
    index = {name: position for position, name in enumerate(names)}
    parents: dict[Any, Any] = scene.graph.transforms.parents
    edges: dict[Any, Any] = scene.graph.transforms.edge_data
    nodes = []
    for name in names:
        parent = parents.get(name)
        matrix = edges.get((parent, name), {}).get("matrix") if parent is not None else None
        local = np.eye(4) if matrix is None else np.asarray(matrix, dtype=np.float64)
        nodes.append(
            AssetNode(str(name), index.get(parent, -1), tuple(float(x) for x in local.ravel()))
        )
    return tuple(nodes)
