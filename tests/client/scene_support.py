"""What the scene tests share: a real `renderhub serve` with an account, sessions on it whose
real hosts are cleaned up, and ways to look at decoded frames."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import psutil

from renderhub.client import AsyncRenderHubClient, Scene
from renderhub.frame_marker import read_marker, shows
from tests.e2e.server import ServerProcess, create_account, free_port
from tests.hosts import host_pids

WAIT_SECONDS = 15.0


@dataclass
class Served:
    """A running server, one account on it, and the sessions tests made (to clean up)."""

    server: ServerProcess
    account_id: str
    key: str
    sessions: list[str] = field(default_factory=list)

    def client(self) -> AsyncRenderHubClient:
        return AsyncRenderHubClient(self.server.url, self.account_id, self.key)

    async def session(self, client: AsyncRenderHubClient, models: list[str]) -> str:
        """A new session with `models` (not waited for: connect_scene waits)."""
        session_id = f"scene-{uuid.uuid4().hex[:8]}"
        self.sessions.append(session_id)
        await client.create_session(session_id, lease=timedelta(minutes=20), models=models)
        return session_id


@contextmanager
def served(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`renderhub serve` on `data_dir`; on the way out its hosts are stopped too (a host
    outlives its control plane by design)."""
    server = ServerProcess(data_dir, free_port(), env=env)
    server.start()
    account = create_account(data_dir)
    running = Served(server, account["accountId"], account["primaryKey"])
    try:
        yield running
    finally:
        server.terminate()
        for session_id in running.sessions:
            for pid in host_pids(session_id):
                psutil.Process(pid).kill()


def background_share(pixels: np.ndarray) -> float:
    """How much of the picture has the colour of its top-left corner (the background)."""
    corner = pixels[:4, :4].reshape(-1, 3).mean(axis=0)
    near = np.abs(pixels.astype(np.int16) - corner).max(axis=-1) <= 12
    return float(near.mean())


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference per channel, away from the marker's corner."""
    top = slice(0, a.shape[0] - 16)
    return float(np.abs(a[top].astype(np.int16) - b[top].astype(np.int16)).mean())


async def frame_showing(scene: Scene, seq: int, within: float = WAIT_SECONDS) -> np.ndarray:
    """The first decoded frame whose marker shows `seq` applied (the marker must be on)."""
    give_up = time.monotonic() + within
    while True:
        pixels = await scene.next_frame(timeout=max(0.1, give_up - time.monotonic()))
        if shows(read_marker(pixels), seq):
            return pixels
        assert time.monotonic() < give_up, f"no frame showed seq {seq} in {within} s"
