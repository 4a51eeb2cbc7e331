"""`renderhub host`: the render host process, one per session, started by a backend.

This module is imported on every start, so it stays light: the web server and the mesh
libraries are imported only once the command line has been checked.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import click

from renderhub.host.config import FetchLimits, HostConfig, RemoteModels
from renderhub.host.listeners import bind_listener, inherited_listener
from renderhub.host.stream.ice import (
    IceServer,
    IceServerError,
    check_local_address,
    parse_ice_server,
)
from renderhub.host_protocol import (
    ASSIGN_PATH,
    CONTROL_TOKEN_ENV,
    DEFAULT_FETCH_TIMEOUT_SECONDS,
    DEFAULT_MAX_MODEL_BYTES,
    HEALTH_PATH,
    MODEL_TOKEN_ENV,
    MODELS_ENV,
    MODELS_PATH,
    Flag,
    models_from_environment,
)
from renderhub.metrics.workers import MULTIPROCESS_ENV
from renderhub.model_sources import ModelPolicy
from renderhub.sizes import SessionSize

log = logging.getLogger("renderhub.host")


@click.command()
@click.option(Flag.SESSION_ID, help="The session this host serves (not with --pooled).")
@click.option(
    Flag.POOLED,
    is_flag=True,
    help=f"Start without a session, warm up and wait idle for POST {ASSIGN_PATH} "
    f"(a warm-pool host; no {Flag.SESSION_ID}, {Flag.MODEL} or {Flag.ACCOUNT_ID}).",
)
@click.option(
    Flag.POOL_ID, metavar="ID", help=f"A pooled host's name, for its logs and {HEALTH_PATH}."
)
@click.option(
    Flag.SIZE,
    required=True,
    type=click.Choice([size.value for size in SessionSize], case_sensitive=False),
    help="The session's size; sets the default polygon limit.",
)
@click.option(
    Flag.DEADLINE,
    required=True,
    type=float,
    metavar="EPOCH_SECONDS",
    help="Hard deadline: the host exits by itself once the wall clock passes it.",
)
@click.option(
    Flag.MODEL,
    "models",
    multiple=True,
    metavar="URL",
    help=f"A model to load (repeat) [env: {MODELS_ENV}, a JSON list: the backends pass "
    "models there, so that a SAS is not on the command line].",
)
@click.option(
    Flag.MODELS_DIR,
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Local models may be loaded from under this directory.",
)
@click.option(
    Flag.MODELS_URL,
    metavar="URL",
    help="Fetch models named by a data-dir path from this control plane (GET "
    f"URL{MODELS_PATH}/PATH, with the credential in ${MODEL_TOKEN_ENV}) instead of "
    f"reading them under {Flag.MODELS_DIR}: for hosts that do not share the control plane's "
    "disk.",
)
@click.option(
    Flag.ALLOW_MODELS,
    "allowed_prefixes",
    multiple=True,
    metavar="PREFIX",
    help="Also allow model URLs starting with this prefix (repeat).",
)
@click.option(
    Flag.ALLOW_STORAGE,
    "storage_prefixes",
    multiple=True,
    metavar="PREFIX",
    help="Also allow models (converted assets) in storage containers under this prefix "
    "(repeat); blob URLs may carry a SAS query.",
)
@click.option(
    Flag.POLYGON_LIMIT,
    type=click.IntRange(min=0),
    help="Most polygons rendered; 0 for no limit. Default: the size's limit.",
)
@click.option(
    Flag.MAX_MODEL_BYTES,
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_MODEL_BYTES,
    show_default=True,
    help="Largest model file, per model.",
)
@click.option(
    Flag.FETCH_TIMEOUT,
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_FETCH_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Longest download, per model.",
)
@click.option(
    Flag.PUBLIC_KEY,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The control plane's Ed25519 public key (PEM), to verify clients' access tokens.",
)
@click.option(
    Flag.ACCOUNT_ID,
    metavar="ID",
    help="The session's account: only its access tokens may connect a client.",
)
@click.option(
    Flag.ICE_SERVER,
    "ice_servers",
    multiple=True,
    metavar="URL",
    help="A STUN/TURN server for WebRTC (repeat): stun:HOST[:PORT], "
    "turn:USER:PASS@HOST[:PORT][?transport=udp|tcp], or JSON "
    '{"urls": ..., "username": ..., "credential": ...}. Default: none (host candidates only).',
)
@click.option(
    Flag.ICE_ADDRESS,
    "ice_addresses",
    multiple=True,
    metavar="ADDR",
    help="Offer WebRTC host candidates on this local address only (repeat). Default: every "
    "address but loopback. 127.0.0.1 serves a browser on this machine over loopback.",
)
@click.option(
    Flag.LISTEN_FD,
    "listen_fds",
    multiple=True,
    type=int,
    metavar="FD",
    help="An inherited listening TCP socket to serve on (repeat).",
)
@click.option(Flag.BIND, metavar="ADDR", help="Address to listen on (with --port).")
@click.option(Flag.PORT, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    Flag.LOG_FORMAT,
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or as one JSON object each (time, level, logger, message, cv, "
    "account, session).",
)
def host(
    session_id: str | None,
    pooled: bool,
    pool_id: str | None,
    size: str,
    deadline: float,
    models: tuple[str, ...],
    models_dir: Path,
    models_url: str | None,
    allowed_prefixes: tuple[str, ...],
    storage_prefixes: tuple[str, ...],
    polygon_limit: int | None,
    max_model_bytes: int,
    fetch_timeout: float,
    public_key: Path | None,
    account_id: str | None,
    ice_servers: tuple[str, ...],
    ice_addresses: tuple[str, ...],
    listen_fds: tuple[int, ...],
    bind: str | None,
    port: int | None,
    log_format: str,
) -> None:
    """Run the render host of one session: load its models, serve /health, and stream
    them to one client over WebRTC (POST /webrtc/offer). With --pooled: warm up, wait idle,
    and take the session from POST /control/assign.

    The control endpoints need `Authorization: Bearer $RENDERHUB_HOST_CONTROL_TOKEN`; a client
    needs an access token of --account-id, verified with --public-key.
    """
    session_size = SessionSize(size)
    control_token = os.environ.pop(CONTROL_TOKEN_ENV, None) or None
    # The control plane's API workers count their metrics in files there; the host has its own.
    os.environ.pop(MULTIPROCESS_ENV, None)
    models = (*models, *_models_from_environment())
    _check_pooled(pooled, session_id, models, account_id, pool_id, control_token)
    if public_key is not None:
        _check_public_key(public_key)
    servers = _ice_servers(ice_servers)
    sockets = _listeners(listen_fds, bind, port)
    config = HostConfig(
        session_id=session_id,
        size=session_size,
        deadline=deadline,
        models=models,
        policy=ModelPolicy(models_dir, allowed_prefixes, storage_prefixes),
        polygon_limit=_polygon_limit(polygon_limit, session_size),
        limits=FetchLimits(max_bytes=max_model_bytes, timeout_seconds=fetch_timeout),
        control_token=control_token,
        public_key_path=public_key,
        account_id=account_id,
        ice_servers=servers,
        ice_addresses=_ice_addresses(ice_addresses),
        remote_models=_remote_models(models_url),
        pooled=pooled,
        pool_id=pool_id,
        log_format="json" if log_format == "json" else "text",
    )
    _run(config, sockets)


def _models_from_environment() -> list[str]:
    """The models the backend passed in $RENDERHUB_HOST_MODELS (a JSON list of URLs)."""
    try:
        return models_from_environment(os.environ.pop(MODELS_ENV, None))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _check_pooled(
    pooled: bool,
    session_id: str | None,
    models: tuple[str, ...],
    account_id: str | None,
    pool_id: str | None,
    control_token: str | None,
) -> None:
    """A pooled host learns its session from POST /control/assign; any other needs one now."""
    if not pooled:
        if session_id is None:
            raise click.UsageError("Give --session-id ID, or --pooled for a warm-pool host.")
        if pool_id is not None:
            raise click.UsageError("--pool-id goes with --pooled only.")
        return
    session_options = {Flag.SESSION_ID: session_id, Flag.MODEL: models, Flag.ACCOUNT_ID: account_id}
    for name, value in session_options.items():
        if value:
            raise click.UsageError(
                f"A pooled host gets its session from POST {ASSIGN_PATH}; drop {name}."
            )
    if control_token is None:
        raise click.UsageError(
            f"A pooled host needs ${CONTROL_TOKEN_ENV}: it is assigned its session with it."
        )


def _polygon_limit(given: int | None, size: SessionSize) -> int | None:
    if given is None:
        return size.polygon_limit
    return given or None


def _remote_models(models_url: str | None) -> RemoteModels | None:
    token = os.environ.pop(MODEL_TOKEN_ENV, None) or None
    if models_url is None:
        return None
    if not models_url.lower().startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{models_url!r} is not an http(s) URL.", param_hint="'--models-url'"
        )
    return RemoteModels(models_url, token)


def _check_public_key(path: Path) -> None:
    from renderhub.tokens import load_public_key

    try:
        load_public_key(path)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(
            f"{path} is not an Ed25519 public key in PEM form.", param_hint="'--public-key'"
        ) from exc


def _ice_servers(values: tuple[str, ...]) -> tuple[IceServer, ...]:
    try:
        return tuple(parse_ice_server(value) for value in values)
    except IceServerError as exc:
        raise click.BadParameter(str(exc), param_hint="'--ice-server'") from exc


def _ice_addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(check_local_address(value) for value in values)
    except IceServerError as exc:
        raise click.BadParameter(str(exc), param_hint="'--ice-address'") from exc


def _listeners(fds: tuple[int, ...], bind: str | None, port: int | None) -> list[socket.socket]:
    if fds and (bind is not None or port is not None):
        raise click.UsageError("Give either --listen-fd or --bind/--port, not both.")
    if fds:
        return [inherited_listener(fd) for fd in fds]
    if port is None:
        raise click.UsageError("Give --listen-fd FD, or --port PORT (with --bind ADDR).")
    return [bind_listener(bind or "127.0.0.1", port)]


def _run(config: HostConfig, sockets: list[socket.socket]) -> None:
    import asyncio

    from renderhub.host.logs import configure_logging
    from renderhub.host.server import serve_host

    configure_logging(
        config.session_id,
        pool_id=config.pool_id,
        log_format=config.log_format,
        account_id=config.account_id,
    )
    log.info(
        "starting%s: size %s, %d model(s), deadline %.3f, polygon limit %s",
        " pooled (idle until assigned)" if config.pooled else "",
        config.size.value,
        len(config.models),
        config.deadline,
        f"{config.polygon_limit:,}" if config.polygon_limit is not None else "none",
    )
    for server in config.ice_servers:
        log.info("ICE server: %s", server.describe())
    if config.ice_addresses:
        log.info("ICE host candidates on: %s", ", ".join(config.ice_addresses))
    asyncio.run(serve_host(config, sockets))
    log.info("stopped")
