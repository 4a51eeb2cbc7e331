"""Conversions on the ray backend: each runs as a Ray task on the real two-node test cluster,
and one past its time limit is cancelled by force (its worker process killed)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from renderhub.backends.ray import RayBackend
from renderhub.clock import ManualClock
from tests.backends.ray_cluster import RayCluster, driver_environment, ray_cluster
from tests.conftest import make_settings, running_control_plane
from tests.conversions_service.api import body, put, storage_root, wait_ended
from tests.conversions_service.converters import SLOW_SECONDS_ENV

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]
TIME_LIMIT_SECONDS = 10.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """The cluster, whose workers import the test converters, with this process its driver."""
    saved = dict(os.environ)
    os.environ.update(PYTHONPATH=str(REPOSITORY), **{SLOW_SECONDS_ENV: "1"})
    with ray_cluster(tmp_path_factory.mktemp("ray")) as started:
        os.environ.update(driver_environment(started.token))
        try:
            yield started
        finally:
            import ray

            ray.shutdown()  # before the cluster goes (see tests/backends/test_ray.py)
            os.environ.clear()
            os.environ.update(saved)


def _attempt_pid(tmp_path: Path, conversion_id: str) -> int:
    """The process that ran the conversion (the test converters mark each attempt)."""
    [marker] = (tmp_path / "storage" / "output").glob(f"attempt-*-{conversion_id}")
    return int(marker.name.split("-")[1])


def _wait_gone(pid: int, within: float = 15.0) -> None:
    give_up = time.monotonic() + within
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        if time.monotonic() > give_up:
            raise AssertionError(f"the Ray worker {pid} still runs the cancelled conversion")
        time.sleep(0.1)


async def test_a_conversion_runs_as_a_ray_task_and_a_timeout_cancels_it(
    cluster: RayCluster, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "data",
        backend="ray",
        ray_address=cluster.address,
        converter="tests.conversions_service.converters:scripted",
        allow_storage=[f"{storage_root(tmp_path)}/"],
        conversion_timeout_seconds=TIME_LIMIT_SECONDS,
    )
    async with running_control_plane(
        settings, ManualClock(), backend=RayBackend(settings)
    ) as plane:
        assert (await put(plane, "quick", body(tmp_path, "slow.glb"))).status_code == 201
        done = await wait_ended(plane, "quick", within=60)
        assert done["status"] == "Succeeded", done
        ran_in = _attempt_pid(tmp_path, "quick")
        node_pids = {pid for node in cluster.nodes for pid in node.pids()}
        assert ran_in in node_pids and ran_in != os.getpid(), "a Ray worker ran it"

        started = time.monotonic()
        assert (await put(plane, "long", body(tmp_path, "sleep.glb"))).status_code == 201
        ended = await wait_ended(plane, "long", within=TIME_LIMIT_SECONDS + 30)
        assert time.monotonic() - started < TIME_LIMIT_SECONDS + 20
        assert ended["status"] == "Failed", ended
        limit = f"took longer than the limit of {TIME_LIMIT_SECONDS:g} seconds"
        assert limit in ended["error"]["message"]
        _wait_gone(_attempt_pid(tmp_path, "long"))
