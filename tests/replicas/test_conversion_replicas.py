"""Three control-plane replicas sharing one PostgreSQL store race for the same conversions:
each conversion runs exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderhub.clock import ManualClock
from renderhub.conversions.runner import ConversionRunner
from renderhub.testing import FakeBackend
from tests.conftest import API, make_settings, wait_for
from tests.conversions_service.api import body, storage_root
from tests.conversions_service.converters import SLOW_SECONDS_ENV
from tests.replicas.test_shared_store import replicas

CONVERSIONS = 6


async def test_replicas_racing_for_conversions_run_each_exactly_once(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SLOW_SECONDS_ENV, "0.5")
    settings = [
        make_settings(
            tmp_path / f"replica{index}",
            database_url=postgres_url,
            converter="tests.conversions_service.converters:scripted",
            allow_storage=[f"{storage_root(tmp_path)}/"],
            conversion_concurrency=1,
        )
        for index in range(3)
    ]
    async with replicas(3, settings, ManualClock(), FakeBackend()) as planes:
        first = planes[0]
        account = await first.context.access.create_account()
        auth = {"Authorization": f"Bearer {first.context.access.issue(account.id)}"}
        base = f"/accounts/{account.id}/conversions"
        for index in range(CONVERSIONS):
            url = f"{base}/c{index}?{API}"
            response = await first.client.put(url, json=body(tmp_path, "slow.glb"), headers=auth)
            assert response.status_code == 201, response.text
        runners: list[ConversionRunner] = [plane.app.state.conversion_runner for plane in planes]
        for runner in runners:
            runner.wake()  # all three race for the same rows

        async def all_ended() -> list[dict] | None:
            listed = await first.client.get(f"{base}?{API}", headers=auth)
            conversions: list[dict] = listed.json()["conversions"]
            done = all(c["status"] in ("Succeeded", "Failed") for c in conversions)
            return conversions if done else None

        ended = await wait_for(all_ended, within=60)
        assert [c["status"] for c in ended] == ["Succeeded"] * CONVERSIONS, ended
        store = first.context.conversions.store
        records = [await store.get(account.id, f"c{index}") for index in range(CONVERSIONS)]
        assert [record.attempts for record in records if record] == [1] * CONVERSIONS
        markers = list((tmp_path / "storage" / "output").glob("attempt-*"))
        ran = sorted(marker.name.rsplit("-", 1)[1] for marker in markers)
        assert ran == [f"c{index}" for index in range(CONVERSIONS)], "each exactly once"
