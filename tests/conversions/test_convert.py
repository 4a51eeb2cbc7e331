"""convert() end to end on a real Azurite and on local folders: the asset, its info and result
files, and every failure a user can cause, each Failed with a sentence saying what to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from renderhub.assets import parse_asset
from renderhub.conversions.converter import convert
from renderhub.conversions.jobs import (
    ConversionJob,
    ConversionLimits,
    ConversionOutcome,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)
from tests.azurite import Azurite
from tests.conversions.models import RED_TEXTURE_RGBA, box_gltf

SETTINGS = {
    "scaling": 2,
    "recenterToOrigin": True,
    "axis": ["+x", "+z", "-y"],
    "sceneGraphMode": "none",
    "unlitMaterials": True,
    "opaqueMaterialDefaultSidedness": "SingleSided",
}


def limits(allowed: str, **changes: Any) -> ConversionLimits:
    values: dict[str, Any] = {
        "allowed_storage": (allowed,),
        "max_input_bytes": 10 << 20,
        "max_output_bytes": 10 << 20,
        "storage_timeout_seconds": 30.0,
        "timeout_seconds": 120.0,
    }
    values.update(changes)
    return ConversionLimits(**values)


class BlobCase:
    """An input container holding the box under `cars/`, an output container, and SAS."""

    def __init__(self, azurite: Azurite, settings: dict[str, Any] | None = SETTINGS) -> None:
        self.azurite = azurite
        self.source = azurite.create_container()
        self.target = azurite.create_container()
        files = box_gltf()
        if settings is not None:
            files["box.ConversionSettings.json"] = json.dumps(settings).encode()
        for name, data in files.items():
            azurite.upload(self.source, f"cars/{name}", data)
        azurite.upload(self.source, "elsewhere/unrelated.bin", bytes(1000))

    def job(
        self,
        *,
        read: str = "rl",
        write: str = "w",
        model: str = "box.gltf",
        prefix: str = "cars/",
        out_prefix: str = "out/",
    ) -> ConversionJob:
        return ConversionJob(
            conversion_id="conv-1",
            input=InputLocation(
                self.source, model, prefix, "?" + self.azurite.sas(self.source, read)
            ),
            output=OutputLocation(
                self.target, "box.arrAsset", out_prefix, self.azurite.sas(self.target, write)
            ),
        )

    def run(self, **changes: Any) -> ConversionOutcome:
        names = ("read", "write", "model", "prefix", "out_prefix")
        job_args = {k: changes.pop(k) for k in names if k in changes}
        return convert(self.job(**job_args), limits(self.azurite.account_url + "/", **changes))

    def output(self, name: str) -> bytes:
        return self.azurite.download(self.target, f"out/{name}")

    def result(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = json.loads(self.output("box.result.json"))
        return entries


def test_converts_a_gltf_with_its_files_and_settings_on_azurite(azurite: Azurite) -> None:
    case = BlobCase(azurite)
    outcome = case.run()
    assert outcome.status is ConversionStatus.SUCCEEDED, outcome.error_message
    assert outcome.output_asset_uri == f"{case.target}/out/box.arrAsset"  # no SAS in it
    assert azurite.names(case.target) == ["out/box.arrAsset", "out/box.info.json",
                                          "out/box.result.json"]  # fmt: skip
    asset = parse_asset(case.output("box.arrAsset"))
    assert (asset.triangles, asset.vertices) == (12, 24)  # welded: 4 corners per box side
    # extents (2, 1, 0.5) scaled by 2, y and z swapped, centred on the origin
    np.testing.assert_allclose(asset.bounds, [[-2, -0.5, -1], [2, 0.5, 1]], atol=1e-6)
    (material,) = asset.materials
    assert (material.unlit, material.sidedness) == (True, "SingleSided")
    assert material.texture is not None and material.texture.data.startswith(b"\x89PNG")
    assert (asset.meshes[0].colours == RED_TEXTURE_RGBA).all()  # baked from the texture
    assert case.result() == [{"conversionId": "conv-1"}, {"result": "succeeded"}]
    info = json.loads(case.output("box.info.json"))
    assert info["files"] == {"input": "box.gltf", "output": "box.arrAsset"}
    assert info["conversionSettings"]["axis"] == ["+x", "+z", "-y"]
    assert info["inputStatistics"] == {
        "numMeshes": 1, "numFaces": 12, "numVertices": 36, "numMaterials": 1, "numNodes": 2,
        "numMeshUsagesInScene": 1,
        "boundingBox": {"min": [9.0, -0.5, -0.25], "max": [11.0, 0.5, 0.25]},
    }  # fmt: skip
    output = info["outputStatistics"]
    assert (output["numFaces"], output["numVertices"], output["numNodes"]) == (12, 24, 1)
    assert output["recenteringOffset"] == [-20.0, 0.0, 0.0]
    assert output["boundingBox"]["max"] == pytest.approx([2, 0.5, 1])
    assert sorted(info["inputInfo"]["files"]) == [
        "cars/box.ConversionSettings.json",
        "cars/box.bin",
        "cars/box.gltf",
        "cars/paint.png",
    ]  # fmt: skip  (nothing outside the blob prefix)


def test_blob_prefixes_are_virtual_folders(azurite: Azurite) -> None:
    case = BlobCase(azurite)
    outcome = case.run(prefix="cars", out_prefix="out")  # no trailing '/': the same folders
    assert outcome.output_asset_uri == f"{case.target}/out/box.arrAsset", outcome.error_message
    assert case.result()[-1] == {"result": "succeeded"}


def test_converts_between_local_folders_and_warns_of_a_missing_texture(tmp_path: Path) -> None:
    source, target = tmp_path / "in", tmp_path / "out"
    (source / "box").mkdir(parents=True)
    target.mkdir()
    for name, data in box_gltf().items():
        if name != "paint.png":
            (source / "box" / name).write_bytes(data)
    job = ConversionJob(
        "conv-2",
        InputLocation(source.as_uri(), "box/box.gltf"),
        OutputLocation(target.as_uri(), "box.arrAsset"),
    )
    outcome = convert(job, limits(tmp_path.as_uri() + "/"))
    assert outcome.status is ConversionStatus.SUCCEEDED, outcome.error_message
    assert outcome.output_asset_uri == (target / "box.arrAsset").as_uri()
    result = json.loads((target / "box.result.json").read_text())
    assert result[1] == {
        "warning": "4004",
        "title": "Missing texture",
        "details": {"texture": "paint.png", "model": "box/box.gltf"},
    }
    assert result[-1] == {"result": "succeeded with warnings"}
    asset = parse_asset((target / "box.arrAsset").read_bytes())
    assert asset.triangles == 12 and asset.materials[0].sidedness == "DoubleSided"  # defaults


def failed(outcome: ConversionOutcome, code: str = "BadRequest") -> str:
    assert outcome.status is ConversionStatus.FAILED
    assert outcome.error_code == code
    assert outcome.output_asset_uri is None
    assert outcome.error_message
    return outcome.error_message


def test_a_missing_input_model(azurite: Azurite) -> None:
    case = BlobCase(azurite)
    message = failed(case.run(model="truck.glb"))
    assert message == (
        f"The input model 'truck.glb' does not exist in {case.source} under the blob prefix "
        "'cars/'; check relativeInputAssetPath and blobPrefix."
    )
    assert case.result()[-2:] == [{"error": "BadRequest", "title": message}, {"result": "failed"}]


def test_an_input_sas_that_cannot_list(azurite: Azurite) -> None:
    case = BlobCase(azurite)
    message = failed(case.run(read="r"))
    assert "the input SAS must allow read and list (sp=rl)" in message
    assert "sig=" not in message
    assert case.result()[-2]["title"] == message


def test_an_output_sas_that_cannot_write(azurite: Azurite) -> None:
    case = BlobCase(azurite)
    message = failed(case.run(write="rl"))
    assert "the output SAS must allow write (sp=w" in message
    assert azurite.names(case.target) == []  # nothing could be written, not even the result


def test_a_corrupt_model(azurite: Azurite) -> None:
    case = BlobCase(azurite, settings=None)
    azurite.upload(case.source, "cars/broken.glb", b"glTF not really a binary glTF at all")
    message = failed(case.run(model="broken.glb"))
    assert message.startswith("The model 'broken.glb' could not be read: it is not a valid GLB")
    assert case.result()[-2]["title"] == message


def test_an_invalid_settings_file(azurite: Azurite) -> None:
    case = BlobCase(azurite, settings={"scaling": -1})
    message = failed(case.run())
    assert message.startswith(
        "The settings file 'box.ConversionSettings.json' is not valid: 'scaling' is not valid"
    )


def test_over_the_input_size_limit(azurite: Azurite) -> None:
    message = failed(BlobCase(azurite).run(max_input_bytes=1000))
    assert "larger than the limit of 1,000 bytes" in message
    assert "blob prefix that holds only this model's files" in message


def test_over_the_output_size_limit(azurite: Azurite) -> None:
    message = failed(BlobCase(azurite).run(max_output_bytes=100))
    assert message.startswith("The converted asset is ")
    assert "more than the limit of 100 bytes" in message


def test_past_the_storage_time_limit(azurite: Azurite) -> None:
    case = BlobCase(azurite)
    azurite.upload(case.source, "cars/zz-big.bin", bytes(12 << 20))
    message = failed(case.run(storage_timeout_seconds=0.001, max_input_bytes=1 << 30))
    assert "took longer than the limit of 0.001 seconds" in message


def test_past_the_conversion_time_limit(azurite: Azurite) -> None:
    message = failed(BlobCase(azurite).run(timeout_seconds=0.0001))
    assert message.startswith("The conversion took longer than the limit of 0.0001 seconds")


def test_storage_the_operator_did_not_allow(azurite: Azurite) -> None:
    case = BlobCase(azurite)
    outcome = convert(case.job(), limits("https://elsewhere.blob.core.windows.net/"))
    assert "--allow-storage" in failed(outcome)
    assert azurite.names(case.target) == []


def test_an_input_the_operator_did_not_allow_is_reported_in_the_output(
    azurite: Azurite, tmp_path: Path
) -> None:
    case = BlobCase(azurite)
    job = case.job()
    elsewhere = InputLocation((tmp_path / "in").as_uri(), "box.glb")  # not under the prefix
    outcome = convert(ConversionJob("conv-1", elsewhere, job.output),
                      limits(azurite.account_url + "/"))  # fmt: skip
    message = failed(outcome)
    assert "'settings.inputLocation.storageContainerUri'" in message and "not allowed" in message
    assert case.result()[-2:] == [{"error": "BadRequest", "title": message}, {"result": "failed"}]


def test_fbx_is_refused_with_what_to_do(azurite: Azurite) -> None:
    case = BlobCase(azurite, settings=None)
    azurite.upload(case.source, "cars/car.fbx", b"Kaydara FBX Binary  \x00")
    message = failed(case.run(model="car.fbx"))
    assert "FBX" in message and "export it as glTF" in message
