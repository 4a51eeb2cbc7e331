"""The store on both databases: each test taking `engine` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.store.database import migrate, open_engine, open_reader
from tests.postgres import create_database, drop_database

_READERS: dict[int, Engine | None] = {}


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url: str | None = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        admin_url = request.getfixturevalue("postgres_admin_url")
        url = await create_database(admin_url)
    engine = open_engine(url)
    await migrate(engine)
    await migrate(engine)  # a second run is a no-op
    reader = open_reader(url)
    _READERS[id(engine)] = reader  # the stores read through it, as the app does
    yield engine
    await engine.dispose()
    if reader is not None:
        reader.dispose()
    if request.param == "postgresql":
        await drop_database(admin_url, url)


def reader_for(engine: AsyncEngine) -> Engine | None:
    """The synchronous reader the app would give a store on this engine (SQLite only)."""
    return _READERS[id(engine)]
