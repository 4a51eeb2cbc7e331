"""Helpers for the render host tests: waiting on conditions, host processes, a model server.

Everything runs on loopback; waits poll a condition against a deadline instead of sleeping.
"""

from __future__ import annotations

import http.server
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

CONTROL_TOKEN = "test-control-token"
SLOW_SERVER_STALL_SECONDS = 10.0


def wait_until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `check` until it returns something other than None, or fail after `timeout`."""
    give_up = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class HostProcess:
    """A real `renderhub host` subprocess serving on a socket this test bound."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10.0)

    def health(self) -> httpx.Response:
        return self.client.get("/health")

    def wait_for(self, status: str, timeout: float = 15.0) -> dict[str, Any]:
        """Wait until /health reports `status`; return its body."""

        def check() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"host exited ({self.process.returncode}):\n{self.log()}")
            body = self.health().json()
            return body if body["status"] == status else None

        return wait_until(check, timeout, f"host status {status!r}")

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to end by itself; return its exit code."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"host still running after {timeout} s:\n{self.log()}") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


SpawnHost = Callable[..., HostProcess]


def host_command(models_dir: Path, deadline: float, *models: str) -> list[str]:
    """The base `renderhub host` command line, without where to listen."""
    command = [sys.executable, "-m", "renderhub", "host", "--session-id", "test-session"]
    command += ["--size", "Standard", "--deadline", f"{deadline:.3f}"]
    command += ["--models-dir", str(models_dir)]
    for model in models:
        command += ["--model", model]
    return command


def pooled_command(models_dir: Path, deadline: float) -> list[str]:
    """The base `renderhub host --pooled` command line, without where to listen."""
    command = [sys.executable, "-m", "renderhub", "host", "--pooled", "--pool-id", "test-pool"]
    command += ["--size", "Standard", "--deadline", f"{deadline:.3f}"]
    command += ["--models-dir", str(models_dir)]
    return command


class ModelHandler(http.server.BaseHTTPRequestHandler):
    """Serves files from `root`, plus a few misbehaving paths for the download tests."""

    root: Path
    release: threading.Event

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        if name == "unsized.glb":
            self._send_unsized(b"x" * (256 * 1024))
        elif name == "stall.glb":
            self._stall()
        elif name == "moved.glb":
            self.send_response(302)
            self.send_header("Location", "/samples/cube.glb")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif (self.root / name).is_file():
            self._send_file(self.root / name)
        else:
            self.send_error(404)

    def _send_file(self, path: Path) -> None:
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_unsized(self, data: bytes) -> None:
        self.send_response(200)
        self.end_headers()  # HTTP/1.0, no Content-Length: the body runs until the close
        self.wfile.write(data)

    def _stall(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x")
        self.wfile.flush()
        self.release.wait(SLOW_SERVER_STALL_SECONDS)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class ModelServer:
    url: str
