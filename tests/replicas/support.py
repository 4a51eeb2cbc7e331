"""What the replica tests share: an account made straight in a PostgreSQL store, and an
access token for it from a replica's token service."""

from __future__ import annotations

import time

import httpx

from renderhub.store.accounts import AccountStore
from renderhub.store.database import open_engine


async def new_account(database: str, name: str) -> tuple[str, str]:
    """A new account in the store at `database`: (id, primary key)."""
    engine = open_engine(database)
    try:
        account = await AccountStore(engine).create(time.time(), name)
    finally:
        await engine.dispose()
    return account.id, account.primary_key


async def access_token(url: str, account_id: str, key: str) -> str:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(
            f"{url}/accounts/{account_id}/token",
            headers={"Authorization": f"Bearer {account_id}:{key}"},
        )
    token: str = response.json()["AccessToken"]
    return token
