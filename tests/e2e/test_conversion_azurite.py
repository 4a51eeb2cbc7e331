"""A model's whole way with real parts: a glTF with its .bin, a PNG texture and a settings
file in an Azurite container, converted by a real `renderhub serve` (the real converter in its
worker processes) through the CLI, then loaded into a session by the asset's blob SAS URL, as
ARR's users did with LoadModelFromSasAsync. The SAS is a secret: it shows in no response and
no log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from tests.azurite import Azurite
from tests.conversions.models import box_gltf
from tests.e2e.server import ServerProcess, create_account, free_port, sign_in

pytestmark = pytest.mark.e2e

API = "api-version=2021-01-01"
BOXES = 3  # the model: 3 textured boxes of 12 triangles each, in 3 meshes
SETTINGS = {"scaling": 2, "recenterToOrigin": True, "axis": ["+x", "+z", "-y"]}


@dataclass(frozen=True)
class Service:
    """A running `renderhub serve` that allows Azurite's account, and the CLI's environment."""

    server: ServerProcess
    environment: dict[str, str]
    log: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RENDERHUB_")}
        return subprocess.run(
            [sys.executable, "-m", "renderhub", *args],
            capture_output=True, text=True, timeout=90, check=False,
            env={**clean, **self.environment},
        )  # fmt: skip

    def logs(self) -> str:
        """The service's log and every host's, as text."""
        files = [self.log, *sorted(self.server.data_dir.rglob("*.log"))]
        return "\n".join(path.read_text(errors="replace") for path in files)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("conversion-azurite")
    server = ServerProcess(root / "data", free_port(), "--allow-storage", f"{azurite.account_url}/")
    server.start()
    try:
        account = create_account(server.data_dir)
        environment = {
            "RENDERHUB_ENDPOINT": server.url,
            "RENDERHUB_ACCOUNT_ID": account["accountId"],
            "RENDERHUB_ACCOUNT_KEY": account["primaryKey"],
            "HOME": str(root),  # no stray ~/.config/renderhub/client.json
        }
        yield Service(server, environment, root / f"server-{server.port}.log")
    finally:
        server.terminate()


@dataclass(frozen=True)
class Containers:
    """An input container holding the boxes under `cars/`, and an empty output container."""

    source: str
    target: str

    @classmethod
    def upload(cls, azurite: Azurite) -> Containers:
        source, target = azurite.create_container(), azurite.create_container()
        files = box_gltf(copies=BOXES)
        files["box.ConversionSettings.json"] = json.dumps(SETTINGS).encode()
        for name, data in files.items():
            azurite.upload(source, f"cars/{name}", data)
        return cls(source, target)


def _json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    loaded: dict = json.loads(result.stdout)
    return loaded


def _signature(sas: str) -> str:
    """The secret part of a SAS, as it would appear in a URL and decoded."""
    return next(p for p in sas.split("&") if p.startswith("sig=")).removeprefix("sig=")


def _assert_secret_nowhere(text: str, sas: str) -> None:
    for secret in (_signature(sas), unquote(_signature(sas))):
        assert secret not in text


def test_a_converted_asset_loads_into_a_session_by_its_sas_url(
    service: Service, azurite: Azurite
) -> None:
    containers = Containers.upload(azurite)
    read_list, write = azurite.sas(containers.source, "rl"), azurite.sas(containers.target, "w")
    converted = _json(service.cli(
        "conversion", "start", "--id", "boxes",
        "--input", f"{containers.source}?{read_list}", "--input-prefix", "cars",
        "--input-path", "box.gltf",
        "--output", f"{containers.target}?{write}", "--output-prefix", "assets",
        "--wait", "--output", "json",
    ))  # fmt: skip
    assert converted["status"] == "Succeeded", converted
    asset_uri = f"{containers.target}/assets/box.arrAsset"
    assert converted["outputAssetUri"] == asset_uri
    assert azurite.names(containers.target) == [
        "assets/box.arrAsset", "assets/box.info.json", "assets/box.result.json",
    ]  # fmt: skip
    result = json.loads(azurite.download(containers.target, "assets/box.result.json"))
    assert result == [{"conversionId": "boxes"}, {"result": "succeeded"}]
    info = json.loads(azurite.download(containers.target, "assets/box.info.json"))
    assert info["conversionSettings"]["scaling"] == 2
    statistics = info["inputStatistics"]
    assert (statistics["numMeshes"], statistics["numFaces"], statistics["numMaterials"]) == (
        BOXES, 12 * BOXES, BOXES,
    )  # fmt: skip
    assert info["outputStatistics"]["numFaces"] == 12 * BOXES
    assert sorted(info["inputInfo"]["files"]) == [
        "cars/box.ConversionSettings.json", "cars/box.bin", "cars/box.gltf", "cars/paint.png",
    ]  # fmt: skip

    read = azurite.sas(containers.target, "r")
    started = _json(service.cli(
        "session", "start", "--id", "converted", "--lease", "10m",
        "--model", f"{asset_uri}?{read}", "--wait", "--output", "json",
    ))  # fmt: skip
    assert started["status"] == "Ready", started
    _assert_secret_nowhere(json.dumps(started), read)
    session = _session_body(service, "converted")
    _assert_secret_nowhere(json.dumps(session), read)
    health = httpx.get(f"http://127.0.0.1:{session['handshakePort']}/health").json()
    assert health["status"] == "ready", health
    assert health["polygons"] == 12 * BOXES
    assert health["models"][0]["url"] == f"{asset_uri}?<SAS redacted>"
    _assert_secret_nowhere(json.dumps(health), read)
    assert service.cli("session", "stop", "converted").returncode == 0
    logs = service.logs()
    assert f"loaded '{asset_uri}?<SAS redacted>': {12 * BOXES} polygons" in logs
    for sas in (read, read_list, write):
        _assert_secret_nowhere(logs, sas)
    assert "http_logging_policy" not in logs, "azure-core's request logs bury the service's"


def _session_body(service: Service, session_id: str) -> dict:
    """GET the session over the 2021 API with the CLI's account (its id and key)."""
    environment = service.environment
    account_id = environment["RENDERHUB_ACCOUNT_ID"]
    token = httpx.get(
        f"{service.server.url}/Accounts/{account_id}/token",
        headers={"Authorization": f"Bearer {account_id}:{environment['RENDERHUB_ACCOUNT_KEY']}"},
    ).json()["AccessToken"]
    response = httpx.get(
        f"{service.server.url}/accounts/{account_id}/sessions/{session_id}?{API}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def test_a_corrupt_model_fails_with_exit_code_8_and_arrs_message(
    service: Service, azurite: Azurite
) -> None:
    containers = Containers.upload(azurite)
    azurite.upload(containers.source, "cars/broken.glb", b"glTF not really a binary glTF at all")
    failed = service.cli(
        "conversion", "start", "--id", "broken",
        "--input", f"{containers.source}?{azurite.sas(containers.source, 'rl')}",
        "--input-prefix", "cars/", "--input-path", "broken.glb",
        "--output", f"{containers.target}?{azurite.sas(containers.target, 'w')}",
        "--wait", "--output", "json",
    )  # fmt: skip
    assert failed.returncode == 8, failed.stderr
    assert "The model 'broken.glb' could not be read: it is not a valid GLB" in failed.stderr
    assert "Traceback" not in failed.stderr
    result = json.loads(azurite.download(containers.target, "broken.result.json"))
    assert result[-1] == {"result": "failed"}
    assert result[-2]["error"] == "BadRequest"

    shown = _json(service.cli("conversion", "show", "broken", "--output", "json"))
    assert shown["status"] == "Failed" and shown["errorCode"] == "BadRequest"
    assert shown["message"].startswith("The model 'broken.glb' could not be read")
    assert shown["outputAssetUri"] is None
    assert shown["input"] == f"{containers.source}/broken.glb"
    listed = service.cli("conversion", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    by_id = {item["id"]: item["status"] for item in json.loads(listed.stdout)}
    assert by_id["broken"] == "Failed"
    missing = service.cli("conversion", "show", "nope")
    assert missing.returncode == 3 and "nope" in missing.stderr


def test_a_session_model_in_storage_nobody_allowed_is_refused(
    service: Service, azurite: Azurite
) -> None:
    signed_in = sign_in(service.server)
    container = azurite.create_container()
    sas = azurite.sas(container, "r")
    elsewhere = container.replace("devstoreaccount1", "otheraccount")  # not under --allow-storage
    url = f"/accounts/{signed_in.account_id}/sessions/elsewhere?{API}"
    body = {"maxLeaseTimeMinutes": 10, "size": "Standard",
            "models": [f"{elsewhere}/box.arrAsset?{sas}"]}  # fmt: skip
    refused = signed_in.client.put(url, json=body)
    assert refused.status_code == 400, refused.text
    assert "is not allowed" in refused.json()["error"]["message"]
    assert "?<SAS redacted>" in refused.json()["error"]["message"]
    _assert_secret_nowhere(refused.text, sas)
    assert signed_in.client.get(url).status_code == 404, "nothing recorded"
    signed_in.client.close()
    _assert_secret_nowhere(service.logs(), sas)
