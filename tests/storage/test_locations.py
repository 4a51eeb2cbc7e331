"""Input and output locations: every malformed or disallowed one is a BadRequest naming the
field, before anything is recorded or touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderhub.conversions.jobs import InputLocation, OutputLocation
from renderhub.errors import BadRequest
from renderhub.storage.locations import (
    check_input_location,
    check_output_location,
    default_output_filename,
    in_folder,
)

BLOB = "https://acct.blob.core.windows.net"
SAS = "sv=2025-01-05&sp=rl&sig=abc%3D"
ALLOWED = (f"{BLOB}/",)
IN = "settings.inputLocation"
OUT = "settings.outputLocation"


def inputs(**changes: object) -> InputLocation:
    values: dict[str, object] = {
        "storage_container_uri": f"{BLOB}/models",
        "relative_input_asset_path": "car/car.gltf",
        "blob_prefix": "",
        "sas": SAS,
    }
    values.update(changes)
    return InputLocation(**values)  # type: ignore[arg-type]


def outputs(**changes: object) -> OutputLocation:
    values: dict[str, object] = {
        "storage_container_uri": f"{BLOB}/assets",
        "output_asset_filename": "car.arrAsset",
        "blob_prefix": "converted/",
        "sas": "sp=w&sig=xyz",
    }
    values.update(changes)
    return OutputLocation(**values)  # type: ignore[arg-type]


def refused(call: object, *args: object) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def test_a_good_input_gives_the_address_without_the_sas() -> None:
    address = check_input_location(inputs(sas="?" + SAS), ALLOWED)
    assert address.uri == f"{BLOB}/models"
    assert address.sas == SAS  # the leading '?' is dropped
    assert not address.is_local


def test_a_good_output_passes() -> None:
    assert check_output_location(outputs(), ALLOWED).sas == "sp=w&sig=xyz"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"storage_container_uri": ""}, "storageContainerUri", "1 to 2048"),
        ({"storage_container_uri": BLOB + "/" + "x" * 2100}, "storageContainerUri", "2048"),
        ({"storage_container_uri": "ftp://acct/models"}, "storageContainerUri", "https://"),
        ({"storage_container_uri": "https:///models"}, "storageContainerUri", "no host"),
        ({"storage_container_uri": BLOB}, "storageContainerUri", "names no container"),
        (
            {"storage_container_uri": f"{BLOB}/models?{SAS}"},
            "storageContainerUri",
            "not in the URI",
        ),
        ({"storage_container_uri": f"{BLOB}/a/../b"}, "storageContainerUri", "'..'"),
        ({"sas": None}, "storageContainerReadListSas", "SAS token only"),
        ({"sas": "?"}, "storageContainerReadListSas", "linked storage accounts"),
        ({"sas": "sp=rl&sv=1"}, "storageContainerReadListSas", "no signature"),
        ({"sas": "sp=rl sig=a"}, "storageContainerReadListSas", "not a SAS"),
        ({"blob_prefix": "/abs"}, "blobPrefix", "start with '/'"),
        ({"blob_prefix": "a/../b/"}, "blobPrefix", "'..'"),
        ({"blob_prefix": "x" * 1025}, "blobPrefix", "longer than 1024"),
        ({"blob_prefix": "a\\b"}, "blobPrefix", "'\\'"),
        ({"relative_input_asset_path": ""}, "relativeInputAssetPath", "required"),
        ({"relative_input_asset_path": "../car.glb"}, "relativeInputAssetPath", "'..'"),
        ({"relative_input_asset_path": "cars/"}, "relativeInputAssetPath", "not end with"),
        ({"relative_input_asset_path": "a\x00.glb"}, "relativeInputAssetPath", "control"),
        (
            {"blob_prefix": "p" * 1000, "relative_input_asset_path": "q" * 100},
            "relativeInputAssetPath",
            "longer than 1024",
        ),
    ],
)
def test_bad_inputs_name_the_field(changes: dict[str, object], field: str, words: str) -> None:
    error = refused(check_input_location, inputs(**changes), ALLOWED)
    assert error.target == f"{IN}.{field}"
    assert words in error.message


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"sas": ""}, "storageContainerWriteSas", "SAS token only"),
        ({"output_asset_filename": ""}, "outputAssetFilename", "required"),
        ({"output_asset_filename": "car.glb"}, "outputAssetFilename", "ending in '.arrAsset'"),
        ({"output_asset_filename": ".arrAsset"}, "outputAssetFilename", "ending in"),
        ({"output_asset_filename": "a/car.arrAsset"}, "outputAssetFilename", "without '/'"),
        ({"blob_prefix": "../up/"}, "blobPrefix", "'..'"),
        (
            {"storage_container_uri": "https://other.blob.core.windows.net/a"},
            "storageContainerUri",
            "not allowed",
        ),
    ],
)
def test_bad_outputs_name_the_field(changes: dict[str, object], field: str, words: str) -> None:
    error = refused(check_output_location, outputs(**changes), ALLOWED)
    assert error.target == f"{OUT}.{field}"
    assert words in error.message


def test_nothing_is_allowed_by_default() -> None:
    error = refused(check_input_location, inputs(), ())
    assert error.target == f"{IN}.storageContainerUri"
    assert "--allow-storage" in error.message


@pytest.mark.parametrize(
    ("prefix", "allowed"),
    [
        (BLOB, True),
        (f"{BLOB}/", True),
        (f"{BLOB}/models", True),
        (f"{BLOB}/mod", False),  # a prefix ends at a '/' boundary
        (f"{BLOB}/models/sub", False),
        ("https://acct.blob.core.windows", False),
    ],
)
def test_prefixes_match_whole_segments(prefix: str, allowed: bool) -> None:
    if allowed:
        check_input_location(inputs(), (prefix,))
    else:
        assert "not allowed" in refused(check_input_location, inputs(), (prefix,)).message


def test_a_look_alike_host_is_not_allowed() -> None:
    look_alike = inputs(storage_container_uri="https://acct.blob.core.windows.net.evil.test/m")
    assert "not allowed" in refused(check_input_location, look_alike, (BLOB,)).message


def test_file_containers_resolve_and_must_be_allowed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    allowed = (tmp_path.as_uri() + "/",)
    address = check_input_location(inputs(storage_container_uri=folder.as_uri(), sas=None), allowed)
    assert address.folder == folder.resolve()
    escape = f"{folder.as_uri()}/../../etc"
    assert (
        "not allowed"
        in refused(
            check_input_location, inputs(storage_container_uri=escape, sas=None), allowed
        ).message
    )
    remote = inputs(storage_container_uri="file://server/share", sas=None)
    assert "another machine" in refused(check_input_location, remote, allowed).message
    # A script written for blob storage sends its SAS anyway: a folder takes and ignores it.
    with_sas = inputs(storage_container_uri=folder.as_uri())
    assert check_input_location(with_sas, allowed).sas is None


def test_blob_prefixes_are_folders() -> None:
    assert in_folder("", "box.glb") == "box.glb"
    assert in_folder("cars", "box.glb") == in_folder("cars/", "box.glb") == "cars/box.glb"


def test_the_default_output_name_is_the_inputs() -> None:
    assert default_output_filename("cars/red car.gltf") == "red car.arrAsset"
    assert default_output_filename("model.tar.glb") == "model.tar.arrAsset"
