"""The inspector and the stats request of a real `renderhub host` process: the live scene
(models a client loaded, hidden entities, cut planes), and the time from an input's arrival
on the data channel to the start of the first frame that shows it."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.host.host_testing import HostProcess
from tests.host.stream.conftest import Keys
from tests.host.stream.test_scene_process import (  # noqa: F401 (fixtures)
    CUBE,
    KNOT,
    open_client,
    scene_host,
)

CUBE_POLYGONS, KNOT_POLYGONS = 12, 18_432
INPUTS = 12


def inspector(host: HostProcess, keys: Keys) -> dict[str, Any]:
    response = httpx.get(
        f"http://127.0.0.1:{host.port}/inspector.json",
        headers={"Authorization": f"Bearer {keys.token()}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    figures: dict[str, Any] = response.json()
    return figures


@pytest.mark.e2e
async def test_the_inspector_shows_the_live_scene_and_input_to_render(
    open_client: Callable[[], Any],  # noqa: F811
    scene_host: HostProcess,  # noqa: F811
    keys: Keys,
) -> None:
    client, _ = await open_client()
    empty = inspector(scene_host, keys)["scene"]
    assert (empty["polygons"], empty["polygonsRendered"], empty["entities"]) == (0, 0, 0)
    assert (empty["models"], empty["cutPlanes"]) == (0, 0)

    cube = await client.result("load_model", url=CUBE)
    knot = await client.result("load_model", url=KNOT)
    await client.result("set_state", id=cube["root"]["id"], hidden=True)
    await client.result("add_cut_plane", point=[0, 0, 0], normal=[0, 1, 0])
    scene = inspector(scene_host, keys)["scene"]
    assert scene == {
        "polygons": CUBE_POLYGONS + KNOT_POLYGONS,
        "polygonsRendered": KNOT_POLYGONS,
        "entities": len(cube["entities"]) + len(knot["entities"]),
        "models": 2,
        "cutPlanes": 1,
        "polygonLimit": empty["polygonLimit"],
        "overLimit": False,
    }

    # Orbit inputs one at a time: each from its sending to the arrival of its first frame.
    before = inspector(scene_host, keys)["video"]["timingsMs"]["inputToRender"]["samples"]
    seen_ms = []
    for _ in range(INPUTS):
        sent = time.monotonic()
        seq = client.send({"type": "orbit", "dx": 0.01, "dy": 0})
        await client.frame_after(seq)
        seen_ms.append((time.monotonic() - sent) * 1000)

    figures = inspector(scene_host, keys)["video"]["timingsMs"]["inputToRender"]
    assert figures["samples"] >= before + INPUTS
    # After arrival and before the frame is rendered, encoded, sent and decoded.
    assert 0 < figures["median"] < statistics.median(seen_ms), (figures, seen_ms)
    assert figures["p95"] >= figures["median"]
    stats = await client.result("stats")
    assert 0 < stats["input_to_render_ms"] < statistics.median(seen_ms)
    assert stats["polygons_rendered"] == scene["polygonsRendered"]
