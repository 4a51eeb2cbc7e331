"""The ray backend: one render host per session on a Ray cluster.

Each host lives in a detached, named Ray actor (`ray_actor.HostActor`) whose name comes from
the account and session, so a second start of the same session (a retry, a racing replica, a
restarted control plane) adopts the running actor instead of starting another. Sizes map to
Ray resources (one unit of `renderhub_standard` / `renderhub_premium`, plus GPUs where
configured), so Ray's scheduler places hosts, spread over the nodes, and its autoscaler adds
nodes. The control plane talks to each host over HTTP as the local backend does, and falls
back on Ray's view of the actor and its node when the host does not answer.

Ray's blocking calls run in threads; its object refs are awaited; every wait has a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import ipaddress
import logging
import re
import secrets
import socket
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from renderhub.backends.base import (
    BackendState,
    HostHealth,
    HostPhase,
    HostSpec,
    IdleHostSpec,
    StartedHost,
    settings_arguments,
)
from renderhub.backends.host_http import HostHttp, assignment_body
from renderhub.backends.ray_actor import HostActor, HostLaunch
from renderhub.errors import BackendError, ConfigurationError
from renderhub.host_protocol import (
    CONTROL_TOKEN_ENV,
    DEADLINE_PATH,
    KILLED_WITHIN_SECONDS,
    MODEL_TOKEN_ENV,
    SHUTDOWN_PATH,
    Flag,
    deadline_body,
    lease_arguments,
    models_environment,
    pooled_arguments,
    session_arguments,
    shutdown_body,
    stopped_unexpectedly,
)
from renderhub.settings import Settings
from renderhub.sizes import SessionSize

log = logging.getLogger(__name__)

ACTOR_PREFIX = "renderhub-host-"
_REACH_SECONDS = 3.0  # the head's GCS port must take a TCP connection within this
_JOIN_SECONDS = 60.0  # ray.init, once the port answers
_CALL_SECONDS = 3.0  # one call to an actor or to the GCS
T = TypeVar("T")
# How Ray words an actor's death when its node went away.
_NODE_DIED = re.compile(r"node (has )?died|node .* (is|was|has been) (marked )?dead", re.I)


def pool_actor_name(pool_id: str) -> str:
    """The actor of a warm-pool host (named, so a restarted control plane finds it)."""
    return f"renderhub-pool-{pool_id}"


def actor_name(account_id: str, session_id: str) -> str:
    """The actor of a session: derived from account and session, within Ray's name limits."""
    digest = hashlib.sha256(f"{account_id}/{session_id}".encode()).hexdigest()
    return f"{ACTOR_PREFIX}{digest[:40]}"


class RayBackend:
    name = "ray"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._address = _head_address(settings.ray_address)
        _check_reachable(*self._address)
        self._hosts = HostHttp()
        self._handles: dict[str, Any] = {}
        self._joined = False
        self._join_lock = asyncio.Lock()

    # -- connecting ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Join the cluster and check that it offers each size's resource (a warning when
        not: an autoscaler may still add such nodes)."""
        await self._join()
        if _is_loopback(self._settings.models_url) and not _is_loopback(self._address[0]):
            log.warning(
                "Hosts on Ray nodes fetch data-dir models from %s, a loopback address they "
                "cannot reach; set RENDERHUB_HOST_MODELS_URL (or RENDERHUB_PUBLIC_URL).",
                self._settings.models_url,
            )
        resources = await self._blocking(_cluster_resources)
        for size in SessionSize:
            resource = self._settings.ray_resource_for(size)
            if resources.get(resource, 0) <= 0:
                log.warning(
                    "The Ray cluster at %s has no %r resource: %s sessions wait for a node "
                    "that has it (an autoscaler may add one) and fail after the start timeout.",
                    self._address_text, resource, size.value,
                )  # fmt: skip

    async def _join(self) -> None:
        async with self._join_lock:
            if self._joined:
                return
            try:
                async with asyncio.timeout(_JOIN_SECONDS):
                    await asyncio.to_thread(self._init_ray)
            except TimeoutError:
                raise ConfigurationError(
                    f"Could not join the Ray cluster at {self._address_text} within "
                    f"{_JOIN_SECONDS:g} s; is a Ray node running on this machine?"
                ) from None
            except Exception as exc:
                raise ConfigurationError(
                    f"Could not join the Ray cluster at {self._address_text}: {_join_failure(exc)}"
                ) from exc
            self._joined = True

    def _init_ray(self) -> None:
        import ray

        ray.init(
            address=self._address_text,
            namespace=self._settings.ray_namespace,
            log_to_driver=False,
            logging_level=logging.WARNING,
            ignore_reinit_error=True,
        )

    @property
    def _address_text(self) -> str:
        host, port = self._address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # -- the contract --------------------------------------------------------------------------

    async def start(self, spec: HostSpec) -> StartedHost:
        name = actor_name(spec.account_id, spec.session_id)
        started = await self._start_actor(name, self._launch(spec), spec.size, {})
        log.info("host of session %s runs on Ray node %s", spec.session_id, started.hostname)
        return started

    async def start_idle(self, spec: IdleHostSpec) -> StartedHost:
        """A warm-pool host in an actor of its own, named from its pool id; it polls IDLE
        once warm, and `assign` gives it its session."""
        name = pool_actor_name(spec.pool_id)
        extra = {"poolId": spec.pool_id}
        started = await self._start_actor(name, self._launch_idle(spec), spec.size, extra)
        log.info("warm host %s runs on Ray node %s", spec.pool_id, started.hostname)
        return started

    async def _start_actor(
        self, name: str, launch: HostLaunch, size: SessionSize, extra: dict[str, Any]
    ) -> StartedHost:
        """Create (or adopt, by name) the actor of one host and wait until it is placed."""
        await self._join()
        options = self._actor_options(size, name)
        handle = await self._blocking(lambda: _actor_class().options(**options).remote(launch))
        report = await self._placed(handle, size)
        self._handles[name] = handle
        namespace = self._settings.ray_namespace
        state: BackendState = {"actor": name, "namespace": namespace, **extra, **report}
        return StartedHost(
            state=state,
            hostname=report["hostname"],
            handshake_port=report["port"],
            inspector_port=report["inspectorPort"],
        )

    async def assign(self, state: BackendState, spec: HostSpec) -> None:
        """Give a warm host its session (with the session's model credential)."""
        body = assignment_body(spec)
        await self._hosts.assign(state["address"], state["port"], state["controlToken"], body)

    async def _placed(self, handle: Any, size: SessionSize) -> dict[str, Any]:
        """The actor's report once Ray has placed it and the host is launched; the actor is
        killed (nothing left pending) when no node had room in time, or it failed."""
        from ray.exceptions import RayError

        within = self._placement_seconds
        try:
            async with asyncio.timeout(within):
                report: dict[str, Any] = await handle.report.remote()
                return report
        except TimeoutError:
            await self._kill(handle)
            resource = self._settings.ray_resource_for(size)
            gpus = self._settings.ray_gpus_for(size)
            needs = f"one unit of {resource!r}" + (f" and {gpus:g} GPU" if gpus else "")
            raise BackendError(
                f"No Ray node had room for a {size.value} render host ({needs}) within "
                f"{within:g} s; the cluster is full or has no such node."
            ) from None
        except RayError as exc:
            await self._kill(handle)
            raise BackendError(
                f"The render host's Ray actor could not start: {_first_line(exc)}"
            ) from exc

    @property
    def _placement_seconds(self) -> float:
        # A little under the start timeout, so that this sentence, not the generic start
        # timeout, is what the session ends with.
        timeout = self._settings.start_timeout_seconds
        return max(1.0, timeout - min(2.0, timeout / 10))

    def _actor_options(self, size: SessionSize, name: str) -> dict[str, Any]:
        settings = self._settings
        options: dict[str, Any] = {
            "name": name,
            "namespace": settings.ray_namespace,
            "get_if_exists": True,  # a second start adopts the running actor
            "lifetime": "detached",  # outlives this control-plane process
            "max_restarts": 0,  # a restarted actor would be a new host nobody knows of
            "max_task_retries": 0,
            "num_cpus": 0,
            "resources": {settings.ray_resource_for(size): 1},
            "scheduling_strategy": "SPREAD",
        }
        if gpus := settings.ray_gpus_for(size):
            options["num_gpus"] = gpus
        return options

    def _launch(self, spec: HostSpec) -> HostLaunch:
        arguments = [
            *session_arguments(spec.session_id, spec.account_id),
            *self._common_arguments(spec.size, spec.deadline, spec.polygon_limit),
        ]
        environment = {
            CONTROL_TOKEN_ENV: secrets.token_urlsafe(32),
            **models_environment(spec.models),
        }
        if spec.model_token:
            environment[MODEL_TOKEN_ENV] = spec.model_token
        return HostLaunch(arguments, environment, spec.public_key_pem)

    def _launch_idle(self, spec: IdleHostSpec) -> HostLaunch:
        arguments = [
            *pooled_arguments(spec.pool_id),
            *self._common_arguments(spec.size, spec.deadline, spec.polygon_limit),
        ]
        environment = {CONTROL_TOKEN_ENV: secrets.token_urlsafe(32)}
        return HostLaunch(arguments, environment, spec.public_key_pem)

    def _common_arguments(
        self, size: SessionSize, deadline: float, polygon_limit: int | None
    ) -> list[str]:
        settings = self._settings
        return [
            *lease_arguments(size, deadline, polygon_limit),
            *settings_arguments(settings),
            Flag.MODELS_URL, settings.models_url,
        ]  # fmt: skip

    async def poll(self, state: BackendState) -> HostHealth:
        health = await self._hosts.health(state["address"], state["port"])
        if health is not None:
            return health
        return await self._actor_health(state)

    async def _actor_health(self, state: BackendState) -> HostHealth:
        """The host does not answer: ask Ray whether its actor and node still live."""
        from ray.exceptions import ActorUnavailableError, RayActorError

        try:
            handle = await self._handle(state)
        except BackendError:
            return HostHealth(HostPhase.LOADING)  # the cluster did not answer: ask again
        if handle is None:
            return HostHealth(HostPhase.GONE, await self._why_gone(state))
        try:
            async with asyncio.timeout(_CALL_SECONDS):
                exit_status: str | None = await handle.host_exit.remote()
        except (TimeoutError, ActorUnavailableError):
            return HostHealth(HostPhase.LOADING)  # busy, or its node is dying: ask again
        except RayActorError as exc:
            log.info("the Ray actor %s died: %s", state["actor"], exc)
            self._handles.pop(state["actor"], None)
            return HostHealth(HostPhase.GONE, await self._why_gone(state, str(exc)))
        if exit_status is None:
            return HostHealth(HostPhase.LOADING)
        return HostHealth(HostPhase.GONE, stopped_unexpectedly(exit_status))

    async def _why_gone(self, state: BackendState, ray_says: str = "") -> str:
        try:
            alive = await self._blocking(functools.partial(_node_alive, state["nodeId"]))
        except BackendError:
            alive = None
        if alive is False or _NODE_DIED.search(ray_says):
            return f"The Ray node running the render host ({state['address']}) died."
        return "The render host's Ray actor died."

    async def set_deadline(self, state: BackendState, deadline: float) -> None:
        await self._control(state, DEADLINE_PATH, deadline_body(deadline))

    async def stop(self, state: BackendState, reason: str | None = None) -> None:
        from ray.exceptions import RayError

        if reason:
            await self._control(state, SHUTDOWN_PATH, shutdown_body(reason))
        handle = await self._handle(state)  # BackendError when the cluster does not answer
        if handle is None:
            return  # already gone
        grace = self._settings.stop_timeout_seconds
        try:
            async with asyncio.timeout(grace + KILLED_WITHIN_SECONDS + _CALL_SECONDS):
                await handle.stop_host.remote(grace)
        except (TimeoutError, RayError) as exc:
            log.warning("actor %s did not stop its host: %s", state["actor"], _first_line(exc))
        await self._kill(handle)
        self._handles.pop(state["actor"], None)

    async def stop_unrecorded(self, account_id: str, session_id: str, reason: str) -> bool:
        """Stop the session's actor, found by its name, if one runs (its launch was never
        recorded: the replica that made it died first). `reason` cannot reach its client: the
        host's control token was never recorded either."""
        state: BackendState = {"actor": actor_name(account_id, session_id)}
        if await self._handle(state) is None:
            return False
        log.info("stopping the unrecorded host of session %s: %s", session_id, reason)
        await self.stop(state)
        return True

    async def aclose(self) -> None:
        """Close the HTTP client. The Ray connection stays (it is per process, and hosts are
        detached actors that do not depend on it)."""
        await self._hosts.aclose()

    # -- helpers -------------------------------------------------------------------------------

    async def _control(self, state: BackendState, path: str, body: dict[str, object]) -> None:
        token = state["controlToken"]
        await self._hosts.control(state["address"], state["port"], token, path, body)

    async def _handle(self, state: BackendState) -> Any | None:
        """The session's actor, or None once it is gone (Ray frees a dead actor's name);
        BackendError when the cluster does not answer in time."""
        name = state["actor"]
        if name in self._handles:
            return self._handles[name]
        await self._join()
        namespace = state.get("namespace", self._settings.ray_namespace)
        handle = await self._blocking(functools.partial(_get_actor, name, namespace))
        if handle is not None:
            self._handles[name] = handle
        return handle

    async def _kill(self, handle: Any) -> None:
        try:
            await self._blocking(functools.partial(_kill_actor, handle))
        except BackendError as exc:
            log.warning("could not kill a host's Ray actor: %s", exc.message)

    async def _blocking(self, call: Callable[[], T]) -> T:
        """Run one of Ray's blocking calls in a thread, within a time limit."""
        try:
            async with asyncio.timeout(_CALL_SECONDS * 3):
                return await asyncio.to_thread(call)
        except TimeoutError:
            raise BackendError(
                f"The Ray cluster at {self._address_text} did not answer in time."
            ) from None


@functools.cache
def _actor_class() -> Any:
    import ray

    return ray.remote(HostActor)


def _get_actor(name: str, namespace: str) -> Any | None:
    import ray

    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        return None


def _kill_actor(handle: Any) -> None:
    import ray
    from ray.exceptions import RayError

    with contextlib.suppress(ValueError, RayError):  # already gone
        ray.kill(handle, no_restart=True)


def _node_alive(node_id: str) -> bool | None:
    import ray

    for node in ray.nodes():
        if node.get("NodeID") == node_id:
            return bool(node.get("Alive"))
    return None


def _cluster_resources() -> dict[str, float]:
    import ray

    return dict(ray.cluster_resources())


def _head_address(value: str | None) -> tuple[str, int]:
    if not value:
        raise ConfigurationError(
            "The ray backend needs RENDERHUB_RAY_ADDRESS: the Ray head node's HOST:PORT."
        )
    host, colon, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(
            f"RENDERHUB_RAY_ADDRESS {value!r} is not HOST:PORT (the Ray head node's address)."
        )
    return host, int(port)


def _check_reachable(host: str, port: int) -> None:
    """Fail at once, in one sentence, when nothing listens at the head's address (ray.init
    would otherwise retry for about a minute)."""
    try:
        socket.create_connection((host, port), timeout=_REACH_SECONDS).close()
    except OSError as exc:
        cause = exc.strerror or type(exc).__name__
        raise ConfigurationError(
            f"The Ray cluster at {host}:{port} cannot be reached ({cause.lower()}); check "
            "RENDERHUB_RAY_ADDRESS and that the Ray head node is running."
        ) from exc


def _is_loopback(url_or_host: str) -> bool:
    host = urlsplit(url_or_host).hostname if "//" in url_or_host else url_or_host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _join_failure(exc: BaseException) -> str:
    """Why ray.init failed, in words: its own error hides the cause in the chain."""
    from ray.exceptions import AuthenticationError

    cause: BaseException | None = exc
    while cause is not None:
        text = str(cause).lower()
        if isinstance(cause, AuthenticationError) or "authentication token" in text:
            return (
                "it refused this control plane's token; give it the cluster's token "
                "(RAY_AUTH_MODE=token with RAY_AUTH_TOKEN or ~/.ray/auth_token)."
            )
        cause = cause.__cause__ or cause.__context__
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if line.endswith(".") else f"{line}."
