"""Azurite, Azure Storage's emulator, for the tests that read and write blob containers:
one server for the whole run on a free loopback port, with in-memory storage.

`scripts/install test` installs it (npm, pinned in tools/azurite/package-lock.json). When it
is missing the fixture fails with that command; it never skips.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, the same in every Azurite).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE = Path(__file__).resolve().parent.parent / "tools" / "azurite" / "node_modules" / ".bin"


@dataclass(frozen=True)
class Azurite:
    """A running Azurite: `account_url` is http://127.0.0.1:PORT/devstoreaccount1."""

    account_url: str

    def create_container(self, name: str | None = None) -> str:
        """Create a container (a fresh name unless given); return its URI (no SAS)."""
        from azure.storage.blob import BlobServiceClient

        name = name or f"c{uuid.uuid4().hex[:16]}"
        service = BlobServiceClient(self.account_url, credential=self._credential())
        service.create_container(name)
        return f"{self.account_url}/{name}"

    def sas(self, container_uri: str, permissions: str, *, hours: float = 1.0) -> str:
        """A container SAS (no leading '?') with `permissions` such as "rl", "w", "rwl"."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            ACCOUNT,
            container_uri.rsplit("/", 1)[-1],
            account_key=ACCOUNT_KEY,
            permission=ContainerSasPermissions.from_string(permissions),
            expiry=datetime.now(UTC) + timedelta(hours=hours),
        )

    def upload(self, container_uri: str, name: str, data: bytes) -> None:
        self._container(container_uri).upload_blob(name, data, overwrite=True)

    def download(self, container_uri: str, name: str) -> bytes:
        return bytes(self._container(container_uri).download_blob(name).readall())

    def names(self, container_uri: str) -> list[str]:
        return sorted(self._container(container_uri).list_blob_names())

    def _container(self, container_uri: str) -> ContainerClient:
        from azure.storage.blob import ContainerClient

        return ContainerClient(
            self.account_url, container_uri.rsplit("/", 1)[-1], credential=self._credential()
        )

    @staticmethod
    def _credential() -> dict[str, str]:
        return {"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], within: float) -> None:
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited at start (code {process.returncode}).")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Azurite did not listen on port {port} within {within} s.")


@contextmanager
def azurite_server() -> Iterator[Azurite]:
    """Start Azurite's blob server (in memory, loopback, no telemetry); stop it at the end.
    Raises AzuriteMissing when it is not installed."""
    program = AZURITE / "azurite-blob"
    if not program.exists():
        raise AzuriteMissing(
            f"Azurite is not installed ({program} is missing): run scripts/install test "
            "(or: npm ci --prefix tools/azurite)."
        )
    port = _free_port()
    command = ["node", str(program), "--blobHost", "127.0.0.1", "--blobPort", str(port),
               "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry",
               "--silent"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_listening(port, process, within=30.0)
        yield Azurite(f"http://127.0.0.1:{port}/{ACCOUNT}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class AzuriteMissing(RuntimeError):
    """Azurite's program is not where scripts/install test puts it."""


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """An Azurite blob server for the whole run; fails (never skips) when it is missing."""
    try:
        with azurite_server() as server:
            yield server
    except AzuriteMissing as exc:
        pytest.fail(str(exc), pytrace=False)
