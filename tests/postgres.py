"""A PostgreSQL server for the tests: the one named by RENDERHUB_TEST_DATABASE_URL, else a
throwaway one (initdb in a temporary folder, a free port on loopback), never a skip.

Each test gets a database of its own on that server, dropped afterwards."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

URL_ENV = "RENDERHUB_TEST_DATABASE_URL"


def _binary(name: str) -> str:
    """A PostgreSQL server program: on PATH, or in Debian's versioned folder."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed: run scripts/install test "
            f"(Debian package 'postgresql'), or set {URL_ENV}."
        )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the 'postgres' user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


class ThrowawayPostgres:
    """A PostgreSQL server of our own, in a temporary folder, on a free loopback port; it can
    be stopped and started again (the same data) to test an outage."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="renderhub-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            os.chown(self.folder, pwd.getpwnam("postgres").pw_uid, -1)
        initdb = [_binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
        subprocess.run(_as_postgres_user(initdb), check=True, capture_output=True)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        command = [_binary("pg_ctl"), "-D", str(self.data), "-o", options,
                   "-l", str(self.folder / "log"), "-w", "start"]  # fmt: skip
        subprocess.run(_as_postgres_user(command), check=True, capture_output=True)

    def stop(self) -> None:
        """A clean shutdown ('fast': it cuts the clients off, and keeps every commit, which
        an immediate stop would not with synchronous_commit off)."""
        command = [_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_postgres_user(command), capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def throwaway_server() -> Iterator[ThrowawayPostgres]:
    """Start a PostgreSQL server of our own; stop and remove it afterwards."""
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The given server (RENDERHUB_TEST_DATABASE_URL) or a throwaway one; its admin URL."""
    given = os.environ.get(URL_ENV)
    if given:
        yield given.replace("postgresql+asyncpg://", "postgresql://", 1)
        return
    with throwaway_server() as server:
        yield server.admin_url


async def create_database(admin_url: str) -> str:
    """A fresh database on the server; its SQLAlchemy (asyncpg) URL."""
    name = f"renderhub_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
