"""The host's HTTP app in process: /health in each phase, the control endpoint, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from renderhub.host.app import build_app
from renderhub.host.deadline import Deadline
from renderhub.host.limits import PolygonBudget
from renderhub.host.scene import LoadedModel, LoadedScene
from renderhub.host.state import HostState
from renderhub.sizes import SessionSize

TOKEN = "s3cret"
DEADLINE = 4_000_000_000.0


def make_state(limit: int | None = 1000, size: SessionSize = SessionSize.STANDARD) -> HostState:
    return HostState(
        session_id="abc",
        budget=PolygonBudget(size, limit),
        deadline=Deadline(DEADLINE),
        models_total=2,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def scene_of(*polygons: int) -> LoadedScene:
    models = tuple(LoadedModel(f"m{i}.glb", (), count, 10) for i, count in enumerate(polygons))
    return LoadedScene(models=models)


@pytest.fixture
def state() -> HostState:
    return make_state()


@pytest.fixture
async def client(state: HostState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(state, TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        yield client


async def test_health_while_loading(client: httpx.AsyncClient, state: HostState) -> None:
    state.model_loaded()

    response = await client.get("/health")

    assert response.status_code == 503
    assert response.json() == {
        "status": "loading",
        "sessionId": "abc",
        "modelsLoaded": 1,
        "modelsTotal": 2,
    }


async def test_health_when_ready(client: httpx.AsyncClient, state: HostState) -> None:
    state.mark_ready(scene_of(300, 400), 0.25)

    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "sessionId": "abc",
        "polygons": 700,
        "polygonLimit": 1000,
        "overLimit": False,
        "message": None,
        "models": [
            {"url": "m0.glb", "polygons": 300, "bytes": 10},
            {"url": "m1.glb", "polygons": 400, "bytes": 10},
        ],
        "deadline": DEADLINE,
        "loadSeconds": 0.25,
    }


async def test_health_over_the_limit(client: httpx.AsyncClient, state: HostState) -> None:
    state.mark_ready(scene_of(25_000_000), 1.0)

    body = (await client.get("/health")).json()

    assert body["status"] == "ready"
    assert body["overLimit"] is True
    assert body["message"] == (
        "The models have 25,000,000 polygons, more than the Standard size's limit of 1,000; "
        "a checkerboard is shown in their place. Use a Premium session for models this large."
    )


def test_premium_over_its_limit_does_not_suggest_premium() -> None:
    message = PolygonBudget(SessionSize.PREMIUM, 10).message(11)

    assert message is not None
    assert "Premium size's limit of 10" in message
    assert "Use a Premium session" not in message


def test_no_limit_is_never_exceeded() -> None:
    assert PolygonBudget(SessionSize.PREMIUM, None).message(10**12) is None


async def test_health_after_a_failure(client: httpx.AsyncClient, state: HostState) -> None:
    state.mark_failed("Could not load model 'x.glb': it is broken.", 0.1)

    response = await client.get("/health")

    assert response.status_code == 500
    assert response.json() == {
        "status": "error",
        "sessionId": "abc",
        "message": "Could not load model 'x.glb': it is broken.",
    }


def test_the_state_moves_forward_only_once(state: HostState) -> None:
    state.mark_failed("no", 0.1)

    with pytest.raises(RuntimeError):
        state.mark_ready(scene_of(1), 0.1)


async def test_moving_the_deadline(client: httpx.AsyncClient, state: HostState) -> None:
    response = await client.post(
        "/control/deadline", json={"deadline": 4_000_000_100}, headers=bearer(TOKEN)
    )

    assert response.status_code == 200
    assert response.json() == {"deadline": 4_000_000_100.0}
    assert state.deadline.epoch == 4_000_000_100.0


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"}],
)
async def test_the_control_endpoint_needs_the_token(
    client: httpx.AsyncClient, state: HostState, headers: dict[str, str]
) -> None:
    response = await client.post("/control/deadline", json={"deadline": 1.0}, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    assert state.deadline.epoch == DEADLINE


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", 'The body must be JSON: {"deadline": <epoch seconds>}.'),
        (b"[]", "The body must be a JSON object."),
        (b"{}", "'deadline' is required."),
        (b'{"deadline": "soon"}', "'deadline' must be a positive number of seconds"),
        (b'{"deadline": true}', "'deadline' must be a positive number of seconds"),
        (b'{"deadline": -1}', "'deadline' must be a positive number of seconds"),
        (b'{"deadline": NaN}', "'deadline' must be a positive number of seconds"),
        (b'{"deadline": 1, "when": 2}', "'when' is not a field this request takes"),
    ],
)
async def test_a_bad_deadline_body_is_a_400(
    client: httpx.AsyncClient, state: HostState, body: bytes, message: str
) -> None:
    response = await client.post("/control/deadline", content=body, headers=bearer(TOKEN))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert response.json()["error"]["message"].startswith(message), response.text
    assert state.deadline.epoch == DEADLINE


async def test_without_a_configured_token_control_is_forbidden(state: HostState) -> None:
    transport = httpx.ASGITransport(app=build_app(state, None))
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        response = await client.post(
            "/control/deadline", json={"deadline": 1.0}, headers=bearer("")
        )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Forbidden"


async def test_unknown_paths_and_methods_get_json_errors(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nothing")
    wrong_method = await client.delete("/health")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "MethodNotAllowed"
    assert "GET" in wrong_method.headers["allow"]
