"""`renderhub serve`: run the control plane, ready to use on its embedded defaults."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
import uvicorn
from sqlalchemy import make_url

from renderhub.backends.base import backend_factory
from renderhub.cli.accounts import account_store
from renderhub.cli.common import data_dir_option, load_settings
from renderhub.errors import RenderHubError
from renderhub.logs import configure_logging
from renderhub.metrics.workers import prepare_worker_metrics
from renderhub.settings import Settings
from renderhub.store.accounts import NewAccount
from renderhub.store.admin_tokens import AdminTokenStore
from renderhub.store.database import UNAVAILABLE, hold_single_replica_lock
from renderhub.tls import self_signed_certificate

# On SIGTERM requests in flight get this long to finish. Without a bound, one idle keep-alive
# HTTPS connection whose client never answers the TLS close (an SDK client left open) holds
# the service up to asyncio's 30 s SSL shutdown timeout, past most supervisors' patience.
GRACEFUL_SHUTDOWN_SECONDS = 5
ADMIN_TOKEN_FILE = "admin-token"
FIRST_ADMIN_TOKEN_LABEL = "first start"


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: 8080].")
@data_dir_option
@click.option("--tls-self-signed", is_flag=True, help="Serve HTTPS with a development certificate.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--allow-models",
    multiple=True,
    metavar="PREFIX",
    help="Also allow model URLs starting with PREFIX (repeatable).",
)
@click.option(
    "--allow-storage",
    multiple=True,
    metavar="PREFIX",
    help="Allow conversions to use storage containers whose URL starts with PREFIX "
    "(repeatable; none by default).",
)
@click.option("--workers", type=int, default=None, help="API worker processes [default: 1].")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text, or as one JSON object each (with cv, account and session) "
    "[default: text; env: RENDERHUB_LOG_FORMAT].",
)
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    tls_self_signed: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    allow_models: tuple[str, ...],
    allow_storage: tuple[str, ...],
    workers: int | None,
    log_format: str | None,
) -> None:
    """Run the RenderHub service (STS, both session APIs, render hosts)."""
    if tls_self_signed and (tls_cert or tls_key):
        raise click.UsageError("Use either --tls-self-signed or --tls-cert/--tls-key, not both.")
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together.")
    settings = load_settings(
        host=host,
        port=port,
        data_dir=data_dir,
        allow_models=list(allow_models) or None,
        allow_storage=list(allow_storage) or None,
        workers=workers,
        log_format=log_format,
    )
    configure_logging(settings.log_level, settings.log_format)
    try:  # the lock is held (kept referenced) until the service ends
        backend_factory(settings.backend)
        _single_replica_lock = hold_single_replica_lock(settings.database)
    except RenderHubError as exc:
        raise click.ClickException(exc.message) from exc
    prepared = _prepare(settings)
    if tls_self_signed:
        tls_cert, tls_key = self_signed_certificate(settings.data_dir / "tls", [settings.host])
    scheme = "https" if tls_cert else "http"
    _print_banner(settings, scheme, prepared, tls_cert if tls_self_signed else None)
    _export(settings)
    prepare_worker_metrics(settings)
    uvicorn.run(
        "renderhub.api.asgi:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="warning",
        log_config=None,  # uvicorn's lines go through ours (configure_logging), in our format
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a start made that the banner must mention: a first account (its keys exist only
    now) and the file holding a first admin token."""

    first_account: NewAccount | None
    admin_token_file: Path | None


def _prepare(settings: Settings) -> Prepared:
    """Create the data directory, the store and the sample models; create a first account
    when there is none, and a first admin token (written to `<data dir>/admin-token`) when no
    admin token is active. The signing key is made (or read from the store) when the service
    starts."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _check_backend(settings)
    _install_samples(settings.models_dir)

    async def first_start() -> Prepared:
        async with account_store(settings.data_dir) as store:
            now = datetime.now(UTC).timestamp()
            account = None
            if await store.count() == 0:
                account = await store.create(now, "first account")
            token_file = await first_admin_token(AdminTokenStore(store.engine), settings, now)
            return Prepared(account, token_file)

    try:
        return asyncio.run(first_start())
    except RenderHubError as exc:
        raise click.ClickException(exc.message) from exc
    except UNAVAILABLE as exc:
        shown = make_url(settings.database).render_as_string(hide_password=True)
        raise click.ClickException(f"Could not reach the database {shown}: {exc}.") from exc


async def first_admin_token(tokens: AdminTokenStore, settings: Settings, now: float) -> Path | None:
    """On a store without an active admin token, make one and write it to the data directory
    (the operator reads it there; it is never printed). None when there was one already."""
    if await tokens.count_active() > 0:
        return None
    made = await tokens.create(now, FIRST_ADMIN_TOKEN_LABEL)
    path = settings.data_dir / ADMIN_TOKEN_FILE
    write_private_file(path, made.token + "\n")
    return path


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only (0600) from the
    first byte: a reader sees the old file or the whole new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)  # O_CREAT's mode does not apply to an existing file
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _check_backend(settings: Settings) -> None:
    """Refuse to start, in one sentence, with a backend that cannot work as configured
    (unknown; a Ray cluster that cannot be reached or refuses this control plane)."""
    from renderhub.backends.base import load_backend, open_backend

    async def check() -> None:
        backend = load_backend(settings)
        try:
            await open_backend(backend)
        finally:
            await backend.aclose()

    try:
        asyncio.run(check())
    except RenderHubError as exc:
        raise click.ClickException(exc.message) from exc


def _install_samples(models_dir: Path) -> None:
    from renderhub.samples import install_samples

    install_samples(models_dir)


def _print_banner(
    settings: Settings, scheme: str, prepared: Prepared, dev_cert: Path | None
) -> None:
    shown_host = "localhost" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"{scheme}://{shown_host}:{settings.port}"
    click.echo(f"RenderHub on {url}   (data: {settings.data_dir})")
    account = prepared.first_account
    if account is not None:
        click.echo("A first account was created. Its keys are shown only now:")
        click.echo(f"  account id:    {account.id}")
        click.echo(f"  primary key:   {account.primary_key}")
        click.echo(f"  secondary key: {account.secondary_key}")
        click.echo("Get a token:")
        click.echo(
            f"  curl -H 'Authorization: Bearer {account.id}:{account.primary_key}' "
            f"{url}/accounts/{account.id}/token"
        )
    token_file = prepared.admin_token_file
    if token_file is not None:
        click.echo(f"An admin token for the admin API was made; it is in {token_file}")
        click.echo("(readable by you only; `renderhub admin token create` makes more):")
        click.echo(f'  curl -H "Authorization: Bearer $(cat {token_file})" {url}/admin/accounts')
    if dev_cert is not None:
        click.echo(f"Development certificate: {dev_cert}  (clients: REQUESTS_CA_BUNDLE={dev_cert})")
    click.echo(f'Sample models: {settings.models_dir / "samples"}  (e.g. "samples/cube.glb")')


def _export(settings: Settings) -> None:
    """Hand the settings to uvicorn's workers through the environment."""
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, list) else str(value)
        os.environ[f"RENDERHUB_{name.upper()}"] = text
