"""Running one host: serve HTTP on the given sockets, then load the models, until told to stop.

The host stops on SIGTERM or SIGINT, or by itself once its hard deadline passes; either way
it shuts down within about a second and the process exits with code 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from renderhub.host.app import build_app
from renderhub.host.config import HostConfig
from renderhub.host.deadline import Deadline
from renderhub.host.limits import PolygonBudget
from renderhub.host.loading import load_models
from renderhub.host.state import HostState

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 1


class HostServer(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT ends it cleanly (exit code 0).

    uvicorn re-raises a caught signal once it has shut down, which would kill the process
    with that signal; the host treats both as an ordinary request to stop.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.should_exit:
            self.force_exit = True
        log.info("%s received, shutting down", sig.name)
        self.should_exit = True


async def serve_host(config: HostConfig, sockets: list[socket.socket]) -> None:
    """Serve the host on `sockets` until a signal or the deadline stops it."""
    deadline = Deadline(config.deadline)
    state = HostState(
        session_id=config.session_id,
        budget=PolygonBudget(config.size, config.polygon_limit),
        deadline=deadline,
        models_total=len(config.models),
    )
    server = HostServer(_uvicorn_config(build_app(state, config.control_token)))
    serving = asyncio.create_task(server.serve(sockets=sockets))
    await _until_started(server, serving)
    for sock in sockets:
        log.info("listening on %s", _address(sock))
    tasks = [
        asyncio.create_task(load_models(config, state), name="load-models"),
        asyncio.create_task(_stop_at_deadline(deadline, server), name="deadline"),
    ]
    try:
        await serving
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _uvicorn_config(app: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


async def _until_started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    """Wait until uvicorn listens (it has no event for that), or re-raise why it could not."""
    while not server.started:
        if serving.done():
            serving.result()
            return
        await asyncio.sleep(0.005)


async def _stop_at_deadline(deadline: Deadline, server: uvicorn.Server) -> None:
    await deadline.wait()
    log.info("deadline reached (%.3f), shutting down", deadline.epoch)
    server.should_exit = True


def _address(sock: socket.socket) -> str:
    name = sock.getsockname()
    if sock.family == socket.AF_INET6:
        return f"[{name[0]}]:{name[1]}"
    return f"{name[0]}:{name[1]}"
