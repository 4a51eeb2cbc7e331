"""Azure's own Python SDK (azure-mixedreality-remoterendering) runs conversions against a real
`renderhub serve --tls-self-signed` with the real converter and Azurite for the containers,
unchanged: begin_asset_conversion(...).result(), get_asset_conversion,
list_asset_conversions, and a real failure (a missing input blob) raised as the SDK raises it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import azure.mixedreality.remoterendering as azure
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError

from renderhub.assets import parse_asset
from tests.azurite import Azurite
from tests.conversions.models import box_gltf
from tests.e2e.server import ServerProcess, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, azurite: Azurite
) -> Iterator[azure.RemoteRenderingClient]:
    root = tmp_path_factory.mktemp("sdk-conversions")
    allowed = f"{azurite.account_url}/"
    server = ServerProcess(
        root / "data", free_port(), "--tls-self-signed", "--allow-storage", allowed
    )
    server.url = server.url.replace("http://", "https://").replace("127.0.0.1", "localhost")
    try:
        server.start(verify=False)
        banner = (root / f"server-{server.port}.log").read_text()
        account_id = re.search(r"account id:\s+(\S+)", banner)[1]  # type: ignore[index]
        key = re.search(r"primary key:\s+(\S+)", banner)[1]  # type: ignore[index]
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", str(server.data_dir / "tls" / "dev-cert.pem"))
            with azure.RemoteRenderingClient(
                endpoint=server.url,
                account_id=account_id,
                account_domain="renderhub.local",
                credential=AzureKeyCredential(key),
                authentication_endpoint_url=server.url,
                polling_interval=0.2,
            ) as sdk:
                yield sdk
    finally:
        server.terminate()


class Containers:
    """An input container with a textured glTF and its settings under `models/`, and an
    output container; the SDK's settings for them, with SAS tokens as ARR's users wrote them."""

    def __init__(self, azurite: Azurite) -> None:
        self.azurite = azurite
        self.source = azurite.create_container()
        self.target = azurite.create_container()
        files = box_gltf("house")
        files["house.ConversionSettings.json"] = json.dumps({"scaling": 0.5}).encode()
        for name, data in files.items():
            azurite.upload(self.source, f"models/{name}", data)

    def settings(
        self, model: str
    ) -> tuple[azure.AssetConversionInputSettings, azure.AssetConversionOutputSettings]:
        return (
            azure.AssetConversionInputSettings(
                storage_container_uri=self.source,
                relative_input_asset_path=model,
                blob_prefix="models/",
                storage_container_read_list_sas="?" + self.azurite.sas(self.source, "rl"),
            ),
            azure.AssetConversionOutputSettings(
                storage_container_uri=self.target,
                blob_prefix="converted/",
                storage_container_write_sas=self.azurite.sas(self.target, "w"),
            ),
        )


def test_the_azure_sdk_runs_reads_and_lists_a_conversion(
    client: azure.RemoteRenderingClient, azurite: Azurite
) -> None:
    containers = Containers(azurite)
    poller = client.begin_asset_conversion("sdk-house", *containers.settings("house.gltf"))
    conversion = poller.result(timeout=60)
    assert conversion.status == azure.AssetConversionStatus.SUCCEEDED
    assert conversion.output.asset_uri == f"{containers.target}/converted/house.arrAsset"
    assert conversion.settings.output_settings.output_asset_filename == "house.arrAsset"
    assert conversion.settings.input_settings.storage_container_read_list_sas is None
    assert conversion.settings.output_settings.storage_container_write_sas is None
    asset = parse_asset(azurite.download(containers.target, "converted/house.arrAsset"))
    assert asset.triangles == 12
    assert (asset.bounds[1] - asset.bounds[0]).tolist() == pytest.approx([1.0, 0.5, 0.25])

    fetched = client.get_asset_conversion(conversion_id="sdk-house")
    assert fetched.status == azure.AssetConversionStatus.SUCCEEDED
    assert fetched.created_on == conversion.created_on and fetched.created_on is not None
    assert fetched.output.asset_uri == conversion.output.asset_uri

    listed = {c.id: c.status for c in client.list_asset_conversions()}
    assert listed["sdk-house"] == azure.AssetConversionStatus.SUCCEEDED


def test_a_missing_input_blob_fails_as_the_sdk_expects(
    client: azure.RemoteRenderingClient, azurite: Azurite
) -> None:
    containers = Containers(azurite)
    failing = client.begin_asset_conversion("sdk-missing", *containers.settings("garage.gltf"))
    with pytest.raises(HttpResponseError) as raised:
        failing.result(timeout=60)
    assert raised.value.error is not None
    assert raised.value.error.code == "BadRequest"
    assert raised.value.error.message == (
        f"The input model 'garage.gltf' does not exist in {containers.source} under the blob "
        "prefix 'models/'; check relativeInputAssetPath and blobPrefix."
    )
    fetched = client.get_asset_conversion(conversion_id="sdk-missing")
    assert fetched.status == azure.AssetConversionStatus.FAILED
    assert fetched.error.code == "BadRequest"
    assert fetched.error.message == raised.value.error.message
    assert fetched.output is None or fetched.output.asset_uri is None
    result = json.loads(azurite.download(containers.target, "converted/garage.result.json"))
    assert result[-2:] == [
        {"error": "BadRequest", "title": raised.value.error.message}, {"result": "failed"},
    ]  # fmt: skip
    listed = {c.id: c.status for c in client.list_asset_conversions()}
    assert listed["sdk-missing"] == azure.AssetConversionStatus.FAILED
