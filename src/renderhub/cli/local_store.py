"""The server's own store, opened by a command on the machine it lives on: the settings
`renderhub serve` would use (--data-dir, RENDERHUB_DATA_DIR, RENDERHUB_DATABASE_URL), migrated
to the current schema first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.cli.common import load_settings
from renderhub.store.database import migrate, open_engine


@asynccontextmanager
async def open_store(data_dir: Path | None) -> AsyncIterator[AsyncEngine]:
    settings = load_settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(settings.database)
    try:
        await migrate(engine)
        yield engine
    finally:
        await engine.dispose()


def now() -> float:
    """Wall-clock time as the store keeps it (seconds since the epoch)."""
    return datetime.now(UTC).timestamp()
