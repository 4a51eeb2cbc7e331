"""Running one host: serve HTTP on the given sockets, load the models, start the renderer,
stream to a client, until told to stop.

The host stops on SIGTERM or SIGINT, on POST /control/shutdown, or by itself once its hard
deadline passes. Either way the connected client is told why ("bye"), its connection and the
renderer are closed, and the process exits with code 0 within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from renderhub.host.app import build_app
from renderhub.host.config import HostConfig
from renderhub.host.deadline import Deadline
from renderhub.host.frames import FrameSource
from renderhub.host.limits import PolygonBudget
from renderhub.host.loading import load_models
from renderhub.host.state import LEASE_RAN_OUT, STOPPED, HostState, Phase, StopRequest
from renderhub.host.stream.auth import ClientAuth
from renderhub.host.stream.streamer import Streamer, StreamSettings
from renderhub.host.threads import in_daemon_thread

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 1

# Starts the renderer for a loaded scene (the host's state once it is ready).
RendererStarter = Callable[[HostState], Awaitable[FrameSource]]


class HostServer(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT ends it cleanly (exit code 0).

    uvicorn re-raises a caught signal once it has shut down, which would kill the process
    with that signal; the host treats both as an ordinary request to stop: the first asks
    `stop` (the host then says goodbye and exits); a later one stops serving at once.
    """

    def __init__(self, config: uvicorn.Config, stop: StopRequest) -> None:
        super().__init__(config)
        self.stop = stop

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
        log.info("%s received, shutting down", sig.name)
        if self.stop.reason is None:
            self.stop.ask(STOPPED)
            return
        # Asked to stop before: stop serving now, without waiting for connections if this
        # is not the first time either.
        self.force_exit = self.should_exit
        self.should_exit = True


async def serve_host(
    config: HostConfig,
    sockets: list[socket.socket],
    start_renderer: RendererStarter | None = None,
) -> None:
    """Serve the host on `sockets` until it is told to stop or its deadline passes.

    `start_renderer` starts the renderer once the models are loaded (default: a
    RendererProcess)."""
    deadline = Deadline(config.deadline)
    state = HostState(
        session_id=config.session_id,
        budget=PolygonBudget(config.size, config.polygon_limit),
        deadline=deadline,
        models_total=len(config.models),
    )
    settings = StreamSettings(ice_servers=config.ice_servers, ice_addresses=config.ice_addresses)
    streamer = Streamer(state, settings)
    auth = ClientAuth.from_files(config.public_key_path, config.account_id)
    app = build_app(state, config.control_token, streamer, auth)
    server = HostServer(_uvicorn_config(app), state.stop)
    serving = asyncio.create_task(server.serve(sockets=sockets))
    await _until_started(server, serving)
    for sock in sockets:
        log.info("listening on %s", _address(sock))
    starter = start_renderer or start_renderer_process
    tasks = [
        asyncio.create_task(_load_and_start(config, state, streamer, starter), name="load"),
        asyncio.create_task(_stop_at_deadline(deadline, state.stop), name="deadline"),
        asyncio.create_task(_stop_when_asked(state.stop, streamer, server), name="stop"),
    ]
    try:
        await serving
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Whatever ended the server, nothing is left running: no client, no renderer.
        await streamer.close(state.stop.ask(STOPPED))


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


async def _load_and_start(
    config: HostConfig, state: HostState, streamer: Streamer, start: RendererStarter
) -> None:
    await load_models(config, state)
    if state.phase is not Phase.READY:
        return
    try:
        source = await start(state)
    except Exception as exc:
        message = getattr(exc, "message", None) or f"The renderer could not start: {exc!r}"
        log.error("the renderer could not start: %s", message)
        streamer.renderer_failed(message)
        return
    await streamer.attach(source)


async def start_renderer_process(state: HostState) -> FrameSource:
    """Start a RendererProcess for the loaded scene (a checkerboard when over the limit)."""
    from renderhub.host.render import RendererProcess, scene_data

    assert state.scene is not None
    data = await in_daemon_thread(scene_data, state.scene)
    over_limit = state.budget.exceeded_by(state.scene.polygons)
    return await RendererProcess.start(data, checkerboard=over_limit)


async def _stop_at_deadline(deadline: Deadline, stop: StopRequest) -> None:
    await deadline.wait()
    log.info("deadline reached (%.3f), shutting down", deadline.epoch)
    stop.ask(LEASE_RAN_OUT)


async def _stop_when_asked(stop: StopRequest, streamer: Streamer, server: uvicorn.Server) -> None:
    """Once asked to stop: say goodbye to the client, close it and the renderer, then end
    the server."""
    reason = await stop.wait()
    log.info("stopping: %s", reason)
    try:
        await streamer.close(reason)
    finally:
        server.should_exit = True


def _address(sock: socket.socket) -> str:
    name = sock.getsockname()
    if sock.family == socket.AF_INET6:
        return f"[{name[0]}]:{name[1]}"
    return f"{name[0]}:{name[1]}"
