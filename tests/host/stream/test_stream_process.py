"""A real `renderhub host` process with its real renderer, watched by an aiortc client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from renderhub.frame_marker import read_marker
from renderhub.host.command import host as host_command
from tests.host.host_testing import CONTROL_TOKEN, HostProcess
from tests.host.stream.conftest import Keys
from tests.host.stream.host_processes import start_streaming_host, write_public_key
from tests.host.stream.peers import Viewer, bearer

MakeViewer = Callable[..., Viewer]


@pytest.fixture
def streaming_host(tmp_path: Path, models_dir: Path, keys: Keys) -> Iterator[HostProcess]:
    public_key = write_public_key(keys, tmp_path)
    host = start_streaming_host(
        tmp_path, models_dir, public_key, "stream-e2e", 60, "samples/torus-knot.glb"
    )
    yield host
    host.close()


@pytest.mark.e2e
async def test_a_real_host_streams_its_rendering_and_says_bye(
    streaming_host: HostProcess, keys: Keys, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer(codec="video/H264")
    base = f"http://127.0.0.1:{streaming_host.port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        await _connect(viewer, http, keys.token(), streaming_host)
        hello = await viewer.message("hello")
        assert hello["polygons"] == 18_432
        assert hello["renderer"]

        viewer.send({"type": "resolution", "width": 320, "height": 240, "seq": 1})
        viewer.send({"type": "marker", "enabled": True, "seq": 2})
        first = await viewer.picture(lambda p: p.shape == (240, 320, 3) and read_marker(p) == 2)
        assert first[: 240 - 16].std() > 10, "a rendered model, not a flat picture"
        viewer.send({"type": "orbit", "dx": 0.25, "dy": 0.1, "seq": 3})
        turned = await viewer.picture(lambda p: read_marker(p) == 3)
        assert np.abs(turned.astype(int) - first.astype(int)).mean() > 1

        inspector = (await http.get("/inspector.json", headers=bearer(keys.token()))).json()
        assert inspector["renderer"]["renderer"] == hello["renderer"]
        assert inspector["video"]["codec"] == "video/H264"
        assert inspector["memory"]["childrenRssBytes"] > 0, "the renderer process"

        await http.post(
            "/control/shutdown", json={"reason": "Bye now."}, headers=bearer(CONTROL_TOKEN)
        )
        assert await viewer.message("bye") == {"type": "bye", "reason": "Bye now."}
    assert streaming_host.wait_exit(timeout=10) == 0
    assert "stopping: Bye now." in streaming_host.log()


async def _connect(viewer: Viewer, http: httpx.AsyncClient, token: str, host: HostProcess) -> None:
    """Offer until the host takes it: 503 while it loads and starts its renderer."""
    give_up = time.monotonic() + 30
    while True:
        if host.process.poll() is not None:
            raise AssertionError(f"host exited:\n{host.log()}")
        response = await viewer.connect(http, token)
        if response.status_code != 503:
            break
        if time.monotonic() > give_up:
            raise AssertionError(f"still 503 after 30 s: {response.text}\n{host.log()}")
        await asyncio.sleep(0.1)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://example.org", "is not a STUN or TURN URL"),
        ("turn:turn.example.org", "A TURN server needs a username and a credential."),
    ],
)
def test_a_bad_ice_server_is_a_usage_error(models_dir: Path, value: str, message: str) -> None:
    base = ["--session-id", "s", "--size", "Standard", "--deadline", "4000000000"]
    args = [*base, "--models-dir", str(models_dir), "--port", "0", "--ice-server", value]

    result = CliRunner().invoke(host_command, args)

    assert result.exit_code == 2
    assert "Invalid value for '--ice-server'" in result.output
    assert message in result.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("localhost", "'localhost' is not an IP address."),
        ("192.0.2.254", "192.0.2.254 is not an address of this machine."),
    ],
)
def test_a_bad_ice_address_is_a_usage_error(models_dir: Path, value: str, message: str) -> None:
    base = ["--session-id", "s", "--size", "Standard", "--deadline", "4000000000"]
    args = [*base, "--models-dir", str(models_dir), "--port", "0", "--ice-address", value]

    result = CliRunner().invoke(host_command, args)

    assert result.exit_code == 2
    assert "Invalid value for '--ice-address'" in result.output
    assert message in result.output


def test_the_new_options_are_documented() -> None:
    result = CliRunner().invoke(host_command, ["--help"])

    for option in ("--account-id", "--ice-server", "--ice-address"):
        assert option in result.output
