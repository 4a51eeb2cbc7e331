"""Blob containers on a real Azurite and local folders: list, read, write, and the failures a
user can fix (the SAS's permissions, a missing blob, the size and time limits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderhub.storage.containers import BlobContainer, LocalFolder, StorageError
from tests.azurite import Azurite

TIMEOUT = 30.0


@pytest.fixture
def filled(azurite: Azurite) -> str:
    uri = azurite.create_container()
    for name in ("car/car.gltf", "car/car.bin", "car/paint.png", "other.glb"):
        azurite.upload(uri, name, name.encode() * 10)
    return uri


def blob(azurite: Azurite, uri: str, permissions: str, role: str = "input") -> BlobContainer:
    return BlobContainer(uri, azurite.sas(uri, permissions), role=role)


def failure(call: object, *args: object) -> str:
    with pytest.raises(StorageError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.message


def test_blob_lists_reads_and_writes(azurite: Azurite, filled: str, tmp_path: Path) -> None:
    reader = blob(azurite, filled, "rl")
    assert reader.list_names("car/", TIMEOUT) == ["car/car.bin", "car/car.gltf", "car/paint.png"]
    assert reader.list_names("", TIMEOUT)[-1] == "other.glb"
    target = tmp_path / "car.gltf"
    assert reader.read_to_file("car/car.gltf", target, 1000, TIMEOUT) == 120
    assert target.read_bytes() == b"car/car.gltf" * 10
    writer = blob(azurite, filled, "w", role="output")
    writer.write_bytes("out/a.json", b"[]", TIMEOUT)
    writer.write_file("out/car.gltf", target, TIMEOUT)
    assert azurite.download(filled, "out/car.gltf") == target.read_bytes()
    assert writer.file_uri("out/a b.json") == f"{filled}/out/a%20b.json"


def test_a_sas_without_list_or_read_is_named(azurite: Azurite, filled: str, tmp_path: Path) -> None:
    for permissions in ("r", "w"):
        message = failure(blob(azurite, filled, permissions).list_names, "car/", TIMEOUT)
        assert "must allow read and list (sp=rl)" in message
    message = failure(
        blob(azurite, filled, "wl").read_to_file, "car/car.gltf", tmp_path / "x", 10**6, TIMEOUT
    )
    assert "does not allow reading" in message and "sp=rl" in message


def test_a_sas_without_write_is_named(azurite: Azurite, filled: str) -> None:
    message = failure(blob(azurite, filled, "rl", "output").write_bytes, "x.json", b"{}", TIMEOUT)
    assert "the output SAS must allow write (sp=w" in message
    assert "sig=" not in message  # the SAS is never shown


def test_missing_blob_and_container(azurite: Azurite, filled: str, tmp_path: Path) -> None:
    reader = blob(azurite, filled, "rl")
    message = failure(reader.read_to_file, "car/none.png", tmp_path / "x", 10**6, TIMEOUT)
    assert message == f"'car/none.png' does not exist in the input container {filled}."
    gone = f"{azurite.account_url}/nocontainer"
    message = failure(blob(azurite, gone, "rl").list_names, "", TIMEOUT)
    assert message == f"The input container {gone} does not exist."
    other_sas = BlobContainer(filled, azurite.sas(gone, "rl"), role="input")  # made for another
    message = failure(other_sas.list_names, "", TIMEOUT)
    assert "was refused" in message and "made for this container" in message


def test_size_limit(azurite: Azurite, filled: str, tmp_path: Path) -> None:
    message = failure(
        blob(azurite, filled, "rl").read_to_file, "car/car.bin", tmp_path / "x", 50, TIMEOUT
    )
    assert "larger than the limit of 50 bytes" in message


def test_time_limit(azurite: Azurite, filled: str, tmp_path: Path) -> None:
    azurite.upload(filled, "big.bin", bytes(12 << 20))  # three 4 MiB chunks
    message = failure(
        blob(azurite, filled, "rl").read_to_file, "big.bin", tmp_path / "x", 1 << 30, 0.001
    )
    assert "took longer than the limit of 0.001 seconds" in message


def test_connection_refused_is_named(azurite: Azurite, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}/devstoreaccount1/models"
    message = failure(blob(azurite, uri, "rl").list_names, "", TIMEOUT)
    assert message == f"Could not reach the input container {uri}: the connection was refused."


def test_local_folder(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "car").mkdir(parents=True)
    (root / "car" / "car.gltf").write_text("{}")
    (root / "car" / "paint.png").write_bytes(b"png" * 100)
    (root / "carpet.glb").write_bytes(b"g")
    folder = LocalFolder(root, role="input")
    assert folder.list_names("car", TIMEOUT) == ["car/car.gltf", "car/paint.png", "carpet.glb"]
    assert folder.list_names("car/", TIMEOUT) == ["car/car.gltf", "car/paint.png"]
    assert folder.read_to_file("car/car.gltf", tmp_path / "x", 10, TIMEOUT) == 2
    assert "larger than the limit" in failure(
        folder.read_to_file, "car/paint.png", tmp_path / "x", 10, TIMEOUT
    )
    assert "does not exist" in failure(folder.read_to_file, "no.glb", tmp_path / "x", 10, TIMEOUT)
    assert "outside the input folder" in failure(
        folder.read_to_file, "../x", tmp_path / "y", 10, TIMEOUT
    )
    out = LocalFolder(tmp_path / "out", role="output")
    assert "does not exist" in failure(out.write_bytes, "a.json", b"[]", TIMEOUT)
    (tmp_path / "out").mkdir()
    out.write_bytes("deep/a.json", b"[]", TIMEOUT)
    assert (tmp_path / "out" / "deep" / "a.json").read_bytes() == b"[]"


def test_local_folder_that_cannot_be_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "taken").write_text("a file where a folder would go")
    message = failure(LocalFolder(out, role="output").write_bytes, "taken/a.json", b"", TIMEOUT)
    assert message.startswith("Could not write 'taken/a.json' to the output folder")
