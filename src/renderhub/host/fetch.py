"""Getting a model file onto local disk: a checked local path, or a limited http(s) download."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx

from renderhub.host.config import FetchLimits, RemoteModels
from renderhub.host.errors import ModelLoadError
from renderhub.model_sources import ModelSource, redact, redact_urls

_CHUNK_BYTES = 1 << 16

# Told how many bytes have arrived so far, and the size the server declared (None if not).
Progress = Callable[[int, int | None], None]


async def fetch_model(
    source: ModelSource,
    limits: FetchLimits,
    work_dir: Path,
    remote: RemoteModels | None = None,
    models_dir: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Return a local path holding the model's bytes, downloading into `work_dir` if needed.

    With `remote`, a model under `models_dir` is fetched from the control plane instead.
    `progress` hears about every chunk downloaded (not about a local file, read in place)."""
    url, headers = source.url, {}
    if source.path is not None:
        relative = _under(source.path, models_dir) if remote is not None else None
        if remote is None or relative is None:
            return check_local_file(redact(source.url), source.path, limits.max_bytes)
        url, headers = remote.url_for(relative), remote.headers()
    target = work_dir / f"model-{secrets.token_hex(6)}{source.suffix}"
    try:
        await download(
            url, target, limits, headers=headers, name=redact(source.url), progress=progress
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def check_local_file(url: str, path: Path, max_bytes: int) -> Path:
    """Refuse a local model that is missing, not a regular file, or larger than `max_bytes`."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelLoadError(f"Could not load model {url!r}: {path} does not exist.") from None
    except OSError as exc:
        raise ModelLoadError(f"Could not load model {url!r}: {exc.strerror}.") from exc
    if not path.is_file():
        raise ModelLoadError(f"Could not load model {url!r}: {path} is not a file.")
    if size > max_bytes:
        raise ModelLoadError(
            f"Could not load model {url!r}: the file is {size:,} bytes, more than the limit "
            f"of {max_bytes:,} bytes."
        )
    return path


def _under(path: Path, models_dir: Path | None) -> str | None:
    """`path` relative to `models_dir` (POSIX form), or None if it is not inside."""
    if models_dir is None or not path.is_relative_to(models_dir.resolve()):
        return None
    return path.relative_to(models_dir.resolve()).as_posix()


async def download(
    url: str,
    target: Path,
    limits: FetchLimits,
    *,
    headers: dict[str, str] | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Stream `url` into `target` within the limits; returns the number of bytes written.
    `progress`, if given, is called after every chunk with the bytes so far and the declared
    size.

    Errors name the model as `name` (default: the URL without its query, which may be a
    SAS). Redirects are not followed: the
    target of a redirect was never checked against the operator's allowed prefixes.
    """
    name = name or redact(url)
    try:
        async with asyncio.timeout(limits.timeout_seconds):
            return await _stream_to_file(url, target, limits, headers or {}, name, progress)
    except TimeoutError:
        raise ModelLoadError(
            f"Could not download model {name!r}: it took longer than the limit of "
            f"{limits.timeout_seconds:g} seconds."
        ) from None
    except httpx.HTTPError as exc:
        cause = redact_urls(str(exc) or type(exc).__name__).rstrip(".")
        if isinstance(exc, httpx.ConnectError):
            cause = f"could not connect to its server ({cause})"
        raise ModelLoadError(f"Could not download model {name!r}: {cause}.") from exc


async def _stream_to_file(
    url: str,
    target: Path,
    limits: FetchLimits,
    headers: dict[str, str],
    name: str,
    progress: Progress | None,
) -> int:
    max_bytes = limits.max_bytes
    async with (
        httpx.AsyncClient(follow_redirects=False, timeout=limits.timeout_seconds) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        _check_response(name, response, max_bytes)
        declared = response.headers.get("content-length", "")
        size = int(declared) if declared.isdigit() else None
        received = 0
        with target.open("wb") as out:
            async for chunk in response.aiter_bytes(_CHUNK_BYTES):
                received += len(chunk)
                if received > max_bytes:
                    raise _too_large(name, max_bytes)
                out.write(chunk)
                if progress is not None:
                    progress(received, size)
        return received


def _check_response(url: str, response: httpx.Response, max_bytes: int) -> None:
    if not response.is_success:
        reason = f"{response.status_code} {response.reason_phrase}".strip()
        hint = " (redirects are not followed)" if response.is_redirect else ""
        raise ModelLoadError(
            f"Could not download model {url!r}: the server answered {reason}{hint}."
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes)


def _too_large(url: str, max_bytes: int) -> ModelLoadError:
    return ModelLoadError(
        f"Could not download model {url!r}: it is larger than the limit of {max_bytes:,} bytes."
    )
