"""The asynchronous client: the same calls as RenderHubClient, awaited."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

import httpx

from renderhub.client.auth import AccountKeyAuth
from renderhub.client.calls import ApiVersion, Call, Conversions2021, api_for
from renderhub.client.conversions import Conversion, ConversionInput, ConversionOutput
from renderhub.client.errors import ConnectionFailed, Unauthorized, error_from_response
from renderhub.client.models import Session
from renderhub.client.readiness import (
    ConversionProgress,
    Progress,
    check_converted,
    check_ready,
)
from renderhub.client.retries import RetryPolicy
from renderhub.client.scene import REQUEST_TIMEOUT_SECONDS, Scene

T = TypeVar("T")


class AsyncRenderHubClient:
    """Sessions and conversions of one account, for asyncio code; see RenderHubClient."""

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.auth = AccountKeyAuth(sts_endpoint or endpoint, account_id, account_key)
        self._api = api_for(api_version, account_id)
        self._conversions = Conversions2021(account_id)
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=endpoint.rstrip("/"),
            auth=self.auth,
            verify=verify,
            timeout=timeout,
            transport=transport,
            trust_env=transport is None,
        )

    async def create_session(
        self,
        session_id: str | None = None,
        *,
        size: str = "Standard",
        lease: timedelta = timedelta(hours=1),
        models: list[str] | None = None,
    ) -> Session:
        call = self._api.create(session_id or str(uuid.uuid4()), size, lease, models or [])
        created = await self._run(call)
        return created if isinstance(created, Session) else await self.get_session(created)

    async def get_session(self, session_id: str) -> Session:
        return await self._run(self._api.get(session_id))

    async def list_sessions(self) -> AsyncIterator[Session]:
        page = await self._run(self._api.list_page())
        for session in page.sessions:
            yield session
        while page.next_link:
            page = await self._run(self._api.list_page(page.next_link))
            for session in page.sessions:
                yield session

    async def extend_session(self, session_id: str, lease: timedelta) -> Session:
        updated = await self._run(self._api.update(session_id, lease))
        return updated if isinstance(updated, Session) else await self.get_session(session_id)

    async def stop_session(self, session_id: str) -> None:
        await self._run(self._api.stop(session_id))

    async def wait_until_ready(
        self,
        session_id: str,
        *,
        timeout: float = 600.0,  # noqa: ASYNC109 (the same signature as the sync client)
        interval: float = 1.0,
        progress: Progress | None = None,
    ) -> Session:
        give_up = time.monotonic() + timeout
        while True:
            session = await self.get_session(session_id)
            if progress is not None:
                progress(session)
            if check_ready(session, remaining=give_up - time.monotonic(), timeout=timeout):
                return session
            await asyncio.sleep(min(interval, max(0.0, give_up - time.monotonic())))

    @contextlib.asynccontextmanager
    async def connect_scene(
        self,
        session_id: str,
        *,
        ready_timeout: float = 600.0,
        connect_timeout: float = 20.0,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        prompt_frames: bool = True,
    ) -> AsyncIterator[Scene]:
        """The scene runtime of a session, over WebRTC (video and the data channel), as
        `async with client.connect_scene(session_id) as scene: ...`.

        Waits for the session to be Ready (raising as wait_until_ready does), offers to its
        render host with this client's access token, and yields the Scene once the host has
        said hello; leaving the block closes the connection. Raises AlreadyConnected while
        another client is connected to the session (one at a time, as ARR)."""
        session = await self.wait_until_ready(session_id, timeout=ready_timeout)
        token = self.auth.token
        if token is None:
            raise Unauthorized("No access token to connect with.")
        if session.viewer_url is None:
            raise ConnectionFailed(f"Session {session_id} is Ready but names no render host.")
        # aiortc loads only for the code that connects to a scene.
        from renderhub.client.scene_connect import open_scene

        host_url = session.viewer_url.removesuffix("/viewer")
        scene = await open_scene(
            host_url,
            token,
            timeout=connect_timeout,
            request_timeout=request_timeout,
            prompt_frames=prompt_frames,
        )
        try:
            yield scene
        finally:
            await scene.close()

    async def start_conversion(
        self,
        conversion_id: str | None = None,
        *,
        source: ConversionInput,
        target: ConversionOutput,
    ) -> Conversion:
        call = self._conversions.create(conversion_id or str(uuid.uuid4()), source, target)
        return await self._run(call)

    async def get_conversion(self, conversion_id: str) -> Conversion:
        return await self._run(self._conversions.get(conversion_id))

    async def list_conversions(self) -> AsyncIterator[Conversion]:
        page = await self._run(self._conversions.list_page())
        for conversion in page.conversions:
            yield conversion
        while page.next_link:
            page = await self._run(self._conversions.list_page(page.next_link))
            for conversion in page.conversions:
                yield conversion

    async def wait_for_conversion(
        self,
        conversion_id: str,
        *,
        timeout: float = 3600.0,  # noqa: ASYNC109 (the same signature as the sync client)
        interval: float = 2.0,
        progress: ConversionProgress | None = None,
    ) -> Conversion:
        give_up = time.monotonic() + timeout
        while True:
            conversion = await self.get_conversion(conversion_id)
            if progress is not None:
                progress(conversion)
            if check_converted(conversion, remaining=give_up - time.monotonic(), timeout=timeout):
                return conversion
            await asyncio.sleep(min(interval, max(0.0, give_up - time.monotonic())))

    async def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method, call.url, params=call.params or None, json=call.json
                )
            except httpx.TransportError as error:
                await asyncio.sleep(self._retry.delay_after_error(attempt, error, call.idempotent))
                attempt += 1
                continue
            delay = self._retry.delay_after_response(attempt, response)
            if delay is None:
                break
            await asyncio.sleep(delay)
            attempt += 1
        if response.status_code not in call.ok:
            raise error_from_response(response)
        return call.parse(response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRenderHubClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
