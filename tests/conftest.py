"""Shared fixtures: a control plane in-process (real store, the fake backend, a manual clock)
and helpers to wait on conditions with a deadline.

The in-process tier tests the control plane's logic, so its hosts are `FakeBackend`'s: each
test scripts how a session's host behaves through `plane.backend`. Real hosts are the
end-to-end tier's (tests/e2e, tests/host, tests/backends)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from renderhub.api.app import create_app
from renderhub.api.context import ApiContext
from renderhub.backends.base import Backend
from renderhub.clock import ManualClock
from renderhub.samples import install_samples
from renderhub.sessions.scheduler import Scheduler
from renderhub.settings import Settings
from renderhub.status import SessionStatus
from renderhub.store.accounts import NewAccount
from renderhub.testing import FakeBackend
from tests.azurite import azurite  # noqa: F401  (the session's Azurite, for any test package)
from tests.postgres import create_database, drop_database, postgres_server

API = "api-version=2021-01-01"


async def wait_for(
    check: Callable[[], Awaitable[Any]], *, within: float = 10.0, every: float = 0.05
) -> Any:
    """Poll `check` until it returns something truthy; fail after `within` seconds."""
    give_up = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"condition not met within {within} s (last: {result!r})")
        await asyncio.sleep(every)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "start_timeout_seconds": 30.0,
        "stop_timeout_seconds": 3.0,
        "health_interval_seconds": 0.5,
        "capacity_standard": 4,
        "capacity_premium": 1,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class ControlPlane:
    """A control plane running in this test's event loop, with a client wired to it."""

    app: Starlette
    client: httpx.AsyncClient
    clock: ManualClock
    settings: Settings
    account: NewAccount
    token: str
    admin_token: str

    @property
    def context(self) -> ApiContext:
        context: ApiContext = self.app.state.context
        return context

    @property
    def backend(self) -> FakeBackend:
        """The fake backend this plane runs on, to script its hosts and read its calls."""
        backend = self.context.service.backend
        assert isinstance(backend, FakeBackend), "this control plane runs on real hosts"
        return backend

    @property
    def scheduler(self) -> Scheduler:
        scheduler: Scheduler = self.app.state.scheduler
        return scheduler

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def admin_auth(self) -> dict[str, str]:
        """The admin API's credential (an admin token made for this plane)."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def sessions_url(self, session_id: str = "", account_id: str | None = None) -> str:
        base = f"/accounts/{account_id or self.account.id}/sessions"
        return f"{base}/{session_id}?{API}" if session_id else f"{base}?{API}"

    def refresh_token(self) -> None:
        """A fresh token, for tests that move the clock past a token's 24 hours."""
        self.token = self.context.access.issue(self.account.id)

    async def new_account(self) -> tuple[NewAccount, str]:
        account = await self.context.access.create_account()
        return account, self.context.access.issue(account.id)

    async def create(self, session_id: str, **body: Any) -> httpx.Response:
        payload = {"maxLeaseTimeMinutes": 10, "size": "Standard", **body}
        return await self.client.put(self.sessions_url(session_id), json=payload, headers=self.auth)

    async def get(self, session_id: str) -> dict[str, Any]:
        response = await self.client.get(self.sessions_url(session_id), headers=self.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_status(self, session_id: str, *statuses: str, within: float = 15.0) -> dict:
        async def reached() -> dict[str, Any] | None:
            body = await self.get(session_id)
            return body if body["status"] in statuses else None

        result: dict[str, Any] = await wait_for(reached, within=within)
        return result

    async def row(self, session_id: str, account_id: str | None = None) -> Any:
        return await self.context.service.store.get(account_id or self.account.id, session_id)


@asynccontextmanager
async def running_control_plane(
    settings: Settings,
    clock: ManualClock,
    *,
    backend: Backend | None = None,
    run_scheduler: bool = False,
) -> AsyncIterator[ControlPlane]:
    """Start the app's lifespan (store, backend, reconcile) and yield a wired client.

    The backend is a new `FakeBackend` unless given: pass the same one to a second plane on
    the same data dir to restart the control plane with its hosts still "running". The
    scheduler loop is off by default: tests move the clock and call its steps."""
    install_samples(settings.models_dir)
    backend = backend if backend is not None else FakeBackend(settings)
    app = create_app(settings, clock=clock, backend=backend, run_scheduler=run_scheduler)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://renderhub.test"
        ) as client:
            context: ApiContext = app.state.context
            if not run_scheduler:
                await app.state.scheduler.reconcile()
            account = await context.access.create_account()
            admin = await app.state.admin_tokens.create(clock.now().timestamp(), "tests")
            yield ControlPlane(
                app=app,
                client=client,
                clock=clock,
                settings=settings,
                account=account,
                token=context.access.issue(account.id),
                admin_token=admin.token,
            )


async def stop_all_hosts(plane: ControlPlane) -> None:
    """Stop every host this test started, so no process outlives it."""
    await plane.context.service.tasks.aclose()  # bring-ups record their hosts, then end
    store = plane.context.service.store
    backend = plane.context.service.backend
    for record in await store.with_status(set(SessionStatus)):
        if record.backend_state:
            await backend.stop(record.backend_state)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def plane(settings: Settings, clock: ManualClock) -> AsyncIterator[ControlPlane]:
    async with running_control_plane(settings, clock) as control_plane:
        try:
            yield control_plane
        finally:
            await stop_all_hosts(control_plane)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback only; a proxy in the environment must not get in the way."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the whole run (the given one, or a throwaway one)."""
    with postgres_server() as url:
        yield url


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards; its SQLAlchemy URL."""
    url = await create_database(postgres_admin_url)
    try:
        yield url
    finally:
        await drop_database(postgres_admin_url, url)
