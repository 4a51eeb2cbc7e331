"""The admin API's client (docs/admin-api.md): a thin typed layer over httpx for the operator's
commands and scripts. It speaks JSON as the API writes it (camelCase dicts, typed below) and
raises the client's typed errors (renderhub.client.errors) with the server's own message.

    async with AdminClient("https://renderhub.example:8443", admin_token) as admin:
        account = await admin.create_account("acme", quotas={"maxStandardSessions": 2})
        await admin.disable_account(account["accountId"])
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypedDict
from urllib.parse import quote

import httpx

from renderhub.client.config import ConfigError
from renderhub.client.errors import error_from_response
from renderhub.client.retries import RetryPolicy

KeyName = Literal["primary", "secondary"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


class Quotas(TypedDict, total=False):
    """Limits per account; None is no limit. A field left out of a PUT is None."""

    maxStandardSessions: int | None
    maxPremiumSessions: int | None
    maxLeaseMinutes: int | None
    maxConversions: int | None


class Account(TypedDict):
    accountId: str
    name: str | None
    created: str
    disabled: bool
    disabledAt: str | None
    quotas: Quotas
    activeSessions: dict[str, int]
    activeConversions: int


class CreatedAccount(Account):
    """An account as just created: the only answer that holds its keys."""

    primaryKey: str
    secondaryKey: str


class DisabledAccount(Account):
    stoppedSessions: int


class AdminSession(TypedDict):
    accountId: str
    sessionId: str
    size: str
    status: str
    created: str
    ready: str | None
    ended: str | None
    leaseMinutes: int
    leaseEnds: str | None
    leaseLeftSeconds: float | None
    host: str | None
    backend: str
    message: str | None
    errorCode: str | None
    polygons: int | None
    inspector: str | None


class SessionPage(TypedDict):
    sessions: list[AdminSession]
    next: str | None


class AdminConversion(TypedDict):
    accountId: str
    conversionId: str
    status: str
    created: str
    started: str | None
    ended: str | None
    errorCode: str | None
    errorMessage: str | None
    input: str
    outputAssetUri: str | None


class ConversionPage(TypedDict):
    conversions: list[AdminConversion]
    next: str | None


class UsageFigures(TypedDict):
    seconds: float
    hours: float
    cost: float


class UsageTotal(UsageFigures):
    accountId: str
    size: str


class UsageRow(UsageTotal):
    period: str


class Usage(TypedDict):
    since: str
    until: str
    by: str
    currency: str
    prices: dict[str, float]
    rows: list[UsageRow]
    totals: list[UsageTotal]
    total: UsageFigures


def verify_for(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """What httpx verifies the server's certificate with: the system's CAs, or these."""
    if not ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"The CA bundle {ca_bundle} cannot be used: {error}.") from error


def _segment(value: str) -> str:
    """One path segment: an id can never reach another route (no '/', ':' or '..')."""
    return quote(value, safe="")


class AdminClient:
    """The admin API of one RenderHub service, for asyncio code, with one admin token."""

    def __init__(
        self,
        endpoint: str,
        admin_token: str,
        ca_bundle: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=self.endpoint,
            headers={"Authorization": f"Bearer {admin_token}"},
            verify=verify_for(ca_bundle),
            timeout=timeout,
            transport=transport,
            trust_env=transport is None,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """One call: the answer's JSON (its text where it is not JSON; None on 204). Raises
        the typed error for a failed answer, ConnectionFailed when the service is not there.
        Parameters that are None are left out."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        response = await self._send(method.upper(), path, query, json)
        if response.is_error:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    async def _send(
        self, method: str, path: str, params: dict[str, Any], json: Any
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return await self._http.request(method, path, params=params or None, json=json)
            except httpx.TransportError as error:
                # raises ConnectionFailed once retrying is pointless or could do a thing twice
                delay = self._retry.delay_after_error(attempt, error, method in _IDEMPOTENT)
            attempt += 1
            await asyncio.sleep(delay)

    # -- accounts ----------------------------------------------------------------------------

    async def list_accounts(self) -> list[Account]:
        answer = await self.request("GET", "/admin/accounts")
        accounts: list[Account] = answer["accounts"]
        return accounts

    async def create_account(
        self, name: str | None = None, *, quotas: Quotas | None = None
    ) -> CreatedAccount:
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if quotas is not None:
            body["quotas"] = quotas
        created: CreatedAccount = await self.request("POST", "/admin/accounts", json=body)
        return created

    async def get_account(self, account_id: str) -> Account:
        account: Account = await self.request("GET", f"/admin/accounts/{_segment(account_id)}")
        return account

    async def rename_account(self, account_id: str, name: str | None) -> Account:
        path = f"/admin/accounts/{_segment(account_id)}"
        account: Account = await self.request("PATCH", path, json={"name": name})
        return account

    async def disable_account(self, account_id: str) -> DisabledAccount:
        path = f"/admin/accounts/{_segment(account_id)}:disable"
        account: DisabledAccount = await self.request("POST", path)
        return account

    async def enable_account(self, account_id: str) -> Account:
        account: Account = await self.request(
            "POST", f"/admin/accounts/{_segment(account_id)}:enable"
        )
        return account

    async def rotate_key(self, account_id: str, key: KeyName) -> dict[str, str]:
        """`{"accountId": ..., "primaryKey": ...}` (or `secondaryKey`): the new key, shown
        only now; the other key keeps working."""
        path = f"/admin/accounts/{_segment(account_id)}/keys:rotate"
        rotated: dict[str, str] = await self.request("POST", path, json={"key": key})
        return rotated

    async def delete_account(self, account_id: str) -> None:
        """Conflict while the account has active sessions or conversions."""
        await self.request("DELETE", f"/admin/accounts/{_segment(account_id)}")

    async def get_quotas(self, account_id: str) -> Quotas:
        quotas: Quotas = await self.request("GET", f"/admin/accounts/{_segment(account_id)}/quotas")
        return quotas

    async def set_quotas(self, account_id: str, quotas: Quotas) -> Quotas:
        """Replace every quota: a field left out is no limit."""
        path = f"/admin/accounts/{_segment(account_id)}/quotas"
        answer: Quotas = await self.request("PUT", path, json=dict(quotas))
        return answer

    # -- sessions and conversions across accounts ---------------------------------------------

    async def list_sessions(
        self,
        *,
        account: str | None = None,
        status: str | None = None,
        size: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> SessionPage:
        """One page, newest first; `status` is comma-separated statuses or `active`."""
        params = {"account": account, "status": status, "size": size, "limit": limit}
        params["after"] = after
        page: SessionPage = await self.request("GET", "/admin/sessions", params=params)
        return page

    async def iter_sessions(self, **filters: Any) -> AsyncIterator[AdminSession]:
        """Every session the filters match, page after page."""
        after = None
        while True:
            page = await self.list_sessions(**filters, after=after)
            for item in page["sessions"]:
                yield item
            after = page["next"]
            if not after:
                return

    async def get_session(self, account_id: str, session_id: str) -> AdminSession:
        path = f"/admin/sessions/{_segment(account_id)}/{_segment(session_id)}"
        found: AdminSession = await self.request("GET", path)
        return found

    async def stop_session(self, account_id: str, session_id: str) -> AdminSession:
        path = f"/admin/sessions/{_segment(account_id)}/{_segment(session_id)}:stop"
        stopped: AdminSession = await self.request("POST", path)
        return stopped

    async def session_metrics(self, account_id: str, session_id: str) -> str:
        """The session's host's own Prometheus text."""
        path = f"/admin/sessions/{_segment(account_id)}/{_segment(session_id)}/metrics"
        return str(await self.request("GET", path))

    async def hosts_metrics(self) -> str:
        return str(await self.request("GET", "/admin/hosts/metrics"))

    async def metrics(self) -> str:
        """The control plane's own metrics (`/metrics`)."""
        return str(await self.request("GET", "/metrics"))

    async def list_conversions(
        self,
        *,
        account: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> ConversionPage:
        params = {"account": account, "status": status, "limit": limit, "after": after}
        page: ConversionPage = await self.request("GET", "/admin/conversions", params=params)
        return page

    async def iter_conversions(self, **filters: Any) -> AsyncIterator[AdminConversion]:
        after = None
        while True:
            page = await self.list_conversions(**filters, after=after)
            for item in page["conversions"]:
                yield item
            after = page["next"]
            if not after:
                return

    # -- usage -------------------------------------------------------------------------------

    async def usage(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        by: str | None = None,
        account: str | None = None,
        size: str | None = None,
    ) -> Usage:
        """Metered Ready time (and its cost) per period, account and size. `since`/`until`
        are ISO 8601 dates or date-times, passed as they are: the server judges them."""
        params = {"since": since, "until": until, "by": by, "account": account, "size": size}
        report: Usage = await self.request("GET", "/admin/usage", params=params)
        return report

    # -- lifetime ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
