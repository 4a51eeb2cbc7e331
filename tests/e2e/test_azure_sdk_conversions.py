"""Azure's own Python SDK (azure-mixedreality-remoterendering) runs conversions against a real
`renderhub serve` over HTTPS, unchanged: begin_asset_conversion(...).result(),
get_asset_conversion, list_asset_conversions, and a failure raised as the SDK raises it.
The containers are local folders and the converter a test one (the storage and the real
converter are tested with Azurite elsewhere)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import azure.mixedreality.remoterendering as azure
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError

from tests.conversions_service.converters import FAILURE_MESSAGE, SLOW_SECONDS_ENV
from tests.e2e.server import ServerProcess, free_port

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    folder = tmp_path / "storage"
    folder.mkdir()
    return folder


@pytest.fixture
def client(
    tmp_path: Path, storage: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[azure.RemoteRenderingClient]:
    environment = {
        "RENDERHUB_CONVERTER": "tests.conversions_service.converters:scripted",
        SLOW_SECONDS_ENV: "1",
        "PYTHONPATH": str(REPOSITORY),
    }
    server = ServerProcess(
        tmp_path / "data",
        free_port(),
        "--tls-self-signed",
        "--allow-storage",
        f"{storage.as_uri()}/",
        env=environment,
    )
    server.url = server.url.replace("http://", "https://").replace("127.0.0.1", "localhost")
    try:
        server.start(verify=False)
        banner = (tmp_path / f"server-{server.port}.log").read_text()
        account_id = re.search(r"account id:\s+(\S+)", banner)[1]  # type: ignore[index]
        key = re.search(r"primary key:\s+(\S+)", banner)[1]  # type: ignore[index]
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.data_dir / "tls" / "dev-cert.pem"))
        yield azure.RemoteRenderingClient(
            endpoint=server.url,
            account_id=account_id,
            account_domain="renderhub.local",
            credential=AzureKeyCredential(key),
            authentication_endpoint_url=server.url,
            polling_interval=0.2,
        )
    finally:
        server.terminate()


def _settings(
    storage: Path, model: str
) -> tuple[azure.AssetConversionInputSettings, azure.AssetConversionOutputSettings]:
    return (
        azure.AssetConversionInputSettings(
            storage_container_uri=f"{storage.as_uri()}/input",
            relative_input_asset_path=model,
            blob_prefix="models/",
            storage_container_read_list_sas="?sv=2021&sp=rl&sig=SECRET",
        ),
        azure.AssetConversionOutputSettings(
            storage_container_uri=f"{storage.as_uri()}/output",
            blob_prefix="converted/",
            storage_container_write_sas="sv=2021&sp=w&sig=SECRET",
        ),
    )


def test_the_azure_sdk_runs_lists_and_reads_conversions(
    client: azure.RemoteRenderingClient, storage: Path
) -> None:
    poller = client.begin_asset_conversion("sdk-house", *_settings(storage, "slow.glb"))
    conversion = poller.result(timeout=60)
    assert conversion.status == azure.AssetConversionStatus.SUCCEEDED
    expected = f"{storage.as_uri()}/output/converted/slow.arrAsset"
    assert conversion.output.asset_uri == expected
    assert (storage / "output" / "converted" / "slow.arrAsset").exists()
    assert conversion.settings.output_settings.output_asset_filename == "slow.arrAsset"
    assert conversion.settings.input_settings.storage_container_read_list_sas is None

    fetched = client.get_asset_conversion(conversion_id="sdk-house")
    assert fetched.status == azure.AssetConversionStatus.SUCCEEDED
    assert fetched.created_on == conversion.created_on and fetched.created_on is not None

    failing = client.begin_asset_conversion("sdk-failing", *_settings(storage, "fail.glb"))
    with pytest.raises(HttpResponseError) as raised:
        failing.result(timeout=60)
    assert raised.value.error is not None
    assert raised.value.error.code == "BadRequest"
    assert raised.value.error.message == FAILURE_MESSAGE

    listed = {c.id: c.status for c in client.list_asset_conversions()}
    assert listed == {
        "sdk-house": azure.AssetConversionStatus.SUCCEEDED,
        "sdk-failing": azure.AssetConversionStatus.FAILED,
    }
