"""What the usage tests share: sessions brought to Ready, stopped, and their metered rows."""

from __future__ import annotations

from typing import Any

from renderhub.store.records import UsageInterval
from renderhub.store.usage import UsageStore
from tests.conftest import API, ControlPlane, wait_for


async def make_ready(plane: ControlPlane, session_id: str, **body: Any) -> dict[str, Any]:
    response = await plane.create(session_id, models=["samples/cube.glb"], **body)
    assert response.status_code == 201, response.text
    return await plane.wait_status(session_id, "Ready")


async def stop(plane: ControlPlane, session_id: str) -> None:
    url = f"/accounts/{plane.account.id}/sessions/{session_id}/:stop?{API}"
    response = await plane.client.post(url, headers=plane.auth)
    assert response.status_code in (200, 202, 204), response.text


async def stored_status(plane: ControlPlane, session_id: str, *statuses: str) -> Any:
    """Wait for one of `statuses` in the store; the session's row."""

    async def reached() -> Any:
        row = await plane.row(session_id)
        return row if row.status.value in statuses else None

    return await wait_for(reached, within=15)


async def metered(plane: ControlPlane, session_id: str) -> list[UsageInterval]:
    store: UsageStore = plane.app.state.usage
    return await store.of_session(plane.account.id, session_id)
