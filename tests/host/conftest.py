"""Fixtures for the render host tests: installed samples, real host processes, a model server."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from renderhub.samples import install_samples
from tests.host.host_testing import (
    CONTROL_TOKEN,
    HostProcess,
    ModelHandler,
    ModelServer,
    SpawnHost,
    host_command,
    pooled_command,
)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A models directory with the samples installed under samples/."""
    directory = tmp_path / "models"
    install_samples(directory)
    return directory


@pytest.fixture
def spawn_host(tmp_path: Path, models_dir: Path) -> Iterator[SpawnHost]:
    """Start host processes; each gets a listening socket bound here, passed as --listen-fd."""
    hosts: list[HostProcess] = []

    def spawn(
        *models: str,
        args: tuple[str, ...] = (),
        deadline_in: float = 60.0,
        token: str | None = CONTROL_TOKEN,
        pooled: bool = False,
    ) -> HostProcess:
        """`pooled`: a warm-pool host (`--pooled`, no session and no models)."""
        listener = socket.create_server(("127.0.0.1", 0))
        deadline = time.time() + deadline_in
        if pooled:
            command = pooled_command(models_dir, deadline)
        else:
            command = host_command(models_dir, deadline, *models)
        command += ["--listen-fd", str(listener.fileno()), *args]
        log_path = tmp_path / f"host-{len(hosts)}.log"
        env = {k: v for k, v in os.environ.items() if k != "RENDERHUB_HOST_CONTROL_TOKEN"}
        if token is not None:
            env["RENDERHUB_HOST_CONTROL_TOKEN"] = token
        with listener, log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=[listener.fileno()],
                env=env,
            )
            host = HostProcess(process, listener.getsockname()[1], log_path)
        hosts.append(host)
        return host

    yield spawn
    for host in hosts:
        host.close()


@pytest.fixture
def model_server(models_dir: Path) -> Iterator[ModelServer]:
    """A threaded HTTP server on 127.0.0.1 serving `models_dir` (plus the odd paths above)."""
    release = threading.Event()
    handler = type("Handler", (ModelHandler,), {"root": models_dir, "release": release})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield ModelServer(url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
