"""Opening the database: engine, SQLite pragmas, and migrations to the newest schema."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, make_url, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from renderhub.errors import ConfigurationError

# What the drivers raise when the database cannot be reached (asyncpg raises plain OSErrors on
# connect; SQLAlchemy wraps lost connections as Operational/InterfaceError).
UNAVAILABLE = (OSError, OperationalError, InterfaceError)

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x52480001  # any constant; 'RH' and a number


def open_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite files get WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def open_reader(url: str) -> Engine | None:
    """For a SQLite store, a synchronous engine for reads made on the event loop; else None.

    Through aiosqlite every read hops to a worker thread and back several times, which cost
    ~400 µs of a ~700 µs GET. In WAL mode a reader never waits for a writer and a keyed read
    takes tens of µs, so running it on the loop is cheaper than the hand-offs. Writes stay on
    the async engine (they may wait for the write lock)."""
    if not url.startswith("sqlite+aiosqlite"):
        return None
    reader = create_engine(url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1))
    event.listen(reader, "connect", _read_only_pragmas)
    return reader


def _read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is there already)."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together: one migrates, the others wait, then find it done.
            await connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def hold_single_replica_lock(url: str) -> IO[str] | None:
    """On a SQLite store, make this process the only control plane using it, or refuse.

    SQLite serves one replica (its API workers share the process's lock); several replicas
    need PostgreSQL. The lock is an flock on `<file>.lock`, released when the process ends,
    however it ends. Returns the open lock file (keep it open), or None for other stores."""
    path = sqlite_path(url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the life of the process
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ConfigurationError(
            f"Another RenderHub control plane (pid {holder}) is already serving the SQLite "
            f"store {path}; SQLite serves one replica. Stop that one, or share a PostgreSQL "
            "store (RENDERHUB_DATABASE_URL) between replicas."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
