"""Errors of the streaming endpoints that the shared error hierarchy has no class for."""

from __future__ import annotations

from renderhub.errors import RenderHubError


class ServiceUnavailable(RenderHubError):
    """The host cannot take a client now (loading, failed, ending); `retry_after` seconds
    when trying again soon may help."""

    status_code = 503
    code = "ServiceUnavailable"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
