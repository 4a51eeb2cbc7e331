"""POST /webrtc/offer and GET /inspector.json: who may, and when the host says no."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from renderhub.host.app import build_app
from renderhub.host.deadline import Deadline
from renderhub.host.limits import PolygonBudget
from renderhub.host.state import HostState
from renderhub.host.stream.auth import ClientAuth
from renderhub.host.stream.streamer import Streamer
from renderhub.sizes import SessionSize
from tests.host.stream.conftest import (
    CONTROL_TOKEN,
    Keys,
    StreamHost,
    attach,
    ready_state,
    scene_runtime,
)
from tests.host.stream.doubles import PictureSource
from tests.host.stream.peers import Viewer, bearer

MakeViewer = Callable[..., Viewer]


def loading_state() -> HostState:
    return HostState(
        session_id="stream-test",
        budget=PolygonBudget(SessionSize.STANDARD, 1000),
        deadline=Deadline(4_000_000_000.0),
        models_total=1,
    )


async def offer_sdp() -> dict[str, str]:
    viewer = Viewer()
    try:
        return await viewer.offer()
    finally:
        await viewer.close()


@pytest.fixture
async def offer() -> dict[str, str]:
    return await offer_sdp()


async def post_offer(
    app_state: HostState,
    auth: ClientAuth,
    body: dict[str, str],
    token: str,
    source: PictureSource | None = None,
) -> httpx.Response:
    streamer = Streamer(app_state)
    if source is not None:
        await attach(streamer, source, await scene_runtime(Path(tempfile.mkdtemp())))
    app = build_app(app_state, CONTROL_TOKEN, streamer, auth)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as http:
            return await http.post("/webrtc/offer", json=body, headers=bearer(token))
    finally:
        await streamer.close("The test is over.")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Connecting needs 'Authorization: Bearer <access token>'."),
        ({"Authorization": "Basic abc"}, "Connecting needs 'Authorization: Bearer"),
        (bearer("not.a.token"), "The access token is invalid."),
    ],
)
async def test_without_a_good_token_it_is_401(
    host: StreamHost, offer: dict[str, str], headers: dict[str, str], message: str
) -> None:
    response = await host.http.post("/webrtc/offer", json=offer, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    assert response.json()["error"]["message"].startswith(message)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert host.streamer.client is None


async def test_an_expired_token_is_401(host: StreamHost, keys: Keys, offer: dict[str, str]) -> None:
    response = await host.http.post(
        "/webrtc/offer", json=offer, headers=bearer(keys.expired_token())
    )

    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_a_token_signed_by_another_key_is_401(
    host: StreamHost, offer: dict[str, str]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = Keys(Ed25519PrivateKey.generate()).token()
    response = await host.http.post("/webrtc/offer", json=offer, headers=bearer(stranger))

    assert response.status_code == 401


async def test_another_accounts_token_is_403(
    host: StreamHost, keys: Keys, offer: dict[str, str]
) -> None:
    token = keys.token(account="account-b")

    offered = await host.http.post("/webrtc/offer", json=offer, headers=bearer(token))
    inspected = await host.http.get("/inspector.json", headers=bearer(token))

    assert offered.status_code == inspected.status_code == 403
    assert offered.json()["error"] == {
        "code": "Forbidden",
        "message": "The access token is for another account than this session's.",
    }


async def test_the_inspector_needs_a_token(host: StreamHost) -> None:
    assert (await host.http.get("/inspector.json")).status_code == 401
    assert (await host.http.get("/inspector.json", headers=bearer(host.token))).status_code == 200


@pytest.mark.parametrize(
    ("auth_of", "missing"),
    [
        (lambda keys: ClientAuth(None, "account-a"), "--public-key"),
        (lambda keys: keys.auth(account=None), "--account-id"),
    ],
)
async def test_a_host_without_key_or_account_lets_nobody_in(
    keys: Keys, offer: dict[str, str], auth_of: Callable[[Keys], ClientAuth], missing: str
) -> None:
    response = await post_offer(ready_state(), auth_of(keys), offer, keys.token(), PictureSource())

    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        f"This render host was started without {missing}, so no client can connect."
    )


async def test_while_loading_it_is_503_with_retry_after(keys: Keys, offer: dict[str, str]) -> None:
    response = await post_offer(loading_state(), keys.auth(), offer, keys.token())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == {
        "code": "ServiceUnavailable",
        "message": "The session's models are still loading; try again shortly.",
    }


async def test_after_a_failed_load_it_is_503_with_the_reason(
    keys: Keys, offer: dict[str, str]
) -> None:
    state = loading_state()
    state.mark_failed("Could not load model 'x.glb': it is broken.", 0.1)

    response = await post_offer(state, keys.auth(), offer, keys.token())

    assert response.status_code == 503
    assert response.json()["error"]["message"] == (
        "The session's models failed to load: Could not load model 'x.glb': it is broken."
    )


async def test_before_the_renderer_runs_it_is_503(keys: Keys, offer: dict[str, str]) -> None:
    response = await post_offer(ready_state(), keys.auth(), offer, keys.token())

    assert response.status_code == 503
    assert response.json()["error"]["message"] == "The renderer is starting; try again shortly."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "The body must be JSON"),
        (b'{"sdp": "v=0", "type": "answer"}', '\'type\' must be "offer": the body is {"sdp"'),
        (b'{"sdp": "v=0"}', "'type' is required."),
        (b'{"sdp": "v=0", "type": "offer", "ice": []}', "'ice' is not a field this request takes"),
        (b"[]", "The body must be a JSON object."),
        (b'{"type": "offer"}', "'sdp' is required."),
        (b'{"sdp": " ", "type": "offer"}', "'sdp' must be the offer's session description"),
        (b'{"sdp": "garbage", "type": "offer"}', "'sdp' is not a valid session description"),
    ],
)
async def test_a_bad_offer_is_400(host: StreamHost, body: bytes, message: str) -> None:
    response = await host.http.post("/webrtc/offer", content=body, headers=bearer(host.token))

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)
    assert host.streamer.client is None


async def test_an_offer_without_video_is_400(host: StreamHost) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.createDataChannel("control")
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    await pc.close()

    response = await host.http.post("/webrtc/offer", json=body, headers=bearer(host.token))

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "The offer must receive video (a recvonly video transceiver)."
    )


async def test_a_huge_offer_is_413(host: StreamHost) -> None:
    body = b'{"type": "offer", "sdp": "' + b"a" * 300_000 + b'"}'

    response = await host.http.post("/webrtc/offer", content=body, headers=bearer(host.token))

    assert response.status_code == 413


async def test_mdns_candidates_do_not_reach_aiortc(
    host: StreamHost, make_viewer: MakeViewer
) -> None:
    viewer = make_viewer()
    offer = await viewer.offer()
    fake = (
        "a=candidate:9 1 udp 2113937151 0b4f8e1c-2a3d-4e5f-8a9b-0c1d2e3f4a5b.local 9 typ host\r\n"
    )
    offer["sdp"] = offer["sdp"].replace("a=end-of-candidates", fake + "a=end-of-candidates", 1)
    assert fake in offer["sdp"]

    response = await host.http.post("/webrtc/offer", json=offer, headers=bearer(host.token))

    assert response.status_code == 200
    assert host.streamer.client is not None
    remote = host.streamer.client.pc.remoteDescription.sdp
    assert ".local" not in remote
