"""Test models written here, so each test knows exactly what it converts: a glTF whose
geometry is in an external .bin and whose base colour texture is an external .png."""

from __future__ import annotations

import io
import json

import numpy as np
import trimesh
from PIL import Image

RED_TEXTURE_RGBA = (200, 30, 40, 255)


def box_gltf(
    name: str = "box", texture: str = "paint.png", buffer: str = "box.bin", copies: int = 1
) -> dict[str, bytes]:
    """Files of a textured box (12 triangles, 24 vertices with normals and UVs): `<name>.gltf`,
    the buffer and the texture (a solid red 4x4 PNG), by file name. With `copies`, that many
    boxes side by side, each a node with a mesh and a material of its own (all alike)."""
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    box.unmerge_vertices()
    corners = box.faces.ravel()
    positions = np.asarray(box.vertices, dtype=np.float32)
    normals = np.repeat(box.face_normals, 3, axis=0).astype(np.float32)[np.argsort(corners)]
    uvs = (positions[:, :2] * 0.25 + 0.5).astype(np.float32)
    indices = np.asarray(box.faces, dtype=np.uint32).ravel()
    # a box that is not centred, so recentring has something to do
    positions = positions + np.array([10.0, 0.0, 0.0], dtype=np.float32)
    blobs = [positions.tobytes(), normals.tobytes(), uvs.tobytes(), indices.tobytes()]
    offsets = np.cumsum([0] + [len(b) for b in blobs[:-1]]).tolist()
    document = {
        "asset": {"version": "2.0", "generator": "renderhub tests"},
        "scene": 0,
        "scenes": [{"nodes": list(range(copies))}],
        "nodes": [{"name": f"box{i}" if i else "box", "mesh": i, "translation": [0, 0, 2.0 * i]}
                  for i in range(copies)],
        "meshes": [{"primitives": [{
            "attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2},
            "indices": 3, "material": i}]} for i in range(copies)],
        "materials": [{"name": f"paint{i}" if i else "paint", "pbrMetallicRoughness": {
            "baseColorTexture": {"index": 0}, "baseColorFactor": [1, 1, 1, 1]}}
            for i in range(copies)],
        "textures": [{"source": 0}],
        "images": [{"uri": texture}],
        "buffers": [{"uri": buffer, "byteLength": sum(len(b) for b in blobs)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": offset, "byteLength": len(blob)}
            for offset, blob in zip(offsets, blobs, strict=True)
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(positions), "type": "VEC3",
             "min": positions.min(axis=0).tolist(), "max": positions.max(axis=0).tolist()},
            {"bufferView": 1, "componentType": 5126, "count": len(normals), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5126, "count": len(uvs), "type": "VEC2"},
            {"bufferView": 3, "componentType": 5125, "count": len(indices), "type": "SCALAR"},
        ],
    }  # fmt: skip
    return {
        f"{name}.gltf": json.dumps(document).encode(),
        buffer: b"".join(blobs),
        texture: solid_png(RED_TEXTURE_RGBA),
    }


def solid_png(rgba: tuple[int, int, int, int]) -> bytes:
    encoded = io.BytesIO()
    Image.new("RGBA", (4, 4), rgba).save(encoded, format="PNG")
    return encoded.getvalue()


def glb_of(mesh: trimesh.Trimesh) -> bytes:
    return bytes(trimesh.Scene(mesh).export(file_type="glb"))
