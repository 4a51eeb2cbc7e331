"""Warm-pool hosts (`renderhub host --pooled`), as real processes: warm and idle before any
session, then assigned one over POST /control/assign and from then on an ordinary host."""

from __future__ import annotations

import contextlib
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
from click.testing import CliRunner

from renderhub.clock import ManualClock
from renderhub.host.command import host as host_command
from renderhub.tokens import TokenIssuer, load_or_create_signing_key, public_key_path
from tests.host.host_testing import (
    CONTROL_TOKEN,
    HostProcess,
    ModelServer,
    SpawnHost,
    wait_until,
)

WARM_TIMEOUT = 60.0  # a fresh interpreter, trimesh and an EGL context, on a busy 2-core machine
CONTROL = {"Authorization": f"Bearer {CONTROL_TOKEN}"}


@pytest.fixture
def signing_key(tmp_path: Path) -> Path:
    path = tmp_path / "signing.pem"
    load_or_create_signing_key(path)
    return path


def token_for(signing_key: Path, account: str) -> str:
    issuer = TokenIssuer(load_or_create_signing_key(signing_key), ManualClock(datetime.now(UTC)))
    return issuer.issue(account)


def spawn_idle(spawn_host: SpawnHost, signing_key: Path, **options: Any) -> HostProcess:
    """A pooled host, waited on until it reports idle."""
    args = ("--public-key", str(public_key_path(signing_key)))
    host = spawn_host(pooled=True, args=args, **options)
    host.wait_for("idle", timeout=WARM_TIMEOUT)
    return host


def assignment(**changes: Any) -> dict[str, Any]:
    body = {
        "sessionId": "pooled-session",
        "accountId": "account-a",
        "size": "Standard",
        "models": ["samples/cube.glb"],
        "deadline": time.time() + 60,
        "polygonLimit": None,
    }
    return body | changes


def renderer_children(host: HostProcess) -> list[psutil.Process]:
    """The host's live renderer processes (one that has exited is no longer counted)."""
    found = []
    for child in psutil.Process(host.process.pid).children():
        with contextlib.suppress(psutil.Error):  # gone, or a zombie until the host reaps it
            if "renderhub.host.render.child" in " ".join(child.cmdline()):
                found.append(child)
    return found


def test_a_pooled_host_warms_up_and_waits_idle(spawn_host: SpawnHost, signing_key: Path) -> None:
    host = spawn_idle(spawn_host, signing_key)

    response = host.health()
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "idle"
    assert body["sessionId"] is None and body["poolId"] == "test-pool"
    assert "renderer started in" in host.log(), "the GL context is made before any session"
    assert len(renderer_children(host)) == 1
    inspector = host.client.get(
        "/inspector.json", headers={"Authorization": f"Bearer {token_for(signing_key, 'a')}"}
    )
    assert inspector.status_code == 403
    assert inspector.json()["error"]["message"] == (
        "This render host has no session yet, so no client can connect."
    )


def test_assign_loads_the_models_and_binds_the_session(
    spawn_host: SpawnHost, signing_key: Path
) -> None:
    host = spawn_idle(spawn_host, signing_key)
    deadline = time.time() + 120

    response = host.client.post(
        "/control/assign", json=assignment(deadline=deadline), headers=CONTROL
    )
    body = host.wait_for("ready")

    assert response.status_code == 202
    assert response.json() == {"status": "loading", "sessionId": "pooled-session"}
    assert body["sessionId"] == "pooled-session"
    assert body["models"] == [{"url": "samples/cube.glb", "polygons": 12, "bytes": 1608}]
    assert body["deadline"] == pytest.approx(deadline)
    assert body["polygonLimit"] is None
    ours = {"Authorization": f"Bearer {token_for(signing_key, 'account-a')}"}
    theirs = {"Authorization": f"Bearer {token_for(signing_key, 'account-b')}"}
    assert host.client.get("/inspector.json", headers=ours).status_code == 200
    refused = host.client.get("/inspector.json", headers=theirs)
    assert refused.status_code == 403
    assert "another account" in refused.json()["error"]["message"]
    wait_until(
        lambda: host.client.get("/inspector.json", headers=ours).json()["renderer"],
        15,
        "the warm renderer to take the scene",
    )
    assert "session=pooled-session pool=test-pool" in host.log()
    assert "assigned session pooled-session of account account-a" in host.log()

    again = host.client.post("/control/assign", json=assignment(), headers=CONTROL)
    assert again.status_code == 409
    assert again.json()["error"]["message"] == (
        "This render host serves session pooled-session already."
    )


def test_an_assigned_model_that_fails_is_reported_as_500(
    spawn_host: SpawnHost, signing_key: Path
) -> None:
    host = spawn_idle(spawn_host, signing_key)

    host.client.post(
        "/control/assign", json=assignment(models=["samples/gone.glb"]), headers=CONTROL
    )
    body = host.wait_for("error")

    assert host.health().status_code == 500
    assert "gone.glb does not exist" in body["message"]
    wait_until(lambda: renderer_children(host) == [] or None, 10, "the idle renderer to end")


def test_an_ordinary_host_starts_no_renderer_until_its_models_are_loaded(
    spawn_host: SpawnHost, model_server: ModelServer
) -> None:
    url = f"{model_server.url}/stall.glb"  # sends a byte, then nothing
    args = ("--allow-models", f"{model_server.url}/", "--fetch-timeout", "3")
    host = spawn_host(url, args=args)

    host.wait_for("loading")
    during = renderer_children(host)
    host.wait_for("error")

    # Started beside the loading, the renderer took CPU from it and delayed Ready.
    assert during == [] and renderer_children(host) == []
    assert "renderer started" not in host.log()


def test_a_pooled_host_whose_renderer_cannot_start_fails_and_refuses_sessions(
    spawn_host: SpawnHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLCONTEXT_LINUX_LIBEGL", "/nonexistent/libEGL.so.1")
    host = spawn_host(pooled=True)

    body = host.wait_for("error", timeout=WARM_TIMEOUT)
    refused = host.client.post("/control/assign", json=assignment(), headers=CONTROL)

    assert host.health().status_code == 500
    assert body["message"].startswith(
        "The renderer could not start: Could not create an OpenGL context through EGL: "
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["message"].startswith(
        "This render host cannot take a session: The renderer could not start: "
    )


BAD_BODIES: list[tuple[object, str]] = [
    ("not json", "The body must be a JSON object describing the session."),
    ([], "The body must be a JSON object describing the session."),
    (assignment(colour="red"), "'colour' is not a field this request takes; it takes"),
    ({k: v for k, v in assignment().items() if k != "models"}, "'models' is required."),
    (assignment(sessionId=""), "'sessionId' must be a non-empty string"),
    (assignment(accountId=7), "'accountId' must be a non-empty string"),
    (assignment(size="Huge"), "'size' is not valid: Unknown session size 'Huge'; expected"),
    (assignment(models="samples/cube.glb"), "'models' must be a list of model URLs (strings)."),
    (assignment(models=[""]), "'models' must hold URLs of 1 to 2048 characters."),
    (assignment(deadline="soon"), "'deadline' must be a positive number of seconds"),
    (assignment(deadline=-1), "'deadline' must be a positive number of seconds"),
    (assignment(polygonLimit=-5), "'polygonLimit' must be a whole number of polygons"),
    (assignment(polygonLimit=1.5), "'polygonLimit' must be a whole number of polygons"),
    (assignment(modelToken=""), "'modelToken' must be a string of 1 to 8192 characters."),
    (assignment(modelToken=["t"]), "'modelToken' must be a string of 1 to 8192 characters."),
]


def test_bad_assignments_are_refused_and_the_host_stays_idle(
    spawn_host: SpawnHost, signing_key: Path
) -> None:
    host = spawn_idle(spawn_host, signing_key)

    for body, expected in BAD_BODIES:
        raw = body if isinstance(body, str) else None
        response = host.client.post(
            "/control/assign",
            content=raw,
            json=None if raw is not None else body,
            headers=CONTROL,
        )
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["message"].startswith(expected), response.text
    no_token = host.client.post("/control/assign", json=assignment())
    other_size = host.client.post(
        "/control/assign", json=assignment(size="premium"), headers=CONTROL
    )

    assert no_token.status_code == 401
    assert other_size.status_code == 409
    assert other_size.json()["error"]["message"] == (
        "This render host was started for Standard sessions, not Premium."
    )
    assert host.health().json()["status"] == "idle"


def test_an_ordinary_host_cannot_be_assigned(spawn_host: SpawnHost) -> None:
    host = spawn_host("samples/cube.glb")
    host.wait_for("ready")

    response = host.client.post("/control/assign", json=assignment(), headers=CONTROL)

    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "This render host was started for one session; only a pooled host can be assigned."
    )


def test_an_idle_host_exits_at_its_deadline(spawn_host: SpawnHost, signing_key: Path) -> None:
    host = spawn_idle(spawn_host, signing_key)
    renderer = renderer_children(host)[0]
    soon = time.time() + 1

    moved = host.client.post("/control/deadline", json={"deadline": soon}, headers=CONTROL)

    assert moved.status_code == 200
    assert host.wait_exit(timeout=8) == 0
    assert time.time() >= soon
    assert "deadline reached" in host.log()
    renderer.wait(timeout=5)  # the renderer does not outlive its host


def test_an_idle_host_that_never_warms_still_exits_at_its_deadline(
    spawn_host: SpawnHost,
) -> None:
    host = spawn_host(pooled=True, deadline_in=0.5)

    assert host.wait_exit(timeout=20) == 0
    assert "deadline reached" in host.log()


def test_sigterm_stops_an_idle_host_and_its_renderer(
    spawn_host: SpawnHost, signing_key: Path
) -> None:
    host = spawn_idle(spawn_host, signing_key)
    renderer = renderer_children(host)[0]

    started = time.monotonic()
    host.process.send_signal(signal.SIGTERM)

    assert host.wait_exit(timeout=5) == 0
    assert time.monotonic() - started < 2.5
    renderer.wait(timeout=5)


@pytest.mark.parametrize(
    ("args", "token", "expected"),
    [
        (["--pooled", "--session-id", "s"], "t", "drop --session-id."),
        (["--pooled", "--model", "samples/cube.glb"], "t", "drop --model."),
        (["--pooled", "--account-id", "a"], "t", "drop --account-id."),
        (["--pooled"], None, "A pooled host needs $RENDERHUB_HOST_CONTROL_TOKEN"),
        ([], "t", "Give --session-id ID, or --pooled for a warm-pool host."),
        (["--session-id", "s", "--pool-id", "p"], "t", "--pool-id goes with --pooled only."),
    ],
    ids=["session-id", "model", "account-id", "no-control-token", "neither", "pool-id"],
)
def test_the_command_line_of_a_pooled_host_is_checked(
    models_dir: Path, args: list[str], token: str | None, expected: str
) -> None:
    base = ["--size", "Standard", "--deadline", "4000000000", "--models-dir", str(models_dir)]
    environment = {"RENDERHUB_HOST_CONTROL_TOKEN": token}
    result = CliRunner().invoke(host_command, [*base, *args, "--port", "0"], env=environment)

    assert result.exit_code == 2
    assert expected in result.output
