"""Three real `renderhub serve` replicas on one PostgreSQL, with the fake backend's journal
shared between them: one replica after another is killed with SIGKILL during churn and started
again, and no session is lost, no host is left without its session, and none is stopped twice.
And a second control plane on one SQLite file refuses to start."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from renderhub.store.database import open_engine
from renderhub.store.schema import sessions
from renderhub.testing import read_journal
from tests.conftest import API
from tests.e2e.server import ServerProcess, free_port, renderhub
from tests.replicas.support import access_token, new_account

pytestmark = pytest.mark.e2e

CHURN_SECONDS = 10.0  # at least; and until every kill and restart is done
KILLS = 4


async def _rows(database: str) -> dict[str, tuple[str, float | None]]:
    engine = open_engine(database)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(sessions.c.id, sessions.c.status, sessions.c.host_stopped_at)
            )
            return {row.id: (row.status, row.host_stopped_at) for row in rows}
    finally:
        await engine.dispose()


class Churn:
    """Creates and stops sessions through whichever replica answers."""

    def __init__(self, servers: list[ServerProcess], account_id: str, token: str) -> None:
        self.servers = servers
        self.account_id = account_id
        self.headers = {"Authorization": f"Bearer {token}"}
        self.created: list[str] = []
        self.client = httpx.AsyncClient(timeout=5, trust_env=False)

    async def send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """Try the replicas in a random order until one answers."""
        for server in random.sample(self.servers, len(self.servers)):
            try:
                return await self.client.request(
                    method, f"{server.url}{path}", headers=self.headers, **kwargs
                )  # type: ignore[arg-type]
            except httpx.TransportError:
                continue
        raise AssertionError("no replica answered")

    async def create(self, number: int) -> None:
        session_id = f"churn{number}"
        body = {"maxLeaseTimeMinutes": 30, "size": "Standard"}
        path = f"/accounts/{self.account_id}/sessions/{session_id}?{API}"
        response = await self.send("PUT", path, json=body)
        if response.status_code in (200, 201):
            self.created.append(session_id)
        else:
            assert response.status_code == 429, response.text

    async def stop(self, session_id: str) -> None:
        path = f"/accounts/{self.account_id}/sessions/{session_id}/:stop?{API}"
        response = await self.send("POST", path)
        assert response.status_code == 204, response.text


async def _kill_and_restart(servers: list[ServerProcess], kills: int) -> None:
    """SIGKILL a random replica `kills` times, each at a random moment, and start it again."""
    for _ in range(kills):
        await asyncio.sleep(random.uniform(0.5, 2.0))
        victim = random.choice(servers)
        await asyncio.to_thread(victim.kill)
        await asyncio.sleep(random.uniform(0.0, 0.5))
        await asyncio.to_thread(victim.start)


async def test_replicas_killed_during_churn_lose_nothing(tmp_path: Path, postgres_url: str) -> None:
    journal = tmp_path / "journal.jsonl"
    environment = {
        "RENDERHUB_DATABASE_URL": postgres_url,
        "RENDERHUB_BACKEND": "fake",
        "RENDERHUB_FAKE_JOURNAL": str(journal),
        "RENDERHUB_CAPACITY_STANDARD": "1000",
        "RENDERHUB_CLAIM_SECONDS": "3",
    }
    servers = [
        ServerProcess(tmp_path / f"replica{index}", free_port(), env=environment)
        for index in range(3)
    ]
    try:
        for server in servers:
            await asyncio.to_thread(server.start)
        account_id, key = await new_account(postgres_url, "churn")
        token = await access_token(servers[0].url, account_id, key)
        churn = Churn(servers, account_id, token)
        stop_at = time.monotonic() + CHURN_SECONDS
        killer = asyncio.create_task(_kill_and_restart(servers, KILLS))
        number = 0
        while time.monotonic() < stop_at or not killer.done():
            number += 1
            await churn.create(number)
            if number % 3 == 0:
                await churn.stop(random.choice(churn.created))
            await asyncio.sleep(0.02)
        await killer
        assert len(churn.created) >= 100, len(churn.created)
        for session_id in churn.created:
            await churn.stop(session_id)
        await churn.client.aclose()

        async def all_stopped() -> bool:
            rows = await _rows(postgres_url)
            return all(
                status == "Stopped" and stopped is not None for status, stopped in rows.values()
            )

        give_up = time.monotonic() + 60
        while not await all_stopped():
            assert time.monotonic() < give_up, "sessions still not stopped after 60 s"
            await asyncio.sleep(0.2)
    finally:
        for server in servers:
            await asyncio.to_thread(server.terminate)

    rows = await _rows(postgres_url)
    assert set(churn.created) <= set(rows), "a created session was lost"
    events = read_journal(journal)
    hosts = {event["host"] for event in events if event["op"] == "start"}
    stops = Counter(
        event["host"] for event in events if event["op"] == "stop" and not event.get("already")
    )
    assert hosts and set(stops) == hosts, "a host was left running without its session"
    twice = [host for host, count in stops.items() if count > 1]
    assert not twice, f"hosts stopped twice: {twice}"
    started_sessions = Counter(
        (event["account"], event["session"]) for event in events if event["op"] == "start"
    )
    assert max(started_sessions.values()) == 1, "a session got a second host"


def test_a_second_control_plane_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, free_port())
    first.start()
    try:
        second = renderhub("serve", "--port", str(free_port()), data_dir=data_dir)
        assert second.returncode != 0
        assert "SQLite serves one replica" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.terminate()
