"""Running one host: serve HTTP on the given sockets, load the models, start the renderer,
stream to a client, until told to stop.

The session's scene (runtime.SceneRuntime) is the host's for the whole session: its own models
are loaded into it first, then the renderer is given it, and clients change it from then on.
The renderer process starts once the models are loaded (started beside the loading, it took
CPU from it and delayed Ready on a 2-core machine). A pooled host warms up instead: it starts
its renderer and runs the loader once on a tiny model before it has a session, reports idle,
and when POST /control/assign gives it one, only loads the models and hands the scene over.

The host stops on SIGTERM or SIGINT, on POST /control/shutdown, or by itself once its hard
deadline passes. Either way the connected client is told why ("bye"), its connection and the
renderer are closed, and the process exits with code 0 within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from renderhub.errors import Conflict
from renderhub.host.app import build_app
from renderhub.host.assignment import Assignment
from renderhub.host.config import HostConfig
from renderhub.host.deadline import Deadline
from renderhub.host.frames import SceneRenderer
from renderhub.host.limits import PolygonBudget
from renderhub.host.loading import load_models
from renderhub.host.logs import label_lines
from renderhub.host.render.errors import RendererError
from renderhub.host.runtime.loads import ModelSources
from renderhub.host.runtime.model import SceneModel
from renderhub.host.runtime.runtime import SceneRuntime
from renderhub.host.state import HostState, Phase, StopRequest
from renderhub.host.stream.auth import ClientAuth
from renderhub.host.stream.inspector import InspectorHistory
from renderhub.host.stream.streamer import Streamer, StreamSettings
from renderhub.host.threads import in_daemon_thread
from renderhub.host.warmup import WarmRenderer, warm_loading
from renderhub.host_protocol import LEASE_RAN_OUT, STOPPED

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 1

# Starts the renderer for a loaded scene (the host's state once it is ready).
RendererStarter = Callable[[HostState], Awaitable[SceneRenderer]]


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
    RendererProcess, launched ahead on a pooled host, see warmup.WarmRenderer)."""
    deadline = Deadline(config.deadline)
    state = HostState(
        session_id=config.session_id,
        budget=PolygonBudget(config.size, config.polygon_limit),
        deadline=deadline,
        models_total=len(config.models),
        phase=Phase.WARMING if config.pooled else Phase.LOADING,
        pool_id=config.pool_id,
    )
    settings = StreamSettings(ice_servers=config.ice_servers, ice_addresses=config.ice_addresses)
    streamer = Streamer(state, settings)
    auth = ClientAuth.from_files(config.public_key_path, config.account_id)
    warm: WarmRenderer | None = None
    if start_renderer is None:
        start_renderer = warm = WarmRenderer()
    session = SessionLoad(config, state, streamer, auth, start_renderer, warm)
    if config.pooled:
        auth.await_session()
    assigner = session.assign if config.pooled else None
    history = InspectorHistory(streamer.stats)
    app = build_app(state, config.control_token, streamer, auth, assigner, history)
    server = HostServer(_uvicorn_config(app), state.stop)
    serving = asyncio.create_task(server.serve(sockets=sockets))
    await _until_started(server, serving)
    for sock in sockets:
        log.info("listening on %s", _address(sock))
    tasks = [
        asyncio.create_task(_stop_at_deadline(deadline, state.stop), name="deadline"),
        asyncio.create_task(_stop_when_asked(state.stop, streamer, server), name="stop"),
        asyncio.create_task(history.run(), name="inspector-history"),
    ]
    if config.pooled:
        tasks.append(asyncio.create_task(_warm_up(state, warm), name="warm-up"))
    else:
        session.begin()
    try:
        await serving
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.aclose()
        # Whatever ended the server, nothing is left running: no client, no renderer.
        await streamer.close(state.stop.ask(STOPPED))
        if warm is not None:
            await warm.aclose()


class SessionLoad:
    """Loading the session's models, then starting its renderer: at once on an ordinary host,
    on POST /control/assign on a pooled one. Owns that task."""

    def __init__(
        self,
        config: HostConfig,
        state: HostState,
        streamer: Streamer,
        auth: ClientAuth,
        start: RendererStarter,
        warm: WarmRenderer | None = None,
    ) -> None:
        """`warm`: the renderer launched ahead, ended at once if loading fails."""
        self._config = config
        self._state = state
        self._streamer = streamer
        self._auth = auth
        self._start = start
        self._warm = warm
        self._task: asyncio.Task[None] | None = None

    def begin(self) -> None:
        """Start loading the configured session (once)."""
        if self._task is None:
            work = self._load_and_start()
            self._task = asyncio.create_task(work, name="load")

    def assign(self, assignment: Assignment) -> None:
        """Give a pooled host its session and start loading it; Conflict (409) when the host
        cannot take it (assigned already, failed, stopping, another size)."""
        state, config = self._state, self._config
        _check_assignable(state, config, assignment)
        remote = config.remote_models
        if remote is not None and assignment.model_token is not None:
            remote = dataclasses.replace(remote, token=assignment.model_token)
        self._config = dataclasses.replace(
            config,
            session_id=assignment.session_id,
            account_id=assignment.account_id,
            models=assignment.models,
            deadline=assignment.deadline,
            polygon_limit=assignment.polygon_limit,
            remote_models=remote,
        )
        budget = PolygonBudget(config.size, assignment.polygon_limit)
        state.assign(assignment.session_id, budget, len(assignment.models))
        state.deadline.move(assignment.deadline)
        self._auth.bind(assignment.account_id)
        label_lines(assignment.session_id, config.pool_id, assignment.account_id)
        log.info(
            "assigned session %s of account %s: %d model(s), deadline %.3f, polygon limit %s",
            assignment.session_id,
            assignment.account_id,
            len(assignment.models),
            assignment.deadline,
            f"{budget.limit:,}" if budget.limit is not None else "none",
        )
        self.begin()

    async def _load_and_start(self) -> None:
        config = self._config
        scene = SceneModel.for_budget(self._state.budget)  # the limit of the session's size
        runtime = SceneRuntime(scene, ModelSources.of(config))
        await load_models(config, self._state, runtime)
        if self._state.phase is not Phase.READY:
            if self._warm is not None:
                await self._warm.aclose()  # no scene will come: free its memory now
            return
        source: SceneRenderer | None = None
        try:
            source = await self._start(self._state)
            await runtime.attach(source)
        except Exception as exc:
            message = getattr(exc, "message", None) or f"The renderer could not start: {exc!r}"
            log.error("the renderer could not start: %s", message)
            self._streamer.renderer_failed(message)
            if source is not None:
                await source.aclose()
            return
        await self._streamer.attach(source, runtime)

    async def aclose(self) -> None:
        """Stop loading, if it still runs."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _check_assignable(state: HostState, config: HostConfig, assignment: Assignment) -> None:
    if state.stop.reason is not None:
        raise Conflict("This render host is stopping.")
    if state.phase is Phase.ERROR:
        raise Conflict(f"This render host cannot take a session: {state.error}")
    if not state.assignable:
        raise Conflict(f"This render host serves session {state.session_id} already.")
    if assignment.size is not None and assignment.size is not config.size:
        raise Conflict(
            f"This render host was started for {config.size.value} sessions, "
            f"not {assignment.size.value}."
        )


async def _warm_up(state: HostState, warm: WarmRenderer | None) -> None:
    """Warm a pooled host: the renderer launched and loading run once; then it is idle."""
    began = time.perf_counter()
    if warm is not None:
        warm.launch()
    try:
        loading_seconds = await in_daemon_thread(warm_loading)
    except Exception:  # warming is an optimisation: the session's own load still reports
        log.exception("warming up the model loader failed")
        loading_seconds = 0.0
    try:
        if warm is not None:
            await warm.ready()
    except RendererError as exc:
        log.error("the renderer could not start: %s", exc.message)
        if state.assignable:
            state.mark_failed(f"The renderer could not start: {exc.message}")
        return
    state.mark_warm()
    log.info(
        "warm in %.0f ms (loader %.0f ms); %s",
        (time.perf_counter() - began) * 1000.0,
        loading_seconds * 1000.0,
        "idle until assigned" if state.phase is Phase.IDLE else "assigned meanwhile",
    )


def _uvicorn_config(app: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        ws="none",  # the host serves no WebSockets: this skips importing a library for them
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
