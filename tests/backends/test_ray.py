"""The ray backend on a real two-node Ray cluster (head 127.0.0.2, worker 127.0.0.3, token
authentication on), driven through a real `renderhub serve` and, for the backend's own
contract, in this process. One cluster serves the whole module; the tests run in order and
the last one kills the worker node."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aioice.ice
import httpx
import psutil
import pytest

from renderhub.backends.base import HostPhase, HostSpec
from renderhub.backends.ray import RayBackend, actor_name
from renderhub.clock import ManualClock
from renderhub.errors import BackendError, ConfigurationError
from renderhub.settings import Settings
from renderhub.sizes import SessionSize
from tests.backends.ray_cluster import (
    HEAD_IP,
    HOSTS_PER_NODE,
    WORKER_IP,
    RayCluster,
    driver_environment,
    free_port,
    ray_cluster,
)
from tests.conftest import API, make_settings, running_control_plane, wait_for
from tests.e2e.server import ServerProcess, SignedIn, sign_in
from tests.host.stream.peers import Viewer

pytestmark = pytest.mark.e2e

BODY = {"maxLeaseTimeMinutes": 30, "size": "Standard", "models": ["samples/cube.glb"]}
NODE_DEATH_SECONDS = 10.0  # the bench measures it; this only bounds the test


def wait_until(check: Any, within: float, what: str) -> Any:
    give_up = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(0.05)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """The cluster, with this process (and every server it starts) set up as its driver."""
    saved = dict(os.environ)
    with ray_cluster(tmp_path_factory.mktemp("ray")) as started:
        os.environ.update(driver_environment(started.token))
        os.environ.update(RENDERHUB_BACKEND="ray", RENDERHUB_RAY_ADDRESS=started.address)
        try:
            _wait_for_both_nodes(started)
            yield started
        finally:
            # Disconnect this process before the cluster goes: a Ray driver whose cluster is
            # gone ends its whole process about a minute later (the rest of the test run).
            import ray

            ray.shutdown()
            os.environ.clear()
            os.environ.update(saved)


def _wait_for_both_nodes(cluster: RayCluster) -> None:
    import ray

    ray.init(address=cluster.address, namespace="renderhub", log_to_driver=False)
    alive = lambda: len([n for n in ray.nodes() if n["Alive"]]) == 2  # noqa: E731
    wait_until(alive, 90, "both Ray nodes")


@pytest.fixture(scope="module")
def server(
    cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("control-plane") / "data"
    process = ServerProcess(data_dir, free_port("127.0.0.1"))
    process.start(within=90)
    yield process
    process.terminate()


@pytest.fixture(scope="module")
def signed_in(server: ServerProcess) -> SignedIn:
    return sign_in(server)


@pytest.fixture(scope="module")
def sessions(signed_in: SignedIn) -> dict[str, dict[str, Any]]:
    """Two sessions with a data-dir model, Ready: one on each node (Ray spreads them)."""
    for session_id in ("first", "second"):
        response = signed_in.client.put(_url(signed_in, session_id), json=BODY)
        assert response.status_code == 201, response.text
    return {session_id: _ready(signed_in, session_id) for session_id in ("first", "second")}


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's WebRTC peer gathers on 127.0.0.1; hosts gather on their node's address."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


def _url(signed_in: SignedIn, session_id: str) -> str:
    return f"/accounts/{signed_in.account_id}/sessions/{session_id}?{API}"


def _ready(signed_in: SignedIn, session_id: str, within: float = 60.0) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = signed_in.client.get(_url(signed_in, session_id)).json()
        assert body["status"] in ("Starting", "Ready"), body
        return body if body["status"] == "Ready" else None

    result: dict[str, Any] = wait_until(check, within, f"session {session_id} Ready")
    return result


def _backend_state(server: ServerProcess, session_id: str) -> dict[str, Any]:
    with sqlite3.connect(server.data_dir / "renderhub.db") as db:
        (state,) = db.execute(
            "SELECT backend_state FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    loaded: dict[str, Any] = json.loads(state)
    return loaded


def _backend(**overrides: Any) -> RayBackend:
    values: dict[str, Any] = {
        "backend": "ray",
        "ray_address": os.environ["RENDERHUB_RAY_ADDRESS"],
        "data_dir": Path("/nonexistent"),
        "stop_timeout_seconds": 3.0,
    }
    return RayBackend(Settings(**(values | overrides)))


def _spec(session_id: str, size: SessionSize = SessionSize.STANDARD) -> HostSpec:
    return HostSpec("ray-tests", session_id, size, [], time.time() + 600, None)


# -- start-up checks (no cluster needed) ---------------------------------------------------------


def test_an_unreachable_address_is_one_sentence_at_start(tmp_path: Path) -> None:
    address = f"{HEAD_IP}:{free_port(HEAD_IP)}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match=r"cannot be reached \(connection refused\)"):
        RayBackend(Settings(backend="ray", ray_address=address, data_dir=tmp_path))
    assert time.monotonic() - started < 5, "must not wait for ray.init's minute of retries"
    result = subprocess.run(
        [sys.executable, "-m", "renderhub", "serve", "--data-dir", str(tmp_path), "--port", "0"],
        env={**os.environ, "RENDERHUB_BACKEND": "ray", "RENDERHUB_RAY_ADDRESS": address},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"The Ray cluster at {address} cannot be reached" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("address", "message"),
    [(None, "needs RENDERHUB_RAY_ADDRESS"), ("head-without-port", "is not HOST:PORT")],
)
def test_a_missing_or_bad_address_is_one_sentence(
    tmp_path: Path, address: str | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RayBackend(Settings(backend="ray", ray_address=address, data_dir=tmp_path))


# -- on the cluster ------------------------------------------------------------------------------


async def test_sessions_on_both_nodes_load_a_data_dir_model_and_stream(
    sessions: dict[str, dict[str, Any]], signed_in: SignedIn, loopback_ice: None
) -> None:
    hostnames = {body["hostname"] for body in sessions.values()}
    assert hostnames == {HEAD_IP, WORKER_IP}, "Ray spreads the hosts over both nodes"
    for body in sessions.values():
        # samples/cube.glb exists only in the control plane's data dir: its 12 triangles
        # prove the host fetched it through GET /hosts/models/... with its own credential.
        base = f"http://{body['hostname']}:{body['handshakePort']}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            health = (await http.get("/health")).json()
            assert health["status"] == "ready" and health["polygons"] == 12, health
            viewer = Viewer()
            try:
                await _connect(viewer, http, signed_in.token)
                frame = await viewer.picture()
                assert frame.shape[0] > 0 and frame.shape[1] > 0
            finally:
                await viewer.close()


async def _connect(viewer: Viewer, http: httpx.AsyncClient, token: str) -> None:
    """Offer until the host takes it (it answers 503 while its renderer starts)."""
    give_up = time.monotonic() + 30
    while (answer := await viewer.connect(http, token)).status_code == 503:
        assert time.monotonic() < give_up, answer.text
        await asyncio.sleep(0.1)
    assert answer.status_code == 200, answer.text


def test_the_models_route_takes_only_a_hosts_own_credential(
    sessions: dict[str, dict[str, Any]], server: ServerProcess, signed_in: SignedIn
) -> None:
    model_url = f"{server.url}/hosts/models/samples/cube.glb"
    access = httpx.get(model_url, headers={"Authorization": f"Bearer {signed_in.token}"})
    assert access.status_code == 401, "an access token is not a host credential"
    assert "host credential is invalid" in access.json()["error"]["message"]
    assert httpx.get(model_url).status_code == 401


def test_a_wrong_ray_token_is_one_sentence_at_start(cluster: RayCluster, tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "renderhub", "serve", "--data-dir", str(tmp_path), "--port", "0"],
        env={**os.environ, "RAY_AUTH_TOKEN": "0" * 64},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode != 0
    assert (
        f"Error: Could not join the Ray cluster at {cluster.address}: it refused this control "
        "plane's token;" in result.stderr
    ), result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60


async def test_start_up_warns_of_a_size_no_node_offers(
    cluster: RayCluster, caplog: pytest.LogCaptureFixture
) -> None:
    backend = _backend()
    try:
        with caplog.at_level("WARNING", logger="renderhub.backends.ray"):
            await backend.open()
    finally:
        await backend.aclose()
    warnings = [record.getMessage() for record in caplog.records]
    assert any("has no 'renderhub_premium' resource: Premium sessions" in w for w in warnings)
    assert not any("'renderhub_standard'" in w for w in warnings)


async def test_a_second_start_of_a_session_adopts_its_host(cluster: RayCluster) -> None:
    backend, racing = _backend(), _backend()  # e.g. a retry, or a racing replica
    session_id = f"adopt-{uuid.uuid4().hex[:8]}"
    try:
        first = await backend.start(_spec(session_id))
        try:
            second = await racing.start(_spec(session_id))
            assert second.state["pid"] == first.state["pid"]
            assert second.handshake_port == first.handshake_port
            assert _alive(first.state["pid"])
        finally:
            await backend.stop(first.state, "The test is over.")
        wait_until(lambda: not _alive(first.state["pid"]), 10, "the host to die with its actor")
        assert (await racing.poll(first.state)).phase is HostPhase.GONE
        await racing.stop(first.state)  # safe when already gone
    finally:
        await backend.aclose()
        await racing.aclose()


async def test_a_host_never_recorded_is_found_by_its_session_and_stopped(
    cluster: RayCluster,
) -> None:
    launcher, stopper = _backend(), _backend()  # the replica that died, the one that stops
    session_id = f"unrecorded-{uuid.uuid4().hex[:8]}"
    try:
        started = await launcher.start(_spec(session_id))
        assert await stopper.stop_unrecorded("ray-tests", session_id, "The session was stopped.")
        wait_until(lambda: not _alive(started.state["pid"]), 10, "the host to stop")
        assert not await stopper.stop_unrecorded("ray-tests", session_id, "Again.")
    finally:
        await launcher.aclose()
        await stopper.aclose()


async def test_a_host_dies_with_its_actor_even_on_sigkill(cluster: RayCluster) -> None:
    backend = _backend()
    try:
        started = await backend.start(_spec(f"sigkill-{uuid.uuid4().hex[:8]}"))
        host = psutil.Process(started.state["pid"])
        actor = host.parent()
        assert actor is not None
        actor.kill()
        wait_until(lambda: not _alive(host.pid), 10, "the host to die with its actor")

        async def gone() -> Any:
            health = await backend.poll(started.state)
            return health if health.phase is HostPhase.GONE else None

        health = await wait_for(gone, within=10)
        assert health.message == "The render host's Ray actor died."
        await backend.stop(started.state)  # safe when already gone
    finally:
        await backend.aclose()


async def test_a_full_cluster_ends_the_start_with_a_clear_error(
    sessions: dict[str, dict[str, Any]], cluster: RayCluster
) -> None:
    import ray

    backend = _backend(start_timeout_seconds=4.0)
    fillers = []
    try:
        free = 2 * HOSTS_PER_NODE - len(sessions)
        settled = lambda: ray.available_resources().get("renderhub_standard") == free  # noqa: E731
        wait_until(settled, 10, "earlier tests' actors to give their resources back")
        for index in range(free):
            fillers.append(await backend.start(_spec(f"filler-{index}")))
        started = time.monotonic()
        with pytest.raises(BackendError) as raised:
            await backend.start(_spec("one-too-many"))
        assert raised.value.message.startswith(
            "No Ray node had room for a Standard render host (one unit of 'renderhub_standard')"
        )
        assert time.monotonic() - started < 6
        assert (
            ray.util.list_named_actors(all_namespaces=True).count(
                {"name": actor_name("ray-tests", "one-too-many"), "namespace": "renderhub"}
            )
            == 0
        ), "nothing is left pending in the cluster"
    finally:
        for filler in fillers:
            await backend.stop(filler.state)
        await backend.aclose()


async def test_a_session_no_node_has_room_for_ends_in_error(
    cluster: RayCluster, tmp_path: Path
) -> None:
    import ray

    settings = make_settings(
        tmp_path / "data", backend="ray", ray_address=cluster.address, start_timeout_seconds=4.0
    )
    async with running_control_plane(
        settings, ManualClock(), backend=RayBackend(settings)
    ) as plane:
        assert (await plane.create("no-room", size="Premium")).status_code == 201
        body = await plane.wait_status("no-room", "Error", within=15)
        await plane.context.service.tasks.aclose()
    assert body["error"]["code"] == "HostStartFailed"
    assert body["error"]["message"] == (
        "No Ray node had room for a Premium render host (one unit of 'renderhub_premium') "
        "within 3.6 s; the cluster is full or has no such node."
    )
    name = actor_name(plane.account.id, "no-room")
    assert name not in {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)}


def test_a_warm_ray_host_takes_a_session_and_loads_its_data_dir_model(
    cluster: RayCluster, tmp_path: Path
) -> None:
    import ray

    data_dir = tmp_path / "data"
    warm = ServerProcess(data_dir, free_port("127.0.0.1"), env={"RENDERHUB_WARM_STANDARD": "1"})
    warm.start(within=90)
    try:
        [pool_actor] = wait_until(lambda: _idle_pool_actors(data_dir), 60, "a warm Ray host")
        signed_in = sign_in(warm)
        response = signed_in.client.put(_url(signed_in, "warm"), json=BODY)
        assert response.status_code == 201, response.text
        body = _ready(signed_in, "warm")
        assert _backend_state(warm, "warm")["actor"] == pool_actor  # the warm host took it
        # The model lives only in this control plane's data dir: the warm host fetched it
        # with the credential it was given at its assignment.
        health = httpx.get(f"http://{body['hostname']}:{body['handshakePort']}/health").json()
        assert health["status"] == "ready" and health["polygons"] == 12, health
        wait_until(lambda: _idle_pool_actors(data_dir), 60, "the pool refilled")
        assert (
            signed_in.client.post(
                f"/accounts/{signed_in.account_id}/sessions/warm/:stop?{API}"
            ).status_code
            == 204
        )
    finally:
        warm.terminate()
        for actor in ray.util.list_named_actors(all_namespaces=True):
            if actor["name"].startswith("renderhub-pool-"):
                ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]))


def _idle_pool_actors(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "renderhub.db") as db:
        rows = db.execute("SELECT backend_state FROM pool_hosts WHERE status = 'idle'").fetchall()
    return [json.loads(state)["actor"] for (state,) in rows if state]


def test_a_control_plane_killed_and_restarted_readopts_the_ray_hosts(
    sessions: dict[str, dict[str, Any]], server: ServerProcess, signed_in: SignedIn
) -> None:
    before = {session_id: _backend_state(server, session_id) for session_id in sessions}
    server.kill()
    server.start(within=90)
    for session_id, state in before.items():
        body = signed_in.client.get(_url(signed_in, session_id)).json()
        assert body["status"] == "Ready", body
        assert body["handshakePort"] == state["port"]
        assert _backend_state(server, session_id)["pid"] == state["pid"], "not restarted"
        assert _alive(state["pid"])


def test_a_dead_worker_node_errors_its_sessions_and_spares_the_others(
    sessions: dict[str, dict[str, Any]], cluster: RayCluster, signed_in: SignedIn
) -> None:
    on_worker = [sid for sid, body in sessions.items() if body["hostname"] == WORKER_IP]
    on_head = [sid for sid, body in sessions.items() if body["hostname"] == HEAD_IP]
    assert cluster.worker is not None
    cluster.worker.kill()

    def errored() -> list[dict[str, Any]] | None:
        bodies = [signed_in.client.get(_url(signed_in, sid)).json() for sid in on_worker]
        return bodies if all(body["status"] == "Error" for body in bodies) else None

    for body in wait_until(errored, NODE_DEATH_SECONDS, "the worker's sessions in Error"):
        assert body["error"]["code"] == "HostFailed"
        message = body["error"]["message"]
        assert message == f"The Ray node running the render host ({WORKER_IP}) died."
    for session_id in on_head:
        body = signed_in.client.get(_url(signed_in, session_id)).json()
        assert body["status"] == "Ready", body
        assert httpx.get(f"http://{HEAD_IP}:{body['handshakePort']}/health").status_code == 200


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
