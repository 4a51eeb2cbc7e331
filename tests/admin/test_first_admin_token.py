"""The first start's admin token file, on a real store: made only while no admin token is
active, replaced atomically and readable by its owner only."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from renderhub.cli.serve import ADMIN_TOKEN_FILE, first_admin_token
from renderhub.settings import Settings
from renderhub.store.admin_tokens import AdminTokenStore
from renderhub.store.database import migrate, open_engine
from tests.conftest import make_settings

NOW = 1_800_000_000.0


@pytest.fixture
async def tokens(settings: Settings) -> AsyncIterator[AdminTokenStore]:
    settings.data_dir.mkdir(parents=True)
    engine = open_engine(settings.database)
    try:
        await migrate(engine)
        yield AdminTokenStore(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_made_once_while_none_is_active(tokens: AdminTokenStore, settings: Settings) -> None:
    path = await first_admin_token(tokens, settings, NOW)
    assert path == settings.data_dir / ADMIN_TOKEN_FILE
    token = path.read_text().strip()
    assert await tokens.is_valid(token)
    assert _mode(path) == 0o600
    assert [record.label for record in await tokens.list()] == ["first start"]
    assert await first_admin_token(tokens, settings, NOW + 1) is None
    assert path.read_text().strip() == token
    assert len(await tokens.list()) == 1


async def test_a_store_whose_tokens_are_all_revoked_gets_a_new_file(
    tokens: AdminTokenStore, settings: Settings
) -> None:
    path = settings.data_dir / ADMIN_TOKEN_FILE
    path.write_text("an old, revoked token\n")
    path.chmod(0o644)
    await tokens.create(NOW, "made by hand")
    assert await tokens.revoke_all(NOW) == 1
    assert await first_admin_token(tokens, settings, NOW + 1) == path
    token = path.read_text().strip()
    assert await tokens.is_valid(token)
    assert _mode(path) == 0o600
    assert sorted(p.name for p in settings.data_dir.iterdir() if "admin-token" in p.name) == [
        ADMIN_TOKEN_FILE
    ]


async def test_an_active_token_made_by_hand_means_no_file(
    tokens: AdminTokenStore, settings: Settings
) -> None:
    await tokens.create(NOW, "made by hand")
    assert await first_admin_token(tokens, settings, NOW) is None
    assert not (settings.data_dir / ADMIN_TOKEN_FILE).exists()
