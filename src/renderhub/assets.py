"""The converted asset format (`.arrAsset`): what a conversion writes and a render host loads.

An asset holds what a host needs and nothing it would have to compute: vertices welded and
indexed, normals stored, one mesh per material (merged in world space), every vertex's colour
baked (from vertex colours, the base colour texture or the material's base colour), the
materials (base colour, texture embedded, sidedness, unlit), the scene graph's nodes and the
statistics. The host reads it with `np.frombuffer`, with no parsing or re-processing.

Layout, all little-endian: the magic `RHASSET\\0`, a uint32 format version, a uint32 header
length, a UTF-8 JSON header, zero padding to a 16-byte boundary, then the data section. The
header names each array by [offset, byte length] within the data section (offsets are 16-byte
aligned). numpy only: the converter and the host both import this module.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from renderhub.conversions.jobs import ASSET_SUFFIX

MAGIC = b"RHASSET\x00"
FORMAT_VERSION = 1
SUFFIX = ASSET_SUFFIX
SINGLE_SIDED = "SingleSided"  # a material's sidedness: back faces culled
DOUBLE_SIDED = "DoubleSided"
_PREFIX = struct.Struct("<8sII")
_ALIGN = 16

# name -> (dtype, columns): the arrays of one mesh; `uvs` may be absent.
_MESH_ARRAYS: dict[str, tuple[str, int]] = {
    "positions": ("<f4", 3),
    "normals": ("<f4", 3),
    "colours": ("u1", 4),
    "uvs": ("<f4", 2),
    "indices": ("<u4", 3),
}


class AssetFormatError(ValueError):
    """The bytes are not an asset this version can read (wrong magic, version, or damaged)."""


@dataclass(frozen=True, slots=True)
class AssetTexture:
    """A texture embedded in the asset: its source name and encoded image bytes (PNG/JPEG)."""

    name: str
    data: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class AssetMaterial:
    """`base_colour`: RGBA floats 0..1; `sidedness`: "SingleSided" or "DoubleSided"."""

    name: str
    base_colour: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    sidedness: str = DOUBLE_SIDED
    unlit: bool = False
    texture: AssetTexture | None = None

    def header(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "baseColour": list(self.base_colour),
            "sidedness": self.sidedness,
            "unlit": self.unlit,
        }


@dataclass(frozen=True, slots=True)
class AssetMesh:
    """All triangles of one material. `positions`, `normals`: float32 (N, 3); `colours`: uint8
    (N, 4) RGBA; `uvs`: float32 (N, 2) or None; `indices`: uint32 (F, 3) into the vertices."""

    material: int
    positions: np.ndarray
    normals: np.ndarray
    colours: np.ndarray
    indices: np.ndarray
    uvs: np.ndarray | None = None

    @property
    def triangles(self) -> int:
        return len(self.indices)

    @property
    def vertices(self) -> int:
        return len(self.positions)


@dataclass(frozen=True, slots=True)
class AssetNode:
    """A node of the source's scene graph: `parent` is an index into the nodes (-1 for a
    root) and `matrix` its local transform, 16 floats, row-major."""

    name: str
    parent: int = -1
    matrix: tuple[float, ...] = tuple(np.eye(4).ravel().tolist())


@dataclass(frozen=True, slots=True)
class Asset:
    meshes: tuple[AssetMesh, ...]
    materials: tuple[AssetMaterial, ...]
    nodes: tuple[AssetNode, ...] = (AssetNode("root"),)
    scene_graph_mode: str = "none"
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def triangles(self) -> int:
        return sum(mesh.triangles for mesh in self.meshes)

    @property
    def vertices(self) -> int:
        return sum(mesh.vertices for mesh in self.meshes)

    @property
    def bounds(self) -> np.ndarray | None:
        """[[min xyz], [max xyz]] of all vertices, or None when there are none."""
        filled = [mesh.positions for mesh in self.meshes if len(mesh.positions)]
        if not filled:
            return None
        lows = np.array([p.min(axis=0) for p in filled])
        highs = np.array([p.max(axis=0) for p in filled])
        return np.array([lows.min(axis=0), highs.max(axis=0)], dtype=np.float64)


def write_asset(asset: Asset, path: Path) -> int:
    """Write `asset` to `path`; returns the file's size in bytes."""
    data = _DataSection()
    meshes = [_mesh_header(mesh, data) for mesh in asset.meshes]
    materials = []
    for material in asset.materials:
        entry = material.header()
        if material.texture is not None:
            entry["texture"] = {
                "name": material.texture.name,
                "mimeType": material.texture.mime_type,
                "data": data.add(material.texture.data),
            }
        materials.append(entry)
    header = {
        "meshes": meshes,
        "materials": materials,
        "nodes": [
            {"name": node.name, "parent": node.parent, "matrix": list(node.matrix)}
            for node in asset.nodes
        ],
        "sceneGraphMode": asset.scene_graph_mode,
        "info": asset.info,
    }
    encoded = json.dumps(header, separators=(",", ":")).encode()
    prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(encoded))
    padding = -(len(prefix) + len(encoded)) % _ALIGN
    with path.open("wb") as out:
        out.write(prefix + encoded + bytes(padding))
        for chunk in data.chunks:
            out.write(chunk)
    return path.stat().st_size


def read_asset(path: Path) -> Asset:
    """Read an asset written by `write_asset`; AssetFormatError if it is not one."""
    return parse_asset(path.read_bytes())


def parse_asset(buffer: bytes) -> Asset:
    """The asset in `buffer`; its arrays are read-only views into `buffer` (no copies)."""
    if len(buffer) < _PREFIX.size:
        raise AssetFormatError("the file is too short to be an asset")
    magic, version, header_length = _PREFIX.unpack_from(buffer)
    if magic != MAGIC:
        raise AssetFormatError("the file is not a RenderHub asset (its magic number differs)")
    if version != FORMAT_VERSION:
        raise AssetFormatError(
            f"the asset has format version {version}; this RenderHub reads version "
            f"{FORMAT_VERSION} (convert the model again)"
        )
    header_end = _PREFIX.size + header_length
    try:
        header = json.loads(buffer[_PREFIX.size : header_end])
        data = memoryview(buffer)[header_end + (-header_end % _ALIGN) :]
        materials = tuple(_material(entry, data) for entry in header["materials"])
        meshes = tuple(_mesh(entry, data, len(materials)) for entry in header["meshes"])
        nodes = tuple(
            AssetNode(str(n["name"]), int(n["parent"]), tuple(float(x) for x in n["matrix"]))
            for n in header["nodes"]
        )
        return Asset(meshes, materials, nodes, str(header["sceneGraphMode"]), header["info"])
    except AssetFormatError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise AssetFormatError(f"the asset is damaged ({type(exc).__name__}: {exc})") from exc


class _DataSection:
    """The data section being built: chunks, each starting on a 16-byte boundary."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, payload: bytes) -> list[int]:
        offset = self.size
        self.chunks.append(payload)
        padding = -len(payload) % _ALIGN
        if padding:
            self.chunks.append(bytes(padding))
        self.size += len(payload) + padding
        return [offset, len(payload)]


def _mesh_header(mesh: AssetMesh, data: _DataSection) -> dict[str, Any]:
    arrays = {}
    for name, (dtype, columns) in _MESH_ARRAYS.items():
        array = getattr(mesh, name)
        if array is None:
            continue
        array = np.ascontiguousarray(array, dtype=dtype).reshape(-1, columns)
        arrays[name] = data.add(array.tobytes())
    return {
        "material": mesh.material,
        "vertexCount": mesh.vertices,
        "triangleCount": mesh.triangles,
        "arrays": arrays,
    }


def _mesh(entry: dict[str, Any], data: memoryview, material_count: int) -> AssetMesh:
    vertices, triangles = int(entry["vertexCount"]), int(entry["triangleCount"])
    rows = {"indices": triangles}
    arrays: dict[str, np.ndarray | None] = {"uvs": None}
    for name, location in entry["arrays"].items():
        dtype, columns = _MESH_ARRAYS[name]
        count = rows.get(name, vertices) * columns
        offset, length = int(location[0]), int(location[1])
        if length != count * np.dtype(dtype).itemsize or offset + length > len(data):
            raise AssetFormatError(f"the asset's {name} array is damaged")
        array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        arrays[name] = array.reshape(-1, columns)
    indices = arrays["indices"]
    if indices is not None and len(indices) and int(indices.max()) >= vertices:
        raise AssetFormatError("the asset's indices point past its vertices")
    material = int(entry["material"])
    if not 0 <= material < material_count:
        raise AssetFormatError("a mesh of the asset names a material it does not have")
    return AssetMesh(material=material, **arrays)  # type: ignore[arg-type]


def _material(entry: dict[str, Any], data: memoryview) -> AssetMaterial:
    texture = None
    if entry.get("texture"):
        spec = entry["texture"]
        offset, length = (int(x) for x in spec["data"])
        if offset + length > len(data):
            raise AssetFormatError("the asset's texture data is damaged")
        texture = AssetTexture(str(spec["name"]), bytes(data[offset : offset + length]),
                               str(spec["mimeType"]))  # fmt: skip
    colour = tuple(float(x) for x in entry["baseColour"])
    if len(colour) != 4:
        raise AssetFormatError("a material's base colour is not RGBA")
    return AssetMaterial(
        name=str(entry["name"]),
        base_colour=colour,  # type: ignore[arg-type]
        sidedness=str(entry["sidedness"]),
        unlit=bool(entry["unlit"]),
        texture=texture,
    )
