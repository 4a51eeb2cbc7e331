"""Talking to a render host over HTTP, the same way under every backend: its health, and
orders on its control endpoints (new deadline, shutdown)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import cast

import httpx

from renderhub.backends.base import HostHealth, HostPhase, HostSpec
from renderhub.errors import BackendError
from renderhub.host_protocol import (
    ASSIGN_PATH,
    HEALTH_PATH,
    LOAD_FAILED,
    AssignmentBody,
    HealthBody,
    HealthStatus,
    authorization,
)

log = logging.getLogger(__name__)


class HostHttp:
    """One HTTP client for every host of a backend; each call is time-limited."""

    def __init__(self, timeout: float = 2.0) -> None:
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=False)

    async def health(self, address: str, port: int) -> HostHealth | None:
        """The host's health from GET /health; None when it cannot be reached."""
        try:
            response = await self._http.get(host_url(address, port, HEALTH_PATH))
        except httpx.HTTPError:
            return None
        body = cast(HealthBody, _json_or_empty(response))  # each value's type checked below
        message = body.get("message")
        text = message if isinstance(message, str) else None
        status = body.get("status")
        if response.status_code == 200 and status == HealthStatus.IDLE:
            return HostHealth(HostPhase.IDLE)
        if response.status_code == 200 and status == HealthStatus.READY:
            polygons = body.get("polygons")
            return HostHealth(
                HostPhase.READY, text, polygons if isinstance(polygons, int) else None
            )
        if status == HealthStatus.ERROR:
            return HostHealth(HostPhase.FAILED, text or LOAD_FAILED)
        return HostHealth(HostPhase.LOADING)

    async def control(
        self, address: str, port: int, token: str, path: str, body: Mapping[str, object]
    ) -> bool:
        """An order to the host over its control endpoint; best effort, never raises."""
        try:
            response = await self._http.post(
                host_url(address, port, path),
                json=body,
                headers=authorization(token),
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("host at %s:%s did not take %s: %s", address, port, path, exc)
            return False
        return True

    async def assign(self, address: str, port: int, token: str, body: Mapping[str, object]) -> None:
        """Give a pooled host its session (POST /control/assign); BackendError if it does not
        answer or refuses, with its reason."""
        try:
            response = await self._http.post(
                host_url(address, port, ASSIGN_PATH),
                json=body,
                headers=authorization(token),
            )
        except httpx.HTTPError as exc:
            raise BackendError(f"The pooled render host did not answer: {exc}.") from exc
        if response.status_code != 202:
            raise BackendError(f"The pooled render host refused the session: {_reason(response)}")

    async def text(self, address: str, port: int, path: str, token: str) -> str:
        """GET a text the host serves only to the control plane (its metrics, with its
        control token); BackendError, saying why, when it does not answer or refuses."""
        try:
            response = await self._http.get(
                host_url(address, port, path), headers=authorization(token)
            )
        except httpx.HTTPError as exc:
            raise BackendError(f"The render host did not answer: {exc!r}.") from exc
        if response.status_code != 200:
            raise BackendError(f"The render host refused: {_reason(response)}")
        return response.text

    async def aclose(self) -> None:
        await self._http.aclose()


def host_url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path}"


def _reason(response: httpx.Response) -> str:
    """The host's one-sentence error message, or the bare HTTP status."""
    error = _json_or_empty(response).get("error")
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str):
        return message
    return f"HTTP {response.status_code} {response.reason_phrase}."


def _json_or_empty(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def assignment_body(spec: HostSpec) -> AssignmentBody:
    """The body of POST /control/assign that gives a warm host the session of `spec`."""
    body: AssignmentBody = {
        "sessionId": spec.session_id,
        "accountId": spec.account_id,
        "size": spec.size.value,
        "models": list(spec.models),
        "deadline": spec.deadline,
        "polygonLimit": spec.polygon_limit,
    }
    if spec.model_token:
        body["modelToken"] = spec.model_token
    return body
