"""Real `renderhub host` processes streaming on loopback, for the end-to-end stream tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.host.host_testing import CONTROL_TOKEN, HostProcess
from tests.host.stream.conftest import ACCOUNT, Keys


def write_public_key(keys: Keys, folder: Path) -> Path:
    """The signing key's public half as a PEM file hosts verify client tokens with."""
    path = folder / "signing.pem.pub"
    path.write_bytes(
        keys.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def start_streaming_host(
    folder: Path, models_dir: Path, public_key: Path, session_id: str, lifetime: float, *models: str
) -> HostProcess:
    """A host for `session_id` with `models` (none: an empty scene) that lives at most
    `lifetime` seconds, on a socket bound here, media on loopback only (like the clients)."""
    listener = socket.create_server(("127.0.0.1", 0))
    command = [sys.executable, "-m", "renderhub", "host"]
    command += ["--session-id", session_id, "--size", "Standard"]
    command += ["--deadline", f"{time.time() + lifetime:.3f}", "--models-dir", str(models_dir)]
    for model in models:
        command += ["--model", model]
    command += ["--listen-fd", str(listener.fileno()), "--public-key", str(public_key)]
    command += ["--account-id", ACCOUNT, "--ice-address", "127.0.0.1"]
    env = {**os.environ, "RENDERHUB_HOST_CONTROL_TOKEN": CONTROL_TOKEN}
    log_path = folder / "host.log"
    with listener, log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
            env=env,
        )
        return HostProcess(process, listener.getsockname()[1], log_path)
