"""What `renderhub account ...` does, two ways with one vocabulary: through a running server's
admin API, or on the server's own store here. Both answer with the admin API's JSON
(docs/admin-api.md) and raise the client's typed errors (NotFound, Conflict ...), so a command
prints the same thing and exits with the same code either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from renderhub.admin.account_json import account_json, quotas_json
from renderhub.admin.bodies import CreateAccount, RenameAccount
from renderhub.admin.quota_bodies import QuotasBody
from renderhub.cli.admin_options import AdminConnection, Target
from renderhub.cli.local_store import now, open_store
from renderhub.client.admin import AdminClient, KeyName
from renderhub.client.errors import Conflict, NotFound
from renderhub.quotas import Quotas
from renderhub.status import SessionStatus
from renderhub.store.accounts import AccountStore, KeySlot
from renderhub.store.records import AccountRecord
from renderhub.store.sessions import SessionStore
from renderhub.validation import parse_body

Json = dict[str, Any]


class Accounts(Protocol):
    async def create(self, name: str | None, quotas: Json | None) -> Json: ...
    async def list(self) -> list[Json]: ...
    async def show(self, account_id: str) -> Json: ...
    async def rename(self, account_id: str, name: str | None) -> Json: ...
    async def disable(self, account_id: str) -> Json: ...
    async def enable(self, account_id: str) -> Json: ...
    async def rotate_key(self, account_id: str, key: KeyName) -> Json: ...
    async def delete(self, account_id: str) -> None: ...
    async def quotas(self, account_id: str) -> Json: ...
    async def set_quotas(self, account_id: str, quotas: Json) -> Json: ...


@asynccontextmanager
async def open_accounts(target: Target) -> AsyncIterator[Accounts]:
    if isinstance(target, AdminConnection):
        async with target.client() as client:
            yield RemoteAccounts(client)
    else:
        async with open_store(target.data_dir) as engine:
            yield LocalAccounts(engine)


class RemoteAccounts:
    """Through the admin API: the server does the work (and stops a disabled account's
    sessions itself)."""

    def __init__(self, client: AdminClient) -> None:
        self._client = client

    async def create(self, name: str | None, quotas: Json | None) -> Json:
        return dict(await self._client.create_account(name, quotas=quotas))  # type: ignore[arg-type]

    async def list(self) -> list[Json]:
        return [dict(account) for account in await self._client.list_accounts()]

    async def show(self, account_id: str) -> Json:
        return dict(await self._client.get_account(account_id))

    async def rename(self, account_id: str, name: str | None) -> Json:
        return dict(await self._client.rename_account(account_id, name))

    async def disable(self, account_id: str) -> Json:
        return dict(await self._client.disable_account(account_id))

    async def enable(self, account_id: str) -> Json:
        return dict(await self._client.enable_account(account_id))

    async def rotate_key(self, account_id: str, key: KeyName) -> Json:
        return dict(await self._client.rotate_key(account_id, key))

    async def delete(self, account_id: str) -> None:
        await self._client.delete_account(account_id)

    async def quotas(self, account_id: str) -> Json:
        return dict(await self._client.get_quotas(account_id))

    async def set_quotas(self, account_id: str, quotas: Json) -> Json:
        return dict(await self._client.set_quotas(account_id, quotas))  # type: ignore[arg-type]


class LocalAccounts:
    """On the server's store, with the store's own methods; what the admin API would refuse
    is refused here with the same kind of error (the bodies are checked by the API's own
    models: a bad value is the same sentence either way)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._store = AccountStore(engine)
        self._sessions = SessionStore(engine)

    async def create(self, name: str | None, quotas: Json | None) -> Json:
        given = {"name": name, **({"quotas": quotas} if quotas is not None else {})}
        body = parse_body(CreateAccount, given)
        made = await self._store.create(now(), body.name, body.quota_values())
        created = await self.show(made.id)
        return {**created, "primaryKey": made.primary_key, "secondaryKey": made.secondary_key}

    async def list(self) -> list[Json]:
        counts = await self._store.active_counts()
        return [account_json(record, counts.get(record.id)) for record in await self._store.list()]

    async def show(self, account_id: str) -> Json:
        record = await self._record(account_id)
        counts = await self._store.active_counts([record.id])
        return account_json(record, counts.get(record.id))

    async def rename(self, account_id: str, name: str | None) -> Json:
        body = parse_body(RenameAccount, {"name": name})
        self._found(await self._store.rename(account_id, body.name), account_id)
        return await self.show(account_id)

    async def disable(self, account_id: str) -> Json:
        """Disable it and stop its active sessions: each goes to Stopping, its claim released,
        so the running server (or the next to start) takes it and stops its host."""
        self._found(await self._store.disable(account_id, now()), account_id)
        stopped = 0
        for record in await self._sessions.list_active(account_id):
            stopped += await self._sessions.transition(
                account_id, record.id, SessionStatus.STOPPING,
                ended_at=now(), claimed_by=None, claimed_until=None,
            )  # fmt: skip
        return {**await self.show(account_id), "stoppedSessions": stopped}

    async def enable(self, account_id: str) -> Json:
        self._found(await self._store.enable(account_id), account_id)
        return await self.show(account_id)

    async def rotate_key(self, account_id: str, key: KeyName) -> Json:
        new_key = await self._store.rotate_key(account_id, KeySlot(key))
        if new_key is None:
            raise _no_account(account_id)
        return {"accountId": account_id, f"{key}Key": new_key}

    async def delete(self, account_id: str) -> None:
        record = await self._record(account_id)
        counts = (await self._store.active_counts([record.id]))[record.id]
        sessions = sum(counts.sessions.values())
        if sessions:
            raise Conflict(f"The account still has {_count(sessions, 'active session')}; "
                           "stop them first.")  # fmt: skip
        if counts.conversions:
            active = _count(counts.conversions, "active conversion")
            raise Conflict(f"The account still has {active}; wait for them to end first.")
        self._found(await self._store.delete(account_id), account_id)

    async def quotas(self, account_id: str) -> Json:
        return quotas_json(Quotas.of(await self._record(account_id)))

    async def set_quotas(self, account_id: str, quotas: Json) -> Json:
        checked = parse_body(QuotasBody, quotas).quotas()
        self._found(await self._store.set_quotas(account_id, checked), account_id)
        return await self.quotas(account_id)

    async def _record(self, account_id: str) -> AccountRecord:
        record = await self._store.get(account_id)
        if record is None:
            raise _no_account(account_id)
        return record

    @staticmethod
    def _found(done: bool, account_id: str) -> None:
        if not done:
            raise _no_account(account_id)


def _no_account(account_id: str) -> NotFound:
    return NotFound(f"No account with id {account_id!r} exists.", status=404)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
