"""The session API as plain call descriptions, one class per API generation. The sync and
async clients only execute them, so the protocol is written once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from renderhub.client.conversions import Conversion, ConversionInput, ConversionOutput
from renderhub.client.models import Session
from renderhub.timespan import format_timespan

T = TypeVar("T")
ApiVersion = Literal["2021-01-01", "v1"]
API_2021 = "2021-01-01"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    url: str
    parse: Callable[[httpx.Response], T]
    ok: tuple[int, ...] = (200,)
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    idempotent: bool = True


@dataclass(frozen=True, slots=True)
class Page:
    sessions: list[Session]
    next_link: str | None


@dataclass(frozen=True, slots=True)
class ConversionPage:
    conversions: list[Conversion]
    next_link: str | None


def _nothing(_response: httpx.Response) -> None:
    return None


class Api2021:
    """The 2021-01-01 API (what Azure's SDKs speak)."""

    version: ApiVersion = "2021-01-01"

    def __init__(self, account_id: str) -> None:
        self._base = f"/accounts/{quote(account_id)}/sessions"
        self._query = {"api-version": API_2021}

    def _session(self, session_id: str) -> str:
        return f"{self._base}/{quote(session_id, safe='')}"

    def create(
        self, session_id: str, size: str, lease: timedelta, models: list[str]
    ) -> Call[Session | str]:
        body: dict[str, Any] = {"maxLeaseTimeMinutes": _minutes(lease), "size": size}
        if models:
            body["models"] = models
        return Call("PUT", self._session(session_id), _session_2021, (200, 201), body, self._query)

    def get(self, session_id: str) -> Call[Session]:
        return Call("GET", self._session(session_id), _session_2021, params=self._query)

    def update(self, session_id: str, lease: timedelta) -> Call[Session | None]:
        body = {"maxLeaseTimeMinutes": _minutes(lease)}
        return Call(
            "PATCH", self._session(session_id), _session_2021, json=body, params=self._query
        )

    def stop(self, session_id: str) -> Call[None]:
        return Call(
            "POST", f"{self._session(session_id)}/:stop", _nothing, (204,), params=self._query
        )

    def list_page(self, next_link: str | None = None) -> Call[Page]:
        if next_link:  # followed verbatim: it carries its own api-version
            return Call("GET", next_link, _page_2021)
        return Call("GET", self._base, _page_2021, params=self._query)


class ApiV1:
    """The v1 API (the original REST API; the service chooses session ids)."""

    version: ApiVersion = "v1"

    def __init__(self, account_id: str) -> None:
        self._base = f"/v1/accounts/{quote(account_id)}/sessions"

    def create(
        self, session_id: str, size: str, lease: timedelta, models: list[str]
    ) -> Call[Session | str]:
        body = {"maxLeaseTime": format_timespan(lease), "models": models, "size": size}
        return Call("POST", f"{self._base}/create", _session_id, (202,), body, idempotent=False)

    def get(self, session_id: str) -> Call[Session]:
        return Call("GET", f"{self._base}/{quote(session_id, safe='')}/properties", _session_v1)

    def update(self, session_id: str, lease: timedelta) -> Call[Session | None]:
        body = {"maxLeaseTime": format_timespan(lease)}
        return Call("PATCH", f"{self._base}/{quote(session_id, safe='')}", _nothing, json=body)

    def stop(self, session_id: str) -> Call[None]:
        return Call("DELETE", f"{self._base}/{quote(session_id, safe='')}", _nothing, (204,))

    def list_page(self, next_link: str | None = None) -> Call[Page]:
        return Call("GET", self._base, _page_v1)


class Conversions2021:
    """The conversion calls (2021-01-01 only: v1 never had them in RenderHub)."""

    def __init__(self, account_id: str) -> None:
        self._base = f"/accounts/{quote(account_id)}/conversions"
        self._query = {"api-version": API_2021}

    def _conversion(self, conversion_id: str) -> str:
        return f"{self._base}/{quote(conversion_id, safe='')}"

    def create(
        self, conversion_id: str, source: ConversionInput, target: ConversionOutput
    ) -> Call[Conversion]:
        body = {"settings": {"inputLocation": source.to_json(), "outputLocation": target.to_json()}}
        return Call(
            "PUT", self._conversion(conversion_id), _conversion, (200, 201), body, self._query
        )

    def get(self, conversion_id: str) -> Call[Conversion]:
        return Call("GET", self._conversion(conversion_id), _conversion, params=self._query)

    def list_page(self, next_link: str | None = None) -> Call[ConversionPage]:
        if next_link:
            return Call("GET", next_link, _conversion_page)
        return Call("GET", self._base, _conversion_page, params=self._query)


def api_for(version: ApiVersion, account_id: str) -> Api2021 | ApiV1:
    return ApiV1(account_id) if version == "v1" else Api2021(account_id)


def _minutes(lease: timedelta) -> int:
    return int(lease.total_seconds() // 60)


def _session_2021(response: httpx.Response) -> Session:
    return Session.from_2021(response.json())


def _session_v1(response: httpx.Response) -> Session:
    return Session.from_v1(response.json())


def _session_id(response: httpx.Response) -> str:
    session_id: str = response.json()["sessionId"]
    return session_id


def _page_2021(response: httpx.Response) -> Page:
    body = response.json()
    return Page([Session.from_2021(item) for item in body["sessions"]], body.get("@nextLink"))


def _page_v1(response: httpx.Response) -> Page:
    return Page([Session.from_v1(item) for item in response.json()["sessions"]], None)


def _conversion(response: httpx.Response) -> Conversion:
    return Conversion.from_2021(response.json())


def _conversion_page(response: httpx.Response) -> ConversionPage:
    body = response.json()
    conversions = [Conversion.from_2021(item) for item in body["conversions"]]
    return ConversionPage(conversions, body.get("@nextLink"))
