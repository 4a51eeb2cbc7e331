"""Everything one render host is told at start, gathered from its command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from renderhub.host.stream.ice import IceServer
from renderhub.host_protocol import (
    DEFAULT_FETCH_TIMEOUT_SECONDS,
    DEFAULT_MAX_MODEL_BYTES,
    MODELS_PATH,
    authorization,
)
from renderhub.logs import LogFormat
from renderhub.model_sources import ModelPolicy
from renderhub.sizes import SessionSize


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How much one model download may take, in bytes and in total seconds."""

    max_bytes: int = DEFAULT_MAX_MODEL_BYTES
    timeout_seconds: float = DEFAULT_FETCH_TIMEOUT_SECONDS


@dataclass(frozen=True, slots=True)
class RemoteModels:
    """Where a host off the control plane's disk fetches models named by a data-dir path:
    GET <base_url>/hosts/models/<path> (MODELS_PATH), with the host's own model credential."""

    base_url: str
    token: str | None

    def url_for(self, relative_path: str) -> str:
        return f"{self.base_url.rstrip('/')}{MODELS_PATH}/{quote(relative_path)}"

    def headers(self) -> dict[str, str]:
        return authorization(self.token) if self.token else {}


@dataclass(frozen=True, slots=True)
class HostConfig:
    """`pooled`: start idle, with no session (session_id, account_id and models empty), and
    take one from POST /control/assign; `pool_id` names the host in its logs and /health."""

    session_id: str | None
    size: SessionSize
    deadline: float
    models: tuple[str, ...]
    policy: ModelPolicy
    polygon_limit: int | None
    limits: FetchLimits
    control_token: str | None = None
    public_key_path: Path | None = None
    account_id: str | None = None
    ice_servers: tuple[IceServer, ...] = ()
    ice_addresses: tuple[str, ...] = ()
    remote_models: RemoteModels | None = None
    pooled: bool = False
    pool_id: str | None = None
    log_format: LogFormat = "text"
