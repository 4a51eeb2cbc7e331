"""Several control-plane replicas in this process, sharing one PostgreSQL store and one fake
backend: capacity is admitted atomically, every lease is expired exactly once, a token of one
replica is good at all, and a replica's work passes to the others when it goes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette

from renderhub.api.app import create_app
from renderhub.api.context import ApiContext
from renderhub.clock import ManualClock
from renderhub.settings import Settings
from renderhub.status import SessionStatus
from renderhub.testing import Behaviour, FakeBackend
from tests.conftest import API, make_settings, wait_for


@dataclass
class Replica:
    app: Starlette
    client: httpx.AsyncClient

    @property
    def context(self) -> ApiContext:
        context: ApiContext = self.app.state.context
        return context


@asynccontextmanager
async def replicas(
    count: int, settings: list[Settings], clock: ManualClock, backend: FakeBackend
) -> AsyncIterator[list[Replica]]:
    async with AsyncExitStack() as stack:
        started = []
        for index in range(count):
            app = create_app(settings[index], clock=clock, backend=backend, run_scheduler=False)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://replica{index}.test"
            )
            await stack.enter_async_context(client)
            await app.state.scheduler.reconcile()
            started.append(Replica(app, client))
        yield started


def _settings(tmp_path: Path, database: str, count: int, **overrides: object) -> list[Settings]:
    return [
        make_settings(tmp_path / f"replica{index}", database_url=database, **overrides)
        for index in range(count)
    ]


async def _signed_in(first: Replica) -> tuple[str, dict[str, str]]:
    account = await first.context.access.create_account()
    token = first.context.access.issue(account.id)
    return account.id, {"Authorization": f"Bearer {token}"}


def _key_files(folder: Path) -> set[bytes]:
    return {path.read_bytes() for path in folder.glob("replica*/keys/token-signing.pem")}


def _url(account_id: str, session_id: str) -> str:
    return f"/accounts/{account_id}/sessions/{session_id}?{API}"


async def test_concurrent_creates_over_three_replicas_admit_exactly_the_capacity(
    tmp_path: Path, postgres_url: str
) -> None:
    clock = ManualClock()
    backend = FakeBackend()
    settings = _settings(tmp_path, postgres_url, 3, capacity_standard=20)
    async with replicas(3, settings, clock, backend) as planes:
        account_id, auth = await _signed_in(planes[0])
        body = {"maxLeaseTimeMinutes": 10, "size": "Standard"}

        async def create(index: int) -> int:
            replica = planes[index % 3]
            response = await replica.client.put(
                _url(account_id, f"s{index}"), json=body, headers=auth
            )
            return response.status_code

        statuses = Counter(await asyncio.gather(*(create(i) for i in range(300))))
        assert statuses == {201: 20, 429: 280}, statuses
        active = await planes[1].context.service.list_active(account_id)
        assert len(active) == 20


async def test_a_token_of_one_replica_is_good_at_every_replica(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = _settings(tmp_path, postgres_url, 3)
    async with replicas(3, settings, ManualClock(), FakeBackend()) as planes:
        account_id, auth = await _signed_in(planes[2])
        for replica in planes:
            listing = await replica.client.get(
                f"/accounts/{account_id}/sessions?{API}", headers=auth
            )
            assert listing.status_code == 200, listing.text
        assert len(_key_files(tmp_path)) == 1  # every replica keeps the store's one key


async def test_leases_expiring_together_are_each_expired_and_stopped_once(
    tmp_path: Path, postgres_url: str
) -> None:
    clock = ManualClock()
    backend = FakeBackend()
    settings = _settings(tmp_path, postgres_url, 3, capacity_standard=250)
    async with replicas(3, settings, clock, backend) as planes:
        account_id, auth = await _signed_in(planes[0])
        body = {"maxLeaseTimeMinutes": 5, "size": "Standard"}
        for index in range(200):
            response = await planes[index % 3].client.put(
                _url(account_id, f"lease{index}"), json=body, headers=auth
            )
            assert response.status_code == 201, response.text

        async def all_ready() -> bool:
            ready = await planes[0].context.service.store.with_status({SessionStatus.READY})
            return len(ready) == 200

        await wait_for(all_ready, within=30)
        clock.advance(timedelta(minutes=5, seconds=1))
        await asyncio.gather(*(p.app.state.scheduler.expire_overdue() for p in planes))

        async def all_torn_down() -> bool:
            expired = await planes[0].context.service.store.with_status({SessionStatus.EXPIRED})
            return len(expired) == 200 and all(r.host_stopped_at is not None for r in expired)

        await wait_for(all_torn_down, within=30)
        stops = Counter(stop.session for stop in backend.stops)
        assert len(stops) == 200 and set(stops.values()) == {1}, stops.most_common(3)


async def test_the_work_of_a_replica_that_shut_down_passes_to_another(
    tmp_path: Path, postgres_url: str
) -> None:
    clock = ManualClock()
    backend = FakeBackend(default=Behaviour.NEVER_READY)
    settings = _settings(tmp_path, postgres_url, 2)
    async with replicas(1, settings[1:], clock, backend) as survivors:
        async with replicas(1, settings[:1], clock, backend) as leaving:
            account_id, auth = await _signed_in(leaving[0])
            response = await leaving[0].client.put(
                _url(account_id, "handed-over"),
                json={"maxLeaseTimeMinutes": 5, "size": "Standard"},
                headers=auth,
            )
            assert response.status_code == 201
            record = await wait_for(
                lambda: _attached(leaving[0], account_id, "handed-over"), within=10
            )
            assert record.claimed_by == leaving[0].context.service.replica_id
        # The first replica shut down in order and handed its claims back.
        survivor = survivors[0]
        taken = await survivor.app.state.scheduler.take_over()
        assert [r.id for r in taken] == ["handed-over"]
        assert taken[0].backend_state is not None
        polls_before = backend.polls(taken[0].backend_state)
        state = taken[0].backend_state
        await wait_for(lambda: _polled_since(backend, state, polls_before), within=10)
        stopped = await survivor.client.post(
            f"/accounts/{account_id}/sessions/handed-over/:stop?{API}", headers=auth
        )
        assert stopped.status_code == 204
        await wait_for(lambda: _host_stopped(survivor, account_id, "handed-over"), within=10)
        assert len(backend.starts) == 1  # the host was adopted, not started again
        assert [stop.session for stop in backend.stops] == ["handed-over"]


async def _polled_since(backend: FakeBackend, state: dict[str, object], before: int) -> bool:
    return backend.polls(state) > before


async def _host_stopped(replica: Replica, account_id: str, session_id: str) -> bool:
    record = await replica.context.service.store.get(account_id, session_id)
    return record is not None and record.host_stopped_at is not None


async def _attached(replica: Replica, account_id: str, session_id: str) -> object:
    record = await replica.context.service.store.get(account_id, session_id)
    return record if record is not None and record.hostname else None
