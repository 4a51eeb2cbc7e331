"""Every error RenderHub reports, each knowing its HTTP status and protocol error code.

One handler in the API turns any of these into the protocol's error body; anything else that
escapes becomes a 500 with a correlation id and no traceback in the body.
"""

from __future__ import annotations


class RenderHubError(Exception):
    """Base class. `message` is for the user and goes into the error body as is."""

    status_code = 500
    code = "InternalServerError"

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target = target

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(RenderHubError):
    status_code = 400
    code = "BadRequest"


class Unauthorized(RenderHubError):
    status_code = 401
    code = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(RenderHubError):
    status_code = 403
    code = "Forbidden"


class NotFound(RenderHubError):
    status_code = 404
    code = "NotFound"


class MethodNotAllowed(RenderHubError):
    status_code = 405
    code = "MethodNotAllowed"


class Conflict(RenderHubError):
    status_code = 409
    code = "Conflict"


class InvalidTransition(Conflict):
    """The status table does not allow the asked-for change."""


class PayloadTooLarge(RenderHubError):
    status_code = 413
    code = "PayloadTooLarge"


class UnsupportedMediaType(RenderHubError):
    status_code = 415
    code = "UnsupportedMediaType"


class UnprocessableEntity(RenderHubError):
    status_code = 422
    code = "UnprocessableEntity"


class RetryLater(RenderHubError):
    """An error the client may retry after `retry_after` seconds (the Retry-After header;
    none when no retry is expected to help)."""

    default_retry_after: int | None = 15

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = self.default_retry_after if retry_after is None else retry_after

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class TooManyRequests(RetryLater):
    status_code = 429
    code = "TooManyRequests"


class CapacityExhausted(TooManyRequests):
    """Every host slot of the requested size is taken."""


class ServiceUnavailable(RetryLater):
    """The service (its database) or a host (loading, failed, ending) cannot answer now."""

    status_code = 503
    code = "ServiceUnavailable"
    default_retry_after = None


class InternalServerError(RenderHubError):
    status_code = 500
    code = "InternalServerError"


class BackendError(InternalServerError):
    """A backend could not start, reach or stop a host. The message is safe to show."""


class ConfigurationError(RenderHubError):
    """The operator's settings are unusable; raised at start-up, reported as one sentence."""
