"""The vocabulary shared by the control plane and its render hosts (`renderhub host`).

A backend starts a host with command-line flags and environment variables, polls its
GET /health, and orders it on its /control/* routes; the host reads the same flags and
variables, answers /health and obeys the orders. Every name, word, limit, default and message
of that conversation is written here once, and both sides import it, so that neither can drift
from the other. It imports nothing of RenderHub but other vocabulary modules.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TypedDict

from renderhub.sizes import SessionSize

# -- the environment a host is started with ---------------------------------------------------

# The bearer token of the host's /control/* routes (also how a pooled host is assigned).
CONTROL_TOKEN_ENV = "RENDERHUB_HOST_CONTROL_TOKEN"
# The host's credential for GET <models-url>/hosts/models/PATH (hosts off the control plane's
# disk).
MODEL_TOKEN_ENV = "RENDERHUB_HOST_MODEL_TOKEN"
# The session's model URLs, a JSON list: not on the command line, for a blob URL carries a SAS
# and any user of the machine can read argv.
MODELS_ENV = "RENDERHUB_HOST_MODELS"


def models_environment(models: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The environment that hands `models` to a host: a JSON list of URLs (none when empty)."""
    return {MODELS_ENV: json.dumps(list(models))} if models else {}


def models_from_environment(raw: str | None) -> list[str]:
    """The model URLs in $RENDERHUB_HOST_MODELS; ValueError when it is not a JSON list of
    strings."""
    if not raw:
        return []
    try:
        models = json.loads(raw)
    except ValueError:
        models = None
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ValueError(f"${MODELS_ENV} must be a JSON list of model URLs.")
    return models


# -- the command line a host is started with --------------------------------------------------


class Flag:
    """The flags of `renderhub host` that a backend (or a Ray node's actor) passes: plain
    strings, so that they pickle and print as themselves."""

    SESSION_ID = "--session-id"
    ACCOUNT_ID = "--account-id"
    POOLED = "--pooled"
    POOL_ID = "--pool-id"
    SIZE = "--size"
    DEADLINE = "--deadline"
    POLYGON_LIMIT = "--polygon-limit"
    MODEL = "--model"
    MODELS_DIR = "--models-dir"
    MODELS_URL = "--models-url"
    ALLOW_MODELS = "--allow-models"
    ALLOW_STORAGE = "--allow-storage"
    MAX_MODEL_BYTES = "--max-model-bytes"
    FETCH_TIMEOUT = "--fetch-timeout"
    PUBLIC_KEY = "--public-key"
    ICE_SERVER = "--ice-server"
    ICE_ADDRESS = "--ice-address"
    LISTEN_FD = "--listen-fd"
    BIND = "--bind"
    PORT = "--port"
    LOG_FORMAT = "--log-format"


HOST_COMMAND = ("-m", "renderhub", "host")  # after the Python interpreter


def session_arguments(session_id: str, account_id: str) -> list[str]:
    """The flags of a host started for one session."""
    return [Flag.SESSION_ID, session_id, Flag.ACCOUNT_ID, account_id]


def pooled_arguments(pool_id: str) -> list[str]:
    """The flags of a warm-pool host, started without a session."""
    return [Flag.POOLED, Flag.POOL_ID, pool_id]


def lease_arguments(size: SessionSize, deadline: float, polygon_limit: int | None) -> list[str]:
    """The flags every host gets: its size, hard deadline and polygon limit (0: none)."""
    return [
        Flag.SIZE, size.value,
        Flag.DEADLINE, f"{deadline:.3f}",
        Flag.POLYGON_LIMIT, str(polygon_limit or 0),
    ]  # fmt: skip


def repeated(flag: str, values: list[str] | tuple[str, ...]) -> list[str]:
    """A repeatable flag, once per value."""
    return [word for value in values for word in (flag, value)]


# -- defaults and limits both sides apply -----------------------------------------------------

DEFAULT_MAX_MODEL_BYTES = 1 << 30  # the largest model file, per model
DEFAULT_FETCH_TIMEOUT_SECONDS = 120.0  # the longest model download, per model
MAX_REASON_CHARS = 1000  # the longest reason POST /control/shutdown takes

# -- stopping a host ---------------------------------------------------------------------------

STOPPED = "The session was stopped."  # what the client is told (POST /control/shutdown)
LEASE_RAN_OUT = "The session's lease ran out."  # ... when the host's own deadline passes
# A host is sent SIGTERM, given the operator's grace (stop_timeout_seconds), then SIGKILL, and
# is gone within this many seconds more.
KILLED_WITHIN_SECONDS = 5.0


def exit_words(code: int) -> str:
    """How a host process ended, from its exit status (negative: the signal that killed it)."""
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def stopped_unexpectedly(how: str) -> str:
    """The session's error message when its host went away by itself (`how`: exit_words)."""
    return f"The render host stopped unexpectedly ({how})."


# -- the routes -------------------------------------------------------------------------------

HEALTH_PATH = "/health"
DEADLINE_PATH = "/control/deadline"  # {"deadline": epoch seconds}
SHUTDOWN_PATH = "/control/shutdown"  # {"reason": for the client}, optional
ASSIGN_PATH = "/control/assign"  # AssignmentBody: a pooled host's session
METRICS_PATH = "/metrics"  # the host's Prometheus text; with its control token
MODELS_PATH = "/hosts/models"  # on the control plane: GET MODELS_PATH/<data-dir path>


def authorization(token: str) -> dict[str, str]:
    """The header that carries a host's credential: its control token, or its model token."""
    return {"Authorization": f"Bearer {token}"}


def deadline_body(deadline: float) -> dict[str, object]:
    """The body of POST /control/deadline."""
    return {"deadline": deadline}


def shutdown_body(reason: str) -> dict[str, object]:
    """The body of POST /control/shutdown."""
    return {"reason": reason}


class AssignmentBody(TypedDict, total=False):
    """The body of POST /control/assign (the host checks it: renderhub.host.assignment).
    `polygonLimit` null or 0: no limit; `modelToken` only for hosts with --models-url."""

    sessionId: str
    accountId: str
    size: str
    models: list[str]
    deadline: float
    polygonLimit: int | None
    modelToken: str


# -- GET /health ------------------------------------------------------------------------------


class HealthStatus(StrEnum):
    """The `status` word of GET /health (HTTP 503 loading, 200 idle or ready, 500 error)."""

    LOADING = "loading"  # loading models, or a pooled host still warming up
    IDLE = "idle"  # a warm pooled host waiting for POST /control/assign
    READY = "ready"
    ERROR = "error"  # the models failed to load; `message` says why


class HealthBody(TypedDict, total=False):
    """The JSON body of GET /health; which fields are there depends on `status`. A reader gets
    it from another process, so it checks each value's type before it trusts it."""

    status: str
    sessionId: str | None
    poolId: str
    modelsLoaded: int  # loading
    modelsTotal: int  # loading
    polygons: int  # ready
    polygonLimit: int | None  # ready
    overLimit: bool  # ready
    message: str | None  # error, warming up, or ready over the polygon limit
    models: list[dict[str, object]]  # ready: one summary per model
    deadline: float  # idle and ready
    loadSeconds: float  # ready


WARMING_UP = "The render host is warming up."
LOAD_FAILED = "The render host failed to load the models."  # an error without a message
