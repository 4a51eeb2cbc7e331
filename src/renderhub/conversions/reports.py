"""The two files a conversion writes beside its asset, as ARR does: `<name>.result.json` (the
warnings, the error if any, and the result) and `<name>.info.json` (what was converted, with
which settings, and statistics of the input and the output)."""

from __future__ import annotations

import json
from typing import Any

from renderhub import __version__
from renderhub.assets import FORMAT_VERSION, Asset
from renderhub.conversions.meshing import ConversionWarning, bounding_box


def result_entries(
    conversion_id: str,
    warnings: tuple[ConversionWarning, ...] | list[ConversionWarning],
    error: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """ARR's result file: the conversion id, one entry per warning, at most one error
    (`(code, message)`), and always a last `{"result": ...}`."""
    entries: list[dict[str, Any]] = [{"conversionId": conversion_id}]
    for warning in warnings:
        entry: dict[str, Any] = {"warning": warning.code, "title": warning.title}
        if warning.details:
            entry["details"] = dict(warning.details)
        entries.append(entry)
    if error is not None:
        code, message = error
        entries.append({"error": code, "title": message})
        result = "failed"
    else:
        result = "succeeded with warnings" if warnings else "succeeded"
    entries.append({"result": result})
    return entries


def info_document(
    *,
    input_file: str,
    output_file: str,
    settings: dict[str, Any],
    input_info: dict[str, Any],
    input_statistics: dict[str, Any],
    asset: Asset,
    asset_bytes: int,
    recentering_offset: tuple[float, float, float],
) -> dict[str, Any]:
    """ARR's info file for a converted asset."""
    return {
        "files": {"input": input_file, "output": output_file},
        "conversionSettings": settings,
        "inputInfo": input_info,
        "inputStatistics": input_statistics,
        "outputInfo": {
            "conversionToolVersion": f"renderhub {__version__}",
            "assetFormatVersion": FORMAT_VERSION,
            "sizeInBytes": asset_bytes,
        },
        "outputStatistics": {
            "numMeshes": len(asset.meshes),
            "numFaces": asset.triangles,
            "numVertices": asset.vertices,
            "numMaterials": len(asset.materials),
            "numNodes": len(asset.nodes),
            "recenteringOffset": list(recentering_offset),
            "boundingBox": bounding_box(asset.bounds),
        },
    }


def encode(document: object) -> bytes:
    return json.dumps(document, indent=2).encode() + b"\n"
