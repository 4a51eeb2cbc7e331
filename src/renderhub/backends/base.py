"""The backend contract: where render hosts run.

A backend starts one host per session and returns an opaque, JSON-serialisable state that the
store keeps on the session row; every later call gets that state back, so any control-plane
replica can poll, re-deadline or stop a host after a restart. Backends are found by name in
the `renderhub.backends` entry-point group, so a third party can add one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any, Protocol

from renderhub.errors import ConfigurationError
from renderhub.host_protocol import Flag, repeated
from renderhub.settings import Settings
from renderhub.sizes import SessionSize

ENTRY_POINT_GROUP = "renderhub.backends"

BackendState = dict[str, Any]


def settings_arguments(settings: Settings) -> list[str]:
    """The flags of `renderhub host` that come from the operator's settings, the same under
    every backend: the model limits, the ICE servers, the allowed model prefixes and the
    log format."""
    return [
        Flag.MAX_MODEL_BYTES, str(settings.max_model_bytes),
        Flag.FETCH_TIMEOUT, str(settings.model_fetch_timeout_seconds),
        *repeated(Flag.ICE_SERVER, settings.ice_servers),
        *repeated(Flag.ALLOW_MODELS, settings.allow_models),
        *repeated(Flag.ALLOW_STORAGE, settings.allow_storage),
        Flag.LOG_FORMAT, settings.log_format,
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class HostSpec:
    """What a host needs to know to serve one session."""

    account_id: str
    session_id: str
    size: SessionSize
    models: list[str]
    deadline: float
    polygon_limit: int | None
    # For hosts that do not share the control plane's disk (the `ray` backend): the control
    # plane's token-verifying public key (PEM), and a credential with which the host fetches
    # models named by a data-dir path from the control plane.
    public_key_pem: str | None = None
    model_token: str | None = None


@dataclass(frozen=True, slots=True)
class IdleHostSpec:
    """A warm-pool host: started before any session asks for it, idle until assigned."""

    pool_id: str
    size: SessionSize
    deadline: float
    polygon_limit: int | None
    public_key_pem: str | None = None


@dataclass(frozen=True, slots=True)
class StartedHost:
    state: BackendState
    hostname: str
    handshake_port: int
    inspector_port: int
    teraflops: float | None = None

    def columns(self) -> dict[str, Any]:
        """What the store records about the host (on a session's or a pool host's row)."""
        return {
            "backend_state": self.state,
            "hostname": self.hostname,
            "handshake_port": self.handshake_port,
            "inspector_port": self.inspector_port,
            "teraflops": self.teraflops,
        }


class HostPhase(StrEnum):
    IDLE = "idle"  # a warm-pool host waiting to be assigned a session
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class HostHealth:
    phase: HostPhase
    message: str | None = None
    polygons: int | None = None


class Backend(Protocol):
    """Every method is async and time-limited; none may hang the control plane."""

    name: str

    async def start(self, spec: HostSpec) -> StartedHost:
        """Start a host for the session; return as soon as it is launched (not loaded)."""
        ...

    async def poll(self, state: BackendState) -> HostHealth:
        """How the host is doing: still loading, ready, failed (with why), or gone."""
        ...

    async def set_deadline(self, state: BackendState, deadline: float) -> None:
        """Move the host's own hard deadline (epoch seconds); best effort."""
        ...

    async def stop(self, state: BackendState, reason: str | None = None) -> None:
        """Stop the host: gracefully, then forcefully. Safe to call on a host already gone.

        `reason` is what the host tells its connected client before it closes."""
        ...

    async def aclose(self) -> None:
        """Release the backend's own resources; hosts keep running."""
        ...


class FindingBackend(Backend, Protocol):
    """A backend that names each session's host after the session (Ray's named actors), so a
    host whose launch was never recorded (its replica died in between) can still be stopped."""

    async def stop_unrecorded(self, account_id: str, session_id: str, reason: str) -> bool:
        """Stop the session's host if one runs; True if there was one."""
        ...


class PoolingBackend(Backend, Protocol):
    """A backend that can keep hosts warm: started and idle (interpreter up, imports done, GL
    context made) before any session asks, then assigned one session each."""

    async def start_idle(self, spec: IdleHostSpec) -> StartedHost:
        """Start an idle host; `poll` reports IDLE once it is warm."""
        ...

    async def assign(self, state: BackendState, spec: HostSpec) -> None:
        """Give an idle host its session: it loads the models and then polls as any host.

        Raises BackendError if the host is gone or was already assigned."""
        ...


async def open_backend(backend: Backend) -> None:
    """Run the backend's optional `async open()`: its start-up checks and connections.

    It raises ConfigurationError, with one sentence, when the backend cannot work as set up."""
    opener = getattr(backend, "open", None)
    if opener is not None:
        await opener()


def backend_factory(name: str) -> Callable[[Settings], Backend]:
    """The installed backend of that name, or a ConfigurationError that lists the installed."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    entry = found.get(name)
    if entry is None:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigurationError(f"Unknown backend {name!r}; installed: {known}.")
    factory: Callable[[Settings], Backend] = entry.load()
    return factory


def load_backend(settings: Settings) -> Backend:
    """Instantiate the backend named in the settings from its entry point."""
    return backend_factory(settings.backend)(settings)
