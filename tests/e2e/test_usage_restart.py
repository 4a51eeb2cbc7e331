"""Metering across a crash, with real processes: `renderhub serve` on the fake backend (its
hosts live on in the journal), sessions made Ready, the server SIGKILLed mid-way and started
again, the sessions stopped. The usage report equals the sum of each session's (ended - ready)
as the store holds them, to the millisecond, with no interval counted twice; and
`renderhub usage` gives the same JSON through the server and on its store."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from renderhub.store.admin_tokens import AdminTokenStore
from renderhub.store.database import migrate, open_engine
from renderhub.store.schema import sessions, usage
from tests.conftest import API
from tests.e2e.server import ServerProcess, SignedIn, free_port, sign_in

pytestmark = pytest.mark.e2e

ENVIRONMENT = {
    "RENDERHUB_BACKEND": "fake",
    "RENDERHUB_CAPACITY_PREMIUM": "2",
    "RENDERHUB_PRICE_STANDARD_HOUR": "3",
    "RENDERHUB_PRICE_PREMIUM_HOUR": "12",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    environment = {**ENVIRONMENT, "RENDERHUB_FAKE_JOURNAL": str(tmp_path / "journal.jsonl")}
    server = ServerProcess(tmp_path / "data", free_port(), env=environment)
    try:
        yield server
    finally:
        server.terminate()


def _database(server: ServerProcess) -> str:
    return f"sqlite+aiosqlite:///{server.data_dir / 'renderhub.db'}"


async def _admin_token(server: ServerProcess) -> str:
    """An admin token made on the server's store, before the server starts."""
    server.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(_database(server))
    try:
        await migrate(engine)
        made = await AdminTokenStore(engine).create(time.time(), "usage restart test")
    finally:
        await engine.dispose()
    return made.token


async def _stored(server: ServerProcess) -> tuple[list[Any], list[Any]]:
    engine = open_engine(_database(server))
    try:
        async with engine.connect() as connection:
            session_rows = list(await connection.execute(select(sessions)))
            usage_rows = list(await connection.execute(select(usage)))
    finally:
        await engine.dispose()
    return session_rows, usage_rows


def _url(signed_in: SignedIn, session_id: str, action: str = "") -> str:
    return f"/accounts/{signed_in.account_id}/sessions/{session_id}{action}?{API}"


def _create(signed_in: SignedIn, session_id: str, size: str = "Standard") -> None:
    body = {"maxLeaseTimeMinutes": 30, "size": size}
    response = signed_in.client.put(_url(signed_in, session_id), json=body)
    assert response.status_code == 201, response.text


def _stop(signed_in: SignedIn, session_id: str) -> None:
    response = signed_in.client.post(_url(signed_in, session_id, "/:stop"))
    assert response.status_code == 204, response.text


def _wait_status(signed_in: SignedIn, session_id: str, *statuses: str) -> None:
    give_up = time.monotonic() + 20
    while (body := signed_in.client.get(_url(signed_in, session_id)).json())[
        "status"
    ] not in statuses:
        assert time.monotonic() < give_up, f"never {statuses}; last: {body}"
        time.sleep(0.05)


def _renderhub_usage(*arguments: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "renderhub", "usage", "--output", "json", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **ENVIRONMENT},
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_a_crash_and_restart_lose_nothing_and_count_nothing_twice(
    server: ServerProcess,
) -> None:
    admin_token = asyncio.run(_admin_token(server))
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    server.start()
    signed_in = sign_in(server)
    for session_id, size in (("before", "Standard"), ("across", "Standard"), ("big", "Premium")):
        _create(signed_in, session_id, size)
    for session_id in ("before", "across", "big"):
        _wait_status(signed_in, session_id, "Ready")
    time.sleep(0.4)
    _stop(signed_in, "before")  # ended before the crash
    time.sleep(0.3)
    server.kill()  # `across` and `big` are Ready: their rows are open
    _, open_rows = asyncio.run(_stored(server))
    assert sorted((row.session_id, row.ended_at is None) for row in open_rows) == [
        ("across", True),
        ("before", False),
        ("big", True),
    ]
    time.sleep(0.5)  # the hosts run on while nobody watches: that is Ready time too
    server.start()
    _create(signed_in, "after")
    _wait_status(signed_in, "after", "Ready")
    time.sleep(0.3)
    for session_id in ("across", "big", "after"):
        _stop(signed_in, session_id)
    for session_id in ("before", "across", "big", "after"):
        _wait_status(signed_in, session_id, "Stopped")

    session_rows, usage_rows = asyncio.run(_stored(server))
    ready_time = {row.id: row.ended_at - row.ready_at for row in session_rows}
    assert sorted(ready_time) == ["across", "after", "before", "big"]
    # One interval per session, exactly the session's own moments: nothing counted twice.
    assert sorted((r.session_id, r.ready_at, r.ended_at) for r in usage_rows) == sorted(
        (row.id, row.ready_at, row.ended_at) for row in session_rows
    )
    assert ready_time["across"] > 1.0, "the time the server was down is metered"

    until = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    params = {"since": since, "until": until}
    admin = {"Authorization": f"Bearer {admin_token}"}
    response = httpx.get(f"{server.url}/admin/usage", params=params, headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["total"]["seconds"] == pytest.approx(sum(ready_time.values()), abs=0.001)
    standard = ready_time["before"] + ready_time["across"] + ready_time["after"]
    totals = {(t["accountId"], t["size"]): t["seconds"] for t in report["totals"]}
    assert totals == {
        (signed_in.account_id, "Premium"): pytest.approx(ready_time["big"], abs=0.0005),
        (signed_in.account_id, "Standard"): pytest.approx(standard, abs=0.0005),
    }
    assert report["total"]["cost"] == pytest.approx(
        (ready_time["big"] * 12 + standard * 3) / 3600, abs=1e-6
    )

    window = ["--since", since, "--until", until]
    through_server = _renderhub_usage(
        "--endpoint", server.url, "--admin-token", admin_token, *window
    )
    on_the_store = _renderhub_usage("--data-dir", str(server.data_dir), *window)
    assert through_server == report
    assert on_the_store == report
