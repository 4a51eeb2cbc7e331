"""The backends and `renderhub host` speak one vocabulary (renderhub.host_protocol): every flag
and environment variable a backend starts a host with is one the host reads, with the value the
backend meant, and every body the control plane sends is one the host accepts.

The host's command line is parsed for real (click), from the exact argv and environment the
backend built; only the serving that would follow (`_run`) is replaced, to record what the host
understood instead of serving it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from renderhub.backends.base import HostSpec, IdleHostSpec
from renderhub.backends.host_http import assignment_body
from renderhub.backends.local import LocalBackend
from renderhub.backends.ray import RayBackend
from renderhub.backends.ray_actor import host_command
from renderhub.host import command as host_module
from renderhub.host import control
from renderhub.host.assignment import parse_assignment
from renderhub.host.config import HostConfig
from renderhub.host_protocol import (
    CONTROL_TOKEN_ENV,
    HOST_COMMAND,
    MODELS_ENV,
    Flag,
    deadline_body,
    shutdown_body,
)
from renderhub.settings import Settings
from renderhub.sizes import SessionSize
from renderhub.tokens import load_or_create_signing_key, public_key_path
from tests.conftest import make_settings

ICE = ["stun:127.0.0.1:3478"]
ALLOWED = ["https://models.example.com/"]
STORAGE = ["https://acct.blob.core.windows.net/assets/"]
SPEC = HostSpec(
    account_id="account-1",
    session_id="session-1",
    size=SessionSize.PREMIUM,
    models=["car.glb", "https://models.example.com/plane.glb?sig=secret"],
    deadline=4_000_000_000.5,
    polygon_limit=123_456,
    model_token="model-credential",
)
IDLE_SPEC = IdleHostSpec(
    pool_id="pool-7", size=SessionSize.STANDARD, deadline=4_000_000_000.0, polygon_limit=None
)


class HostReading:
    """Runs `renderhub host` on an argv and environment, and keeps what it understood."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.config: HostConfig | None = None
        self._given: list[str] = []
        self.environment_left: set[str] = set()
        monkeypatch.setattr(host_module, "_run", self._record)

    def _record(self, config: HostConfig, sockets: list[socket.socket]) -> None:
        self.config = config
        self.environment_left = {name for name in self._given if name in os.environ}
        for sock in sockets:
            sock.detach()  # the fd stays the backend's, which closes it

    def read(self, command: list[str], environment: dict[str, str]) -> HostConfig:
        assert command[1:4] == list(HOST_COMMAND)
        self._given = list(environment)
        result = CliRunner().invoke(host_module.host, command[4:], env=environment)
        assert result.exit_code == 0, result.output
        assert self.config is not None
        assert self.environment_left == set(), "the host reads (and clears) every name it is given"
        return self.config


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(
        tmp_path, ice_servers=ICE, allow_models=ALLOWED, allow_storage=STORAGE, **overrides
    )


def _check_settings(config: HostConfig, settings: Settings) -> None:
    assert config.limits.max_bytes == settings.max_model_bytes
    assert config.limits.timeout_seconds == settings.model_fetch_timeout_seconds
    assert [server.describe() for server in config.ice_servers] == [
        server.describe() for server in _parsed_ice(ICE)
    ]
    assert config.policy.allowed_prefixes == tuple(ALLOWED)
    assert config.policy.storage_prefixes == tuple(STORAGE)


def _parsed_ice(values: list[str]) -> list[object]:
    from renderhub.host.stream.ice import parse_ice_server

    return [parse_ice_server(value) for value in values]


def _check_session(config: HostConfig) -> None:
    assert config.session_id == SPEC.session_id
    assert config.account_id == SPEC.account_id
    assert config.size is SPEC.size
    assert config.models == tuple(SPEC.models)
    assert config.deadline == pytest.approx(SPEC.deadline, abs=1e-3)
    assert config.polygon_limit == SPEC.polygon_limit
    assert not config.pooled


class LocalLaunches:
    """The local backend, its processes replaced by a reading of their command line while the
    backend's listening sockets are still open."""

    def __init__(self, backend: LocalBackend, reading: HostReading) -> None:
        self.configs: list[HostConfig] = []
        self.environments: list[dict[str, str]] = []
        self._reading = reading
        backend._spawn = self._spawn  # type: ignore[method-assign]

    def _spawn(
        self,
        command: list[str],
        listeners: list[socket.socket],
        environment: dict[str, str],
        log_path: Path,
    ) -> subprocess.Popen[bytes]:
        full = [*command, *(arg for s in listeners for arg in (Flag.LISTEN_FD, str(s.fileno())))]
        self.environments.append(environment)
        self.configs.append(self._reading.read(full, environment))
        return subprocess.Popen([sys.executable, "-c", "pass"])


async def test_the_host_reads_what_the_local_backend_starts_a_session_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    load_or_create_signing_key(settings.signing_key_path)  # so the backend passes --public-key
    backend = LocalBackend(settings)
    launches = LocalLaunches(backend, HostReading(monkeypatch))
    try:
        started = await backend.start(SPEC)
    finally:
        await backend.aclose()

    (config,) = launches.configs
    _check_session(config)
    _check_settings(config, settings)
    assert config.policy.models_dir == settings.models_dir
    assert config.public_key_path == public_key_path(settings.signing_key_path)
    assert config.ice_addresses == (settings.advertised_host_address,)
    assert config.control_token == started.state["controlToken"]
    assert MODELS_ENV in launches.environments[0], "a SAS stays off the command line"


async def test_the_host_reads_what_the_local_backend_starts_a_pooled_host_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LocalBackend(_settings(tmp_path))
    launches = LocalLaunches(backend, HostReading(monkeypatch))
    try:
        started = await backend.start_idle(IDLE_SPEC)
    finally:
        await backend.aclose()

    (config,) = launches.configs
    assert (config.pooled, config.pool_id, config.session_id) == (True, "pool-7", None)
    assert config.size is IDLE_SPEC.size
    assert config.polygon_limit is IDLE_SPEC.polygon_limit is None  # sent as 0: no limit
    assert config.control_token == started.state["controlToken"]


def _ray_backend(tmp_path: Path) -> tuple[RayBackend, Settings]:
    with socket.create_server(("127.0.0.1", 0)) as head:  # answers the backend's probe
        address = f"127.0.0.1:{head.getsockname()[1]}"
        settings = _settings(tmp_path, ray_address=address, host_models_url="http://127.0.0.1:1/")
        return RayBackend(settings), settings


@pytest.mark.parametrize("pooled", [False, True], ids=["session", "pooled"])
def test_the_host_reads_what_the_ray_backend_and_its_actor_start_it_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pooled: bool
) -> None:
    backend, settings = _ray_backend(tmp_path)
    launch = backend._launch_idle(IDLE_SPEC) if pooled else backend._launch(SPEC)
    launch = type(launch)(launch.arguments, launch.environment, _public_key_pem(tmp_path))
    reading = HostReading(monkeypatch)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        command = host_command(launch, tmp_path, "127.0.0.1", [listener.fileno()])
        config = reading.read(command, launch.environment)

    _check_settings(config, settings)
    assert config.control_token == launch.environment[CONTROL_TOKEN_ENV]
    assert config.remote_models is not None
    assert config.remote_models.base_url == settings.models_url
    assert config.public_key_path == tmp_path / "public-key.pem"
    if pooled:
        assert (config.pooled, config.pool_id) == (True, IDLE_SPEC.pool_id)
        assert config.remote_models.token is None
    else:
        _check_session(config)
        assert config.remote_models.token == SPEC.model_token


def _public_key_pem(tmp_path: Path) -> str:
    key_path = tmp_path / "keys" / "signing.pem"
    key_path.parent.mkdir()
    load_or_create_signing_key(key_path)
    return public_key_path(key_path).read_text()


def test_a_pooled_host_accepts_the_assignment_the_control_plane_sends() -> None:
    assignment = parse_assignment(json.dumps(assignment_body(SPEC)).encode())

    assert (assignment.session_id, assignment.account_id) == (SPEC.session_id, SPEC.account_id)
    assert assignment.size is SPEC.size
    assert list(assignment.models) == SPEC.models
    assert assignment.deadline == SPEC.deadline
    assert assignment.polygon_limit == SPEC.polygon_limit
    assert assignment.model_token == SPEC.model_token


def test_the_host_accepts_the_control_bodies_the_control_plane_sends() -> None:
    deadline = json.dumps(deadline_body(4_000_000_123.25)).encode()
    shutdown = json.dumps(shutdown_body("The session's lease of 5 minutes ran out.")).encode()

    assert control._deadline_from(deadline) == 4_000_000_123.25
    assert control._reason_from(shutdown) == "The session's lease of 5 minutes ran out."
