"""`renderhub session ...` against a real running server with real hosts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess, create_account, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("cli")
    server = ServerProcess(root / "data", free_port())
    server.start()
    try:
        account = create_account(server.data_dir)
        yield {
            "RENDERHUB_ENDPOINT": server.url,
            "RENDERHUB_ACCOUNT_ID": account["accountId"],
            "RENDERHUB_ACCOUNT_KEY": account["primaryKey"],
            "HOME": str(root),  # no stray ~/.config/renderhub/client.json
        }
    finally:
        server.terminate()


def session(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "renderhub", "session", *args],
        capture_output=True, text=True, timeout=90, check=False,
        env={**_clean_environ(), **environment},
    )  # fmt: skip


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RENDERHUB_")}


def _json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    loaded: dict = json.loads(result.stdout)
    return loaded


def test_a_sessions_whole_life_from_the_cli(service: dict[str, str]) -> None:
    started = _json(
        session(service, "start", "--id", "cli-life", "--lease", "30m",
                "--model", "samples/cube.glb", "--wait", "--output", "json")
    )  # fmt: skip
    assert started["status"] == "Ready"
    assert started["viewerUrl"].endswith("/viewer")
    listed = json.loads(session(service, "list", "--output", "json").stdout)
    assert "cli-life" in [item["id"] for item in listed]
    extended = _json(session(service, "extend", "cli-life", "--lease", "1:0:0", "--output", "json"))
    assert extended["maxLeaseTimeMinutes"] == 60
    shown = session(service, "show", "cli-life")
    assert shown.returncode == 0 and "status:  Ready" in shown.stdout
    assert "#token=" in shown.stdout, "a person gets a viewer link that works as it is"
    opened = _json(session(service, "open", "cli-life", "--output", "json"))
    assert "/viewer#token=" in opened["viewerUrl"]
    stopped = session(service, "stop", "cli-life")
    assert stopped.returncode == 0 and "is Stopped" in stopped.stdout
    table = session(service, "list")
    assert "cli-life" not in table.stdout


def test_v1_from_the_cli(service: dict[str, str]) -> None:
    started = _json(
        session(service, "start", "--api", "v1", "--lease", "0:45:0", "--wait", "--output", "json")
    )
    assert started["status"] == "Ready" and started["maxLeaseTimeMinutes"] == 45
    assert session(service, "stop", started["id"], "--api", "v1").returncode == 0


def test_arrconfig_works_as_it_is(service: dict[str, str], tmp_path: Path) -> None:
    arrconfig = tmp_path / "arrconfig.json"
    arrconfig.write_text(json.dumps({
        "accountSettings": {
            "arrAccountId": service["RENDERHUB_ACCOUNT_ID"],
            "arrAccountKey": service["RENDERHUB_ACCOUNT_KEY"],
            "arrAccountDomain": "westus2.mixedreality.azure.com",
            "region": "westus2",
        },
        "renderingSessionSettings": {"vmSize": "standard", "maxLeaseTime": "0:20:0"},
    }))  # fmt: skip
    own = tmp_path / "client.json"
    own.write_text(json.dumps({"regions": {"westus2": service["RENDERHUB_ENDPOINT"]}}))
    environment = {"HOME": service["HOME"]}
    started = _json(session(environment, "start", "--arrconfig", str(arrconfig), "--config",
                            str(own), "--output", "json"))  # fmt: skip
    assert started["maxLeaseTimeMinutes"] == 20 and started["size"] == "Standard"
    files = ["--arrconfig", str(arrconfig), "--config", str(own)]
    flag_wins = _json(
        session(environment, "extend", started["id"], "--lease", "25m", *files, "--output", "json")
    )
    assert flag_wins["maxLeaseTimeMinutes"] == 25
    session(environment, "stop", started["id"], "--arrconfig", str(arrconfig), "--config", str(own))
    unmapped = session(environment, "list", "--arrconfig", str(arrconfig))
    assert unmapped.returncode == 2
    assert "Region 'westus2' has no RenderHub endpoint" in unmapped.stderr


def test_the_final_arrconfig_template_works_with_urls(
    service: dict[str, str], tmp_path: Path
) -> None:
    """ARR's last template (scripts 1.2.32): arrAccountDomain and remoteRenderingDomain as
    full URLs, and placeholders left in the sections a session does not use."""
    arrconfig = tmp_path / "arrconfig.json"
    arrconfig.write_text(json.dumps({
        "accountSettings": {
            "arrAccountId": service["RENDERHUB_ACCOUNT_ID"],
            "arrAccountKey": service["RENDERHUB_ACCOUNT_KEY"],
            "arrAccountDomain": service["RENDERHUB_ENDPOINT"],
        },
        "renderingSessionSettings": {
            "remoteRenderingDomain": service["RENDERHUB_ENDPOINT"],
            "vmSize": "standard",
            "maxLeaseTime": "0:20:0",
        },
        "assetConversionSettings": {"resourceGroup": "<resource group>"},
    }))  # fmt: skip
    listed = session({"HOME": service["HOME"]}, "list", "--arrconfig", str(arrconfig))
    assert listed.returncode == 0, listed.stderr
    assert "No active sessions." in listed.stdout or "Session" in listed.stdout


@pytest.mark.parametrize(
    ("args", "environment_change", "exit_code", "sentence"),
    [
        (["show", "nope"], {}, 3, "No session with id 'nope'"),
        (["list"], {"RENDERHUB_ACCOUNT_KEY": "wrong"}, 4, "not accepted by the token service"),
        (["list"], {"RENDERHUB_ENDPOINT": "http://127.0.0.1:9"}, 7, "Could not connect"),
        (["start", "--lease", "forever"], {}, 2, "is not a lease"),
        (["start", "--lease", "2d"], {}, 1, "between 0 and 1440"),
        (["start", "--frobnicate"], {}, 2, "No such option"),
        (["list"], {"RENDERHUB_ACCOUNT_ID": ""}, 2, "Missing an account id"),
    ],
)
def test_errors_are_one_sentence_and_an_exit_code(
    service: dict[str, str],
    args: list[str],
    environment_change: dict[str, str],
    exit_code: int,
    sentence: str,
) -> None:
    result = session({**service, **environment_change}, *args)
    assert result.returncode == exit_code, result.stderr
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr
    listed = json.loads(session(service, "list", "--output", "json").stdout)
    assert all(item["maxLeaseTimeMinutes"] != 2880 for item in listed), "nothing half-done"
