"""The synchronous client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

import httpx

from renderhub.client.auth import AccountKeyAuth
from renderhub.client.calls import ApiVersion, Call, Conversions2021, api_for
from renderhub.client.conversions import Conversion, ConversionInput, ConversionOutput
from renderhub.client.errors import error_from_response
from renderhub.client.models import Session
from renderhub.client.readiness import (
    ConversionProgress,
    Progress,
    check_converted,
    check_ready,
)
from renderhub.client.retries import RetryPolicy

T = TypeVar("T")


class RenderHubClient:
    """Sessions and conversions of one account. Speaks the 2021-01-01 API, or v1 with
    api_version="v1" for sessions (conversions always use 2021-01-01).

    `verify` is passed to httpx (a CA bundle path for a development certificate); `transport`
    replaces the network (tests)."""

    def __init__(
        self,
        endpoint: str,
        account_id: str,
        account_key: str,
        *,
        sts_endpoint: str | None = None,
        api_version: ApiVersion = "2021-01-01",
        verify: Any = True,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.auth = AccountKeyAuth(sts_endpoint or endpoint, account_id, account_key)
        self._api = api_for(api_version, account_id)
        self._conversions = Conversions2021(account_id)
        self._retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=endpoint.rstrip("/"),
            auth=self.auth,
            verify=verify,
            timeout=timeout,
            transport=transport,
            trust_env=transport is None,
        )

    def create_session(
        self,
        session_id: str | None = None,
        *,
        size: str = "Standard",
        lease: timedelta = timedelta(hours=1),
        models: list[str] | None = None,
    ) -> Session:
        """Create a session (Starting). Without an id, one is made up (v1: the service's)."""
        created = self._run(
            self._api.create(session_id or str(uuid.uuid4()), size, lease, models or [])
        )
        return created if isinstance(created, Session) else self.get_session(created)

    def get_session(self, session_id: str) -> Session:
        return self._run(self._api.get(session_id))

    def list_sessions(self) -> Iterator[Session]:
        """Active sessions, following @nextLink page by page."""
        page = self._run(self._api.list_page())
        yield from page.sessions
        while page.next_link:
            page = self._run(self._api.list_page(page.next_link))
            yield from page.sessions

    def extend_session(self, session_id: str, lease: timedelta) -> Session:
        """Set a new total lease (it can only grow)."""
        updated = self._run(self._api.update(session_id, lease))
        return updated if isinstance(updated, Session) else self.get_session(session_id)

    def stop_session(self, session_id: str) -> None:
        self._run(self._api.stop(session_id))

    def wait_until_ready(
        self,
        session_id: str,
        *,
        timeout: float = 600.0,
        interval: float = 1.0,
        progress: Progress | None = None,
    ) -> Session:
        """Poll until the session is Ready; raise SessionFailed or WaitTimedOut otherwise."""
        give_up = time.monotonic() + timeout
        while True:
            session = self.get_session(session_id)
            if progress is not None:
                progress(session)
            if check_ready(session, remaining=give_up - time.monotonic(), timeout=timeout):
                return session
            time.sleep(min(interval, max(0.0, give_up - time.monotonic())))

    def start_conversion(
        self,
        conversion_id: str | None = None,
        *,
        source: ConversionInput,
        target: ConversionOutput,
    ) -> Conversion:
        """Start converting a model (NotStarted or Running). Without an id, a new UUID."""
        call = self._conversions.create(conversion_id or str(uuid.uuid4()), source, target)
        return self._run(call)

    def get_conversion(self, conversion_id: str) -> Conversion:
        return self._run(self._conversions.get(conversion_id))

    def list_conversions(self) -> Iterator[Conversion]:
        """The account's conversions, following @nextLink page by page."""
        page = self._run(self._conversions.list_page())
        yield from page.conversions
        while page.next_link:
            page = self._run(self._conversions.list_page(page.next_link))
            yield from page.conversions

    def wait_for_conversion(
        self,
        conversion_id: str,
        *,
        timeout: float = 3600.0,
        interval: float = 2.0,
        progress: ConversionProgress | None = None,
    ) -> Conversion:
        """Poll until Succeeded; raise ConversionFailed or WaitTimedOut otherwise."""
        give_up = time.monotonic() + timeout
        while True:
            conversion = self.get_conversion(conversion_id)
            if progress is not None:
                progress(conversion)
            if check_converted(conversion, remaining=give_up - time.monotonic(), timeout=timeout):
                return conversion
            time.sleep(min(interval, max(0.0, give_up - time.monotonic())))

    def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method, call.url, params=call.params or None, json=call.json
                )
            except httpx.TransportError as error:
                time.sleep(self._retry.delay_after_error(attempt, error, call.idempotent))
                attempt += 1
                continue
            delay = self._retry.delay_after_response(attempt, response)
            if delay is None:
                break
            time.sleep(delay)
            attempt += 1
        if response.status_code not in call.ok:
            raise error_from_response(response)
        return call.parse(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RenderHubClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
