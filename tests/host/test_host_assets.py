"""Converted assets (.arrAsset) in render hosts: from a file, and from Azurite by a blob URL
with a SAS, which the host is allowed by --allow-storage and never shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from renderhub.conversions.converter import convert
from renderhub.conversions.jobs import (
    ConversionJob,
    ConversionLimits,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)
from renderhub.errors import BadRequest
from renderhub.host.errors import ModelLoadError
from renderhub.host.meshes import load_model_file
from renderhub.host.runtime.geometry_builder import model_geometry, part_sources
from renderhub.model_sources import ModelPolicy
from tests.azurite import Azurite
from tests.host.host_testing import SpawnHost

KNOT_TRIANGLES = 18_432


@pytest.fixture
def converted(models_dir: Path) -> Path:
    """samples/torus-knot.glb converted into <models>/converted/torus-knot.arrAsset."""
    output = models_dir / "converted"
    output.mkdir()
    job = ConversionJob(
        "conv-host",
        InputLocation((models_dir / "samples").as_uri(), "torus-knot.glb"),
        OutputLocation(output.as_uri(), "torus-knot.arrAsset"),
    )
    limits = ConversionLimits((models_dir.as_uri() + "/",), 1 << 30, 1 << 30, 60.0, 120.0)
    outcome = convert(job, limits)
    assert outcome.status is ConversionStatus.SUCCEEDED, outcome.error_message
    return output / "torus-knot.arrAsset"


def test_an_asset_loads_as_the_same_geometry_as_its_source(
    converted: Path, models_dir: Path
) -> None:
    asset = load_model_file("converted/torus-knot.arrAsset", converted)
    source = load_model_file("samples/torus-knot.glb", models_dir / "samples" / "torus-knot.glb")
    assert asset.polygons == source.polygons == KNOT_TRIANGLES
    from_asset = model_geometry(part_sources(asset))
    from_source = model_geometry(part_sources(source))
    assert from_asset.triangles == from_source.triangles
    np.testing.assert_allclose(
        np.sort(from_asset.positions, axis=0), np.sort(from_source.positions, axis=0), atol=1e-5
    )
    assert (from_asset.colours == from_source.colours[0]).all()  # the knot's one colour
    # merged per material: one node per asset mesh, named after its material
    assert [(node.name, node.parent, len(node.meshes)) for node in asset.nodes] == [("knot", -1, 1)]


def test_a_damaged_asset_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.arrAsset"
    path.write_bytes(b"not an asset at all, just some bytes")
    with pytest.raises(ModelLoadError, match="is not a RenderHub asset"):
        load_model_file("broken.arrAsset?sv=1&sig=secret", path)
    path.write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"'broken.arrAsset\?<SAS redacted>': .*too short"):
        load_model_file("broken.arrAsset?sv=1&sig=secret", path)


@pytest.mark.e2e
def test_a_host_process_loads_a_converted_asset_file(
    spawn_host: SpawnHost, converted: Path
) -> None:
    host = spawn_host("converted/torus-knot.arrAsset", "samples/cube.glb")
    body = host.wait_for("ready")
    assert body["polygons"] == KNOT_TRIANGLES + 12


@pytest.mark.e2e
def test_a_host_process_loads_an_asset_from_blob_storage_with_a_sas(
    spawn_host: SpawnHost, converted: Path, azurite: Azurite
) -> None:
    container = azurite.create_container()
    azurite.upload(container, "assets/knot.arrAsset", converted.read_bytes())
    url = f"{container}/assets/knot.arrAsset?{azurite.sas(container, 'r')}"
    host = spawn_host(url, args=("--allow-storage", azurite.account_url + "/"))
    body = host.wait_for("ready")
    assert body["polygons"] == KNOT_TRIANGLES
    assert body["models"][0]["url"] == f"{container}/assets/knot.arrAsset?<SAS redacted>"
    assert "sig=" not in host.log()


@pytest.mark.e2e
def test_a_sas_the_storage_refuses_fails_the_host_without_showing_it(
    spawn_host: SpawnHost, converted: Path, azurite: Azurite
) -> None:
    container = azurite.create_container()
    azurite.upload(container, "knot.arrAsset", converted.read_bytes())
    url = f"{container}/knot.arrAsset?{azurite.sas(container, 'l')}"  # list, no read
    host = spawn_host(url, args=("--allow-storage", azurite.account_url + "/"))
    body = host.wait_for("error")
    assert body["message"].startswith(
        f"Could not download model '{container}/knot.arrAsset?<SAS redacted>': the server "
        "answered 403"
    )
    assert "sig=" not in host.log()


def test_storage_prefixes_allow_blob_urls_with_a_sas(tmp_path: Path) -> None:
    blob = "https://acct.blob.core.windows.net"
    policy = ModelPolicy(tmp_path, storage_prefixes=(f"{blob}/assets",))
    source = policy.check(f"{blob}/assets/car.arrAsset?sv=2025&sp=r&sig=abc&x=.glb")
    assert source.suffix == ".arrasset"  # from the path, not the query
    for refused in (f"{blob}/assetsx/car.arrAsset?sig=abc", f"{blob}/other/car.glb?sig=abc"):
        with pytest.raises(BadRequest) as caught:
            policy.check(refused)
        assert "?<SAS redacted>" in caught.value.message
        assert "sig=" not in caught.value.message
    with pytest.raises(BadRequest, match="unsupported type"):
        policy.check(f"{blob}/assets/car.txt?sig=abc.arrAsset")
    plain = ModelPolicy(tmp_path, (f"{blob}/models/",))  # --allow-models still works alone
    assert plain.check(f"{blob}/models/car.glb").url == f"{blob}/models/car.glb"
