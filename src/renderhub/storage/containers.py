"""Reading and writing the files of one storage container: an Azure Blob container reached
with a SAS (azure-storage-blob), or a local folder named by a file:// URI.

Every failure becomes a `StorageError` whose message tells the user what to change (the SAS's
permissions, the container's name, the size of the input...). Messages name blobs by their
container URI without the SAS: a SAS is a secret and is never shown or logged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

from renderhub.storage.locations import ContainerAddress

_CHUNK_BYTES = 4 << 20


class StorageError(Exception):
    """A container could not be used. `code` is ARR's error code for it: `BadRequest` when
    the user can fix it (permissions, names, sizes), `InternalServerError` otherwise."""

    def __init__(self, message: str, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class TooLarge(StorageError):
    """A file would take the input past its byte limit."""


class Container(Protocol):
    """One container: list, read within limits, write. `uri` carries no SAS."""

    uri: str

    def list_names(self, prefix: str, timeout_seconds: float) -> list[str]:
        """Names of the files under `prefix` (a plain string prefix, not only a folder)."""
        ...

    def read_to_file(self, name: str, target: Path, max_bytes: int, timeout_seconds: float) -> int:
        """Copy file `name` to `target`; refuse one over `max_bytes` or slower than the time
        limit. Returns the bytes written."""
        ...

    def write_file(self, name: str, source: Path, timeout_seconds: float) -> None:
        """Store the local file `source` as `name`, replacing what was there."""
        ...

    def write_bytes(self, name: str, data: bytes, timeout_seconds: float) -> None:
        """Store `data` as `name`, replacing what was there."""
        ...

    def file_uri(self, name: str) -> str:
        """The URI of file `name`, without the SAS."""
        ...


def open_container(address: ContainerAddress, *, role: str) -> Container:
    """The container at a checked address. `role` is "input" or "output", for messages."""
    if address.folder is not None:
        return LocalFolder(address.folder, role=role)
    return BlobContainer(address.uri, address.sas or "", role=role)


class TransferTooSlow(Exception):
    """Raised from inside a transfer when it passes its deadline."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._ends:
            raise TransferTooSlow


def _chunks(stream: IO[bytes], deadline: _Deadline) -> Iterator[bytes]:
    """An upload's body in chunks, stopping the transfer once its deadline passes."""
    while chunk := stream.read(_CHUNK_BYTES):
        deadline.check()
        yield chunk


def too_large_message(role: str, name: str, max_bytes: int) -> str:
    return (
        f"The {role} file '{name}' makes the input larger than the limit of {max_bytes:,} "
        "bytes; reduce the model (or its textures), or ask the operator to raise the limit."
    )


def too_slow_message(role: str, name: str, seconds: float) -> str:
    return (
        f"Transferring the {role} file '{name}' took longer than the limit of {seconds:g} "
        "seconds; check the storage account is reachable and not throttled, or use a smaller "
        "model."
    )


class BlobContainer:
    """An Azure Blob container reached with a container SAS (Azurite in the tests)."""

    def __init__(self, uri: str, sas: str, *, role: str) -> None:
        from azure.storage.blob import ContainerClient, ExponentialRetry

        self.uri = uri
        self.role = role
        self._client = ContainerClient.from_container_url(
            f"{uri}?{sas}",
            retry_policy=ExponentialRetry(
                initial_backoff=1, increment_base=2, retry_total=2, retry_connect=1
            ),
            max_single_get_size=_CHUNK_BYTES,
            max_chunk_get_size=_CHUNK_BYTES,
            max_single_put_size=_CHUNK_BYTES,
            max_block_size=_CHUNK_BYTES,
        )

    def file_uri(self, name: str) -> str:
        from urllib.parse import quote

        return f"{self.uri}/{quote(name)}"

    def list_names(self, prefix: str, timeout_seconds: float) -> list[str]:
        deadline = _Deadline(timeout_seconds)
        with _translated(self, "list", prefix or "(the whole container)", deadline):
            names = []
            for name in self._client.list_blob_names(
                name_starts_with=prefix or None, timeout=_server_timeout(timeout_seconds)
            ):
                deadline.check()
                names.append(name)
            return names

    def read_to_file(self, name: str, target: Path, max_bytes: int, timeout_seconds: float) -> int:
        deadline = _Deadline(timeout_seconds)
        with _translated(self, "read", name, deadline):
            blob = self._client.get_blob_client(name)
            size = blob.get_blob_properties(timeout=_server_timeout(timeout_seconds)).size
            if size > max_bytes:
                raise TooLarge(too_large_message(self.role, name, max_bytes))
            downloader = blob.download_blob(
                max_concurrency=1, timeout=_server_timeout(timeout_seconds)
            )
            written = 0
            with target.open("wb") as out:
                for chunk in downloader.chunks():
                    deadline.check()
                    written += len(chunk)
                    if written > max_bytes:
                        raise TooLarge(too_large_message(self.role, name, max_bytes))
                    out.write(chunk)
            return written

    def write_file(self, name: str, source: Path, timeout_seconds: float) -> None:
        deadline = _Deadline(timeout_seconds)
        with _translated(self, "write", name, deadline), source.open("rb") as stream:
            self._client.upload_blob(
                name,
                _chunks(stream, deadline),
                length=source.stat().st_size,
                overwrite=True,
                max_concurrency=1,
                timeout=_server_timeout(timeout_seconds),
            )

    def write_bytes(self, name: str, data: bytes, timeout_seconds: float) -> None:
        deadline = _Deadline(timeout_seconds)
        with _translated(self, "write", name, deadline):
            self._client.upload_blob(
                name, data, overwrite=True, timeout=_server_timeout(timeout_seconds)
            )

    def describe(self, action: str, name: str, exc: Exception) -> StorageError:
        """One sentence for an Azure SDK error during `action` on `name`."""
        from azure.core.exceptions import (
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return StorageError(
                f"Could not reach the {self.role} container {self.uri}: {_first_line(exc)}.",
                code="BadRequest",
            )
        if isinstance(exc, HttpResponseError):
            return self._describe_response(action, name, exc)
        return StorageError(
            f"The {self.role} container {self.uri} failed to {action} '{name}': "
            f"{type(exc).__name__}.",
            code="InternalServerError",
        )

    def _describe_response(self, action: str, name: str, exc: Exception) -> StorageError:
        status = getattr(exc, "status_code", None)
        code = str(getattr(exc, "error_code", "") or "")
        where = f"the {self.role} container {self.uri}"
        if code == "AuthorizationPermissionMismatch":
            return StorageError(_permission_hint(self.role, action, where))
        if code in ("AuthorizationFailure", "AuthenticationFailed") or status == 403:
            return StorageError(
                f"The SAS for {where} was refused ({code or status}): check that it was made "
                "for this container, is not expired, and that the container exists."
            )
        if code == "ContainerNotFound":
            return StorageError(f"The {self.role} container {self.uri} does not exist.")
        if code == "BlobNotFound" or status == 404:
            return StorageError(f"'{name}' does not exist in {where}.")
        return StorageError(
            f"{where[0].upper()}{where[1:]} answered {status} {code or ''} to {action} "
            f"'{name}'.".replace("  ", " "),
            code="InternalServerError",
        )


def _permission_hint(role: str, action: str, where: str) -> str:
    if action == "write":
        return (
            f"The SAS for {where} does not allow writing: the output SAS must allow write "
            "(sp=w, with create), e.g. a container SAS with permissions 'rwl'."
        )
    return (
        f"The SAS for {where} does not allow {'listing' if action == 'list' else 'reading'}: "
        "the input SAS must allow read and list (sp=rl)."
    )


def _server_timeout(seconds: float) -> int:
    """Azure's per-request server timeout is whole seconds, at least 1."""
    return max(1, int(seconds + 0.999))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Connection refused" in text:
        return "the connection was refused"
    return text.rstrip(".")[:200]


@contextmanager
def _translated(
    owner: BlobContainer, action: str, name: str, deadline: _Deadline
) -> Iterator[None]:
    """Turn whatever a blob call raises into a StorageError."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        if isinstance(exc, TransferTooSlow) or _is_timeout(exc):
            raise StorageError(too_slow_message(owner.role, name, deadline.seconds)) from None
        raise owner.describe(action, name, exc) from None


def _is_timeout(exc: BaseException) -> bool:
    from azure.core.exceptions import ServiceResponseError

    return isinstance(exc, ServiceResponseError) and "timed out" in str(exc).lower()


class LocalFolder:
    """A folder named by a file:// URI; names never reach outside it."""

    def __init__(self, folder: Path, *, role: str) -> None:
        self.folder = folder
        self.uri = folder.as_uri()
        self.role = role

    def file_uri(self, name: str) -> str:
        return self._path(name).as_uri()

    def list_names(self, prefix: str, timeout_seconds: float) -> list[str]:
        self._require_folder()
        deadline = _Deadline(timeout_seconds)
        start = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self.folder
        names = []
        try:
            for path in _walk_files(start):
                deadline.check()
                name = path.relative_to(self.folder).as_posix()
                if name.startswith(prefix):
                    names.append(name)
        except TransferTooSlow:
            raise StorageError(too_slow_message(self.role, prefix, timeout_seconds)) from None
        return sorted(names)

    def read_to_file(self, name: str, target: Path, max_bytes: int, timeout_seconds: float) -> int:
        self._require_folder()
        source = self._path(name)
        if not source.is_file():
            raise StorageError(f"'{name}' does not exist in the {self.role} folder {self.uri}.")
        if source.stat().st_size > max_bytes:
            raise TooLarge(too_large_message(self.role, name, max_bytes))
        deadline = _Deadline(timeout_seconds)
        try:
            with source.open("rb") as src, target.open("wb") as out:
                return _copy(src, out, deadline)
        except TransferTooSlow:
            raise StorageError(too_slow_message(self.role, name, timeout_seconds)) from None
        except OSError as exc:
            raise StorageError(f"Could not read '{name}' in {self.uri}: {exc.strerror}.") from exc

    def write_file(self, name: str, source: Path, timeout_seconds: float) -> None:
        target = self._writable_path(name)
        deadline = _Deadline(timeout_seconds)
        try:
            with source.open("rb") as src, target.open("wb") as out:
                _copy(src, out, deadline)
        except TransferTooSlow:
            raise StorageError(too_slow_message(self.role, name, timeout_seconds)) from None
        except OSError as exc:
            raise self._cannot_write(name, exc) from exc

    def write_bytes(self, name: str, data: bytes, timeout_seconds: float) -> None:
        target = self._writable_path(name)
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise self._cannot_write(name, exc) from exc

    def _writable_path(self, name: str) -> Path:
        self._require_folder()
        target = self._path(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._cannot_write(name, exc) from exc
        if not os.access(target.parent, os.W_OK):
            raise self._cannot_write(name, PermissionError(13, "Permission denied"))
        return target

    def _cannot_write(self, name: str, exc: OSError) -> StorageError:
        return StorageError(
            f"Could not write '{name}' to the {self.role} folder {self.uri}: "
            f"{(exc.strerror or str(exc)).lower()}; the operator must let RenderHub write there."
        )

    def _require_folder(self) -> None:
        if not self.folder.is_dir():
            raise StorageError(f"The {self.role} folder {self.uri} does not exist.")

    def _path(self, name: str) -> Path:
        path = (self.folder / name).resolve()
        if not path.is_relative_to(self.folder):
            raise StorageError(f"'{name}' lies outside the {self.role} folder {self.uri}.")
        return path


def _walk_files(start: Path) -> Iterator[Path]:
    if not start.is_dir():
        return
    for root, _dirs, files in os.walk(start):
        for file in files:
            yield Path(root) / file


def _copy(source: IO[bytes], target: IO[bytes], deadline: _Deadline) -> int:
    written = 0
    while chunk := source.read(_CHUNK_BYTES):
        deadline.check()
        target.write(chunk)
        written += len(chunk)
    return written
