"""The .arrAsset format: what is written reads back the same, and anything else is refused
with a reason (never read past its arrays)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from renderhub.assets import (
    MAGIC,
    Asset,
    AssetFormatError,
    AssetMaterial,
    AssetMesh,
    AssetNode,
    AssetTexture,
    parse_asset,
    read_asset,
    write_asset,
)


def sample_asset() -> Asset:
    rng = np.random.default_rng(7)
    textured = AssetMesh(
        material=0,
        positions=rng.random((5, 3), dtype=np.float32),
        normals=rng.random((5, 3), dtype=np.float32),
        colours=rng.integers(0, 255, (5, 4), dtype=np.uint8),
        indices=np.array([[0, 1, 2], [2, 3, 4]], dtype=np.uint32),
        uvs=rng.random((5, 2), dtype=np.float32),
    )
    plain = AssetMesh(
        material=1,
        positions=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32),
        normals=np.tile(np.array([0, 0, 1], np.float32), (3, 1)),
        colours=np.full((3, 4), 200, np.uint8),
        indices=np.array([[0, 1, 2]], dtype=np.uint32),
    )
    return Asset(
        meshes=(textured, plain),
        materials=(
            AssetMaterial(
                "paint",
                (1, 0.5, 0.25, 1),
                "SingleSided",
                False,
                AssetTexture("paint.png", b"\x89PNG fake", "image/png"),
            ),
            AssetMaterial("glass", unlit=True),
        ),
        nodes=(AssetNode("root"), AssetNode("wheel", 0, tuple(float(x) for x in range(16)))),
        scene_graph_mode="dynamic",
        info={"source": "test"},
    )


def test_an_asset_reads_back_as_written(tmp_path: Path) -> None:
    asset = sample_asset()
    path = tmp_path / "a.arrAsset"
    size = write_asset(asset, path)
    assert size == path.stat().st_size and path.read_bytes().startswith(MAGIC)
    back = read_asset(path)
    assert (back.triangles, back.vertices) == (3, 8)
    for written, read in zip(asset.meshes, back.meshes, strict=True):
        for name in ("positions", "normals", "colours", "indices"):
            np.testing.assert_array_equal(getattr(read, name), getattr(written, name))
        assert (read.uvs is None) == (written.uvs is None)
    np.testing.assert_array_equal(back.meshes[0].uvs, asset.meshes[0].uvs)
    assert back.materials == asset.materials
    assert back.nodes == asset.nodes
    assert (back.scene_graph_mode, back.info) == ("dynamic", {"source": "test"})
    np.testing.assert_allclose(back.bounds, asset.bounds)


def test_arrays_are_views_not_copies(tmp_path: Path) -> None:
    path = tmp_path / "a.arrAsset"
    write_asset(sample_asset(), path)
    mesh = parse_asset(path.read_bytes()).meshes[0]
    assert not mesh.positions.flags.writeable  # a view into the file's bytes
    assert mesh.positions.ctypes.data % 16 == 0  # aligned


def damaged(tmp_path: Path, change: str) -> bytes:
    path = tmp_path / "a.arrAsset"
    asset = sample_asset()
    if change == "index":  # a triangle naming vertex 7 of a mesh with 3
        bad = AssetMesh(0, *(getattr(asset.meshes[1], n) for n in ("positions", "normals",
                        "colours")), indices=np.array([[0, 1, 7]], np.uint32))  # fmt: skip
        asset = Asset((bad,), asset.materials)
    write_asset(asset, path)
    data = bytearray(path.read_bytes())
    _magic, version, length = struct.unpack_from("<8sII", data)
    header = json.loads(data[16 : 16 + length])
    if change == "version":
        struct.pack_into("<I", data, 8, version + 1)
        return bytes(data)
    if change == "offset":
        header["meshes"][0]["arrays"]["positions"][0] = len(data)  # past the end
    elif change == "material":
        header["meshes"][0]["material"] = 5
    elif change == "missing":
        del header["meshes"][0]["arrays"]["normals"]
    section = data[16 + length + (-(16 + length) % 16) :]
    encoded = json.dumps(header).encode()
    prefix = struct.pack("<8sII", MAGIC, version, len(encoded)) + encoded
    return prefix + bytes(-len(prefix) % 16) + bytes(section)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("version", "format version 2; this RenderHub reads version 1"),
        ("index", "indices point past its vertices"),
        ("offset", "positions array is damaged"),
        ("material", "names a material it does not have"),
        ("missing", "the asset is damaged"),
    ],
)
def test_damaged_assets_are_refused(tmp_path: Path, change: str, words: str) -> None:
    with pytest.raises(AssetFormatError, match=words):
        parse_asset(damaged(tmp_path, change))


def test_other_files_are_refused() -> None:
    with pytest.raises(AssetFormatError, match="too short"):
        parse_asset(b"RH")
    with pytest.raises(AssetFormatError, match="not a RenderHub asset"):
        parse_asset(b"glTF" + bytes(40))
