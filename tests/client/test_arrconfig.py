"""ARR's arrconfig.json, both generations, read by the client's settings loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from renderhub.client.config import ConfigError, load_client_settings

ACCOUNT = {"arrAccountId": "acc-1", "arrAccountKey": "key-1"}
REGIONS = {"westus2": "https://hub.example:8443", "eastus": "https://sts.example"}


def _settings(tmp_path: Path, arrconfig: dict[str, Any], environ: dict[str, str] | None = None):
    path = tmp_path / "arrconfig.json"
    path.write_text(json.dumps(arrconfig))
    own = tmp_path / "client.json"
    own.write_text(json.dumps({"regions": REGIONS}))
    return load_client_settings({}, config_path=own, arrconfig_path=path, environ=environ or {})


def test_final_template_with_region_names_goes_through_regions(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {
        "accountSettings": {**ACCOUNT, "arrAccountDomain": "eastus"},
        "renderingSessionSettings": {"remoteRenderingDomain": "westus2", "vmSize": "premium",
                                     "maxLeaseTime": "01:30:00"},
    })  # fmt: skip
    assert settings.endpoint == "https://hub.example:8443"
    assert settings.sts_endpoint == "https://sts.example"
    assert settings.size == "premium" and settings.lease.total_seconds() == 5400


def test_final_template_with_full_urls_uses_them_as_they_are(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {
        "accountSettings": {**ACCOUNT, "arrAccountDomain": "https://127.0.0.1:9443/"},
        "renderingSessionSettings": {"remoteRenderingDomain": "http://127.0.0.1:8080"},
    })  # fmt: skip
    assert settings.endpoint == "http://127.0.0.1:8080"
    assert settings.sts_endpoint == "https://127.0.0.1:9443"


def test_azure_domain_names_stand_for_their_region(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {
        "accountSettings": {**ACCOUNT, "arrAccountDomain": "eastus.mixedreality.azure.com"},
        "renderingSessionSettings": {
            "remoteRenderingDomain": "remoterendering.westus2.mixedreality.azure.com"
        },
    })  # fmt: skip
    assert settings.endpoint == REGIONS["westus2"]
    assert settings.sts_endpoint == REGIONS["eastus"]


def test_older_files_with_one_region_still_work(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {
        "accountSettings": {**ACCOUNT, "arrAccountDomain": "westus2.mixedreality.azure.com",
                            "region": "westus2"},
    })  # fmt: skip
    assert settings.endpoint == REGIONS["westus2"]
    assert settings.sts_endpoint == REGIONS["westus2"]


def test_an_unmapped_region_says_where_to_map_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Region 'japaneast' has no RenderHub endpoint"):
        _settings(tmp_path, {
            "accountSettings": ACCOUNT,
            "renderingSessionSettings": {"remoteRenderingDomain": "japaneast"},
        })  # fmt: skip


def test_template_placeholders_count_as_not_given(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Missing an endpoint"):
        _settings(tmp_path, {
            "accountSettings": {**ACCOUNT, "arrAccountDomain": "<select from regions>"},
            "renderingSessionSettings": {"remoteRenderingDomain": "<select from regions>"},
        })  # fmt: skip


def test_asset_conversion_settings_fill_the_conversion_defaults(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {
        "accountSettings": ACCOUNT,
        "renderingSessionSettings": {"remoteRenderingDomain": "westus2"},
        "assetConversionSettings": {
            "resourceGroup": "<resource group, only needed when uploading>",
            "storageAccountName": "contoso",
            "blobInputContainerName": "arrinput",
            "blobOutputContainerName": "arroutput",
            "inputFolderPath": "robot",
            "inputAssetPath": "robot.fbx",
            "outputFolderPath": "converted/robot",
            "outputAssetFileName": "<optional: filename for the converted asset>",
        },
    })  # fmt: skip
    defaults = settings.conversion
    assert defaults.container_uri(defaults.input_container) == (
        "https://contoso.blob.core.windows.net/arrinput"
    )
    assert defaults.input_folder == "robot" and defaults.input_asset_path == "robot.fbx"
    assert defaults.output_folder == "converted/robot"
    assert defaults.output_asset_filename is None


def test_the_blob_endpoint_can_point_at_storage_that_is_not_azures(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        {
            "accountSettings": ACCOUNT,
            "renderingSessionSettings": {"remoteRenderingDomain": "westus2"},
            "assetConversionSettings": {"storageAccountName": "devstoreaccount1",
                                        "blobOutputContainerName": "out"},
        },
        environ={"RENDERHUB_BLOB_ENDPOINT": "http://127.0.0.1:10000/devstoreaccount1/"},
    )  # fmt: skip
    defaults = settings.conversion
    assert defaults.container_uri(defaults.output_container) == (
        "http://127.0.0.1:10000/devstoreaccount1/out"
    )
