"""Account-key authentication: an access token from the STS, renewed before it expires."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Generator

import httpx

from renderhub.client.errors import Unauthorized, error_from_response

RENEW_BEFORE_SECONDS = 15 * 60
_UNKNOWN_LIFETIME_SECONDS = 3600


class AccountKeyAuth(httpx.Auth):
    """Gets a token with `Bearer {accountId}:{accountKey}` from `{sts}/accounts/{id}/token`,
    sends it with every request, renews it 15 minutes before it expires, and fetches a new
    one once if the service rejects it (say, after its signing key changed)."""

    requires_response_body = True

    def __init__(
        self,
        sts_endpoint: str,
        account_id: str,
        account_key: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = f"{sts_endpoint.rstrip('/')}/accounts/{account_id}/token"
        self._credential = f"Bearer {account_id}:{account_key}"
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._needs_token():
            token_response = yield self._token_request()
            self._take(token_response)
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            token_response = yield self._token_request()
            self._take(token_response)
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    @property
    def token(self) -> str | None:
        """The current access token (for a viewer URL), if one was fetched."""
        return self._token

    def _needs_token(self) -> bool:
        with self._lock:
            return self._token is None or self._clock() >= self._expires_at - RENEW_BEFORE_SECONDS

    def _token_request(self) -> httpx.Request:
        return httpx.Request("GET", self._token_url, headers={"Authorization": self._credential})

    def _take(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            error = error_from_response(response)
            if response.status_code == 401:
                raise Unauthorized(
                    "The account id or key was not accepted by the token service.",
                    status=401,
                    code=error.code,
                    correlation_vector=error.correlation_vector,
                )
            raise error
        token = response.json().get("AccessToken")
        if not isinstance(token, str):
            raise Unauthorized("The token service answered without an access token.")
        with self._lock:
            self._token = token
            self._expires_at = token_expiry(token) or self._clock() + _UNKNOWN_LIFETIME_SECONDS


def token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, without checking its signature (the service does that)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None
