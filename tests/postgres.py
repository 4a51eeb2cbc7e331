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


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a PostgreSQL server of our own; yield its admin URL (libpq form)."""
    folder = Path(tempfile.mkdtemp(prefix="renderhub-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        os.chown(folder, pwd.getpwnam("postgres").pw_uid, -1)
    port = _free_port()
    subprocess.run(
        _as_postgres_user([_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    pg_ctl = _binary("pg_ctl")
    subprocess.run(
        _as_postgres_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"),
                           "-w", "start"]),
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The given server (RENDERHUB_TEST_DATABASE_URL) or a throwaway one; its admin URL."""
    given = os.environ.get(URL_ENV)
    if given:
        yield given.replace("postgresql+asyncpg://", "postgresql://", 1)
        return
    with throwaway_server() as url:
        yield url


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
