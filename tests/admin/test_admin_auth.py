"""Every admin route, every method: without an admin token nothing is answered and nothing
changes. The routes are read from `renderhub.admin.routes.routes` (plus the control plane's
/metrics, which takes the admin token unless RENDERHUB_METRICS_PUBLIC is true), so a route
added later is checked without being listed here.

The dashboard's page and its static files are left out by design: they hold no data and must
load without a token (the page asks for it, then calls the admin API with it)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount, Route

from renderhub.admin.auth import ACCOUNT_TOKEN_REFUSED
from renderhub.admin.routes import routes as admin_routes
from renderhub.store.schema import metadata
from tests.conftest import ControlPlane

PAGES_WITHOUT_DATA = re.compile(r"^/admin/(dashboard|static)(/|$)")
PARAMETER = re.compile(r"\{([^}:]+)(:[^}]*)?\}")
BROKEN_CREDENTIALS = {
    "no header": None,
    "empty bearer": "Bearer ",
    "another scheme": "Basic YWRtaW46YWRtaW4=",
    "garbage": "Bearer garbage",
    "admin-looking garbage": "Bearer rhadm_" + "x" * 43,
}


def _calls(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path template) of every route, mounts included (a file under them)."""
    calls: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, Mount):
            calls.append(("GET", f"{route.path}/placeholder.js"))
        elif isinstance(route, Route):
            calls += [(method, route.path) for method in sorted(route.methods or ["GET"])]
    return [(method, path) for method, path in calls if not PAGES_WITHOUT_DATA.match(path)]


CALLS = _calls(admin_routes)


def _fill(template: str, plane: ControlPlane, session_id: str) -> str:
    """Real ids where the route takes them, so a route that forgot its check would act on a
    real account or session (and the snapshot below would show it)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if "session" in name:
            return session_id
        if "account" in name or name == "id":
            return plane.account.id
        return "placeholder"

    return PARAMETER.sub(value, template)


async def _snapshot(plane: ControlPlane) -> dict[str, list[Any]]:
    """Every row of every table."""
    engine = plane.context.access.accounts.engine
    rows: dict[str, list[Any]] = {}
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name] = sorted(map(tuple, result), key=repr)
    return rows


async def _ready_session(plane: ControlPlane) -> str:
    response = await plane.create("guarded", models=["samples/cube.glb"])
    assert response.status_code == 201, response.text
    await plane.wait_status("guarded", "Ready")
    return "guarded"


async def _call(plane: ControlPlane, method: str, url: str, authorization: str | None) -> Any:
    headers = {} if authorization is None else {"Authorization": authorization}
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    return await plane.client.request(method, url, headers=headers, content=body)


def test_the_routes_are_found() -> None:
    """The walk sees the admin API's own routes (it would pass vacuously on none)."""
    paths = {path for _, path in CALLS}
    assert {"/admin/accounts", "/admin/sessions", "/admin/conversions"} <= paths
    assert ("POST", "/admin/sessions/{account_id}/{session_id}:stop") in CALLS


async def test_every_route_refuses_a_missing_or_bad_credential(plane: ControlPlane) -> None:
    session_id = await _ready_session(plane)
    revoked = await plane.app.state.admin_tokens.create(plane.clock.now().timestamp(), "old")
    assert await plane.app.state.admin_tokens.revoke(revoked.id, plane.clock.now().timestamp())
    before = await _snapshot(plane)
    credentials = {**BROKEN_CREDENTIALS, "revoked admin token": f"Bearer {revoked.token}"}
    for method, template in [*CALLS, *_metrics_calls(plane)]:
        url = _fill(template, plane, session_id)
        for what, authorization in credentials.items():
            response = await _call(plane, method, url, authorization)
            assert response.status_code == 401, (method, url, what, response.text)
            header = response.headers.get("www-authenticate")
            assert header == 'Bearer error="invalid_token"', (method, url, what)
            if method != "HEAD":
                assert response.json()["error"]["code"] == "Unauthorized"
    assert await _snapshot(plane) == before
    assert plane.backend.stops == []


async def test_every_route_refuses_an_accounts_access_token(plane: ControlPlane) -> None:
    session_id = await _ready_session(plane)
    before = await _snapshot(plane)
    for method, template in [*CALLS, *_metrics_calls(plane)]:
        url = _fill(template, plane, session_id)
        response = await _call(plane, method, url, f"Bearer {plane.token}")
        assert response.status_code == 403, (method, url, response.text)
        if method != "HEAD":
            error = response.json()["error"]
            assert error == {"code": "Forbidden", "message": ACCOUNT_TOKEN_REFUSED}, url
    assert await _snapshot(plane) == before
    assert plane.backend.stops == []


def _metrics_calls(plane: ControlPlane) -> list[tuple[str, str]]:
    """The control plane's /metrics where the app serves it outside the admin routes and it
    takes the admin token (the default)."""
    served = any(getattr(route, "path", None) == "/metrics" for route in plane.app.routes)
    if plane.settings.metrics_public or not served or ("GET", "/metrics") in CALLS:
        return []
    return [("GET", "/metrics")]


async def test_an_admin_token_is_no_accounts_token(plane: ControlPlane) -> None:
    response = await plane.client.get(plane.sessions_url(), headers=plane.admin_auth)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"


@pytest.mark.parametrize("path", ["/admin/accounts", "/admin/sessions", "/admin/conversions"])
async def test_the_admin_token_opens_them(plane: ControlPlane, path: str) -> None:
    response = await plane.client.get(path, headers=plane.admin_auth)
    assert response.status_code == 200, response.text


async def test_the_pages_left_out_hold_no_data(plane: ControlPlane) -> None:
    """What the walk leaves out loads without a token and shows nothing of the store."""
    session_id = await _ready_session(plane)
    pages = [
        route.path
        for route in admin_routes
        if isinstance(route, Route) and PAGES_WITHOUT_DATA.match(route.path)
    ]
    assert "/admin/dashboard" in pages
    for path in pages:
        response = await plane.client.get(path)
        assert response.status_code == 200, path
        assert plane.account.id not in response.text and session_id not in response.text
