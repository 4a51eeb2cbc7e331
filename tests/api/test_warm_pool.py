"""Warm pools on the fake backend: hosts kept idle per size, taken atomically by creates,
refilled, counted against capacity, never leaked past a restart, replaced when they die."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from renderhub.cli.common import load_settings
from renderhub.clock import ManualClock
from renderhub.sizes import SessionSize
from renderhub.store.pool import PoolStatus, PoolStore
from renderhub.testing import FakeBackend
from tests.conftest import ControlPlane, make_settings, running_control_plane


def _pool(plane: ControlPlane) -> PoolStore:
    return plane.scheduler.pool._store


async def _idle(plane: ControlPlane) -> list[str]:
    records = await _pool(plane).owned(plane.context.service.replica_id)
    return [record.id for record in records if record.status is PoolStatus.IDLE]


async def _maintained(plane: ControlPlane) -> list[str]:
    """Run the pool's upkeep and let its warm-ups finish; the idle hosts' ids."""
    await plane.scheduler.pool.maintain()
    for _ in range(50):
        idle = await _idle(plane)
        if len(idle) == await _pool(plane).count(SessionSize.STANDARD):
            return idle
        await plane.scheduler.pool.maintain()
    return await _idle(plane)


async def test_a_create_takes_a_warm_host_and_the_pool_refills(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", warm_standard=2)
    async with running_control_plane(settings, ManualClock()) as plane:
        assert len(await _maintained(plane)) == 2
        assert len(plane.backend.idle_starts) == 2
        response = await plane.create("warm", models=["samples/cube.glb"])
        assert response.status_code == 201, response.text
        body = await plane.wait_status("warm", "Ready")
        assert body["hostname"] == "127.0.0.1" and body["handshakePort"] >= 49152
        assert plane.backend.starts == []  # no cold start: the warm host was assigned
        assert [assign.session for assign in plane.backend.assigns] == ["warm"]
        assert len(await _maintained(plane)) == 2  # refilled
        assert len(plane.backend.idle_starts) == 3


async def test_warm_hosts_count_against_capacity(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", warm_standard=2, capacity_standard=3)
    async with running_control_plane(settings, ManualClock()) as plane:
        await _maintained(plane)
        for number in range(3):
            response = await plane.create(f"s{number}")
            assert response.status_code == 201, response.text
            await _maintained(plane)
            sessions = len(await plane.context.service.list_active(plane.account.id))
            assert sessions + await _pool(plane).count(SessionSize.STANDARD) <= 3
        refused = await plane.create("one-too-many")
        assert refused.status_code == 429
        assert plane.backend.starts == []  # every session took a warm host: the pool refilled
        assert len(plane.backend.assigns) == 3


async def test_warm_hosts_are_readopted_or_stopped_after_a_restart(tmp_path: Path) -> None:
    clock, backend = ManualClock(), FakeBackend()
    warm = make_settings(tmp_path / "data", warm_standard=2)
    async with running_control_plane(warm, clock, backend=backend) as plane:
        before = set(await _maintained(plane))
    async with running_control_plane(warm, clock, backend=backend) as plane:
        assert set(await _maintained(plane)) == before  # re-adopted, not started again
        assert len(backend.idle_starts) == 2
    cold = make_settings(tmp_path / "data", warm_standard=0)
    async with running_control_plane(cold, clock, backend=backend) as plane:
        await plane.scheduler.pool.maintain()
        assert await _pool(plane).count(SessionSize.STANDARD) == 0
        assert len([stop for stop in backend.stops if stop.session is None]) == 2


async def test_a_warm_host_that_dies_is_replaced(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", warm_standard=1)
    async with running_control_plane(settings, ManualClock()) as plane:
        (first,) = await _maintained(plane)
        record = await _pool(plane).get(first)
        assert record is not None and record.backend_state is not None
        plane.backend.kill_host(record.backend_state, "killed by the test")
        await plane.scheduler.pool.check()
        assert await _pool(plane).get(first) is None
        (second,) = await _maintained(plane)
        assert second != first


@pytest.mark.parametrize(
    ("variables", "sentence"),
    [
        ({"warm_standard": 5, "capacity_standard": 4}, "is larger than RENDERHUB_CAPACITY"),
        ({"warm_premium": -1}, "greater than or equal to 0"),
    ],
)
def test_pool_sizes_are_checked_at_start(
    tmp_path: Path, variables: dict[str, int], sentence: str
) -> None:
    with pytest.raises(click.ClickException) as raised:
        load_settings(data_dir=tmp_path, **variables)
    assert sentence in raised.value.message
    assert "\n" not in raised.value.message
