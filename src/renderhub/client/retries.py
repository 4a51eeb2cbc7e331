"""When to try a request again: on 429 (honouring Retry-After) and on connection errors."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from renderhub.client.errors import ConnectionFailed, retry_after


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 0.5
    max_delay_seconds: float = 30.0

    def delay_after_response(self, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again, or None to give the response back as it is."""
        if response.status_code != 429 or attempt + 1 >= self.attempts:
            return None
        asked = retry_after(response)
        return min(asked if asked is not None else self._backoff(attempt), self.max_delay_seconds)

    def delay_after_error(
        self, attempt: int, error: httpx.TransportError, idempotent: bool
    ) -> float:
        """Seconds to wait before trying again; raises ConnectionFailed when it should not.

        A request that never reached the service (connect errors) is always safe to repeat;
        one that may have, only when repeating it cannot do anything twice."""
        never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
        if attempt + 1 >= self.attempts or not (never_sent or idempotent):
            raise ConnectionFailed(_describe(error)) from error
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2**attempt, self.max_delay_seconds)


def _describe(error: httpx.TransportError) -> str:
    try:
        url = error.request.url
        where = f"{url.scheme}://{url.netloc.decode()}"
    except RuntimeError:  # the error carries no request
        where = "the service"
    reason = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return f"Could not connect to {where}: {reason}."
    return f"The connection to {where} failed: {reason}."
