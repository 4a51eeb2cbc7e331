"""Errors the client raises, each parsed from the service's error body."""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """Base class. `message` is one sentence for a person; `code` is the service's error code."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_vector: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.correlation_vector = correlation_vector


class BadRequest(ClientError):
    """The service refused the request as malformed (400, 422)."""


class Unauthorized(ClientError):
    """Wrong account id or key, or a token the service does not accept (401, 403)."""


class NotFound(ClientError):
    """No such session in this account (404)."""


class Conflict(ClientError):
    """The session exists with other settings, or its state does not allow this (409)."""


class QuotaExceeded(ClientError):
    """Too many requests, or every server of the size is in use (429)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ClientError):
    """The service failed (5xx)."""


class ConnectionFailed(ClientError):
    """The service could not be reached."""


class SessionFailed(ClientError):
    """A session ended in Error (or otherwise) while waiting for it to become Ready."""


class ConversionFailed(ClientError):
    """A conversion ended Failed or Cancelled while waiting for it."""


class WaitTimedOut(ClientError):
    """A session did not become Ready, or a conversion did not end, in the given time."""


_BY_STATUS: dict[int, type[ClientError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    422: BadRequest,
    429: QuotaExceeded,
}


def error_from_response(response: httpx.Response) -> ClientError:
    """The typed error for a failed response, with the service's own message."""
    code, message = _error_body(response)
    kind = _BY_STATUS.get(
        response.status_code, ServerError if response.status_code >= 500 else ClientError
    )
    details = {
        "status": response.status_code,
        "code": code,
        "correlation_vector": response.headers.get("MS-CV"),
    }
    if kind is QuotaExceeded:
        return QuotaExceeded(message, retry_after=retry_after(response), **details)
    return kind(message, **details)


def _error_body(response: httpx.Response) -> tuple[str | None, str]:
    fallback = f"The service answered {response.status_code} {response.reason_phrase}."
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None, fallback
    message = error.get("message") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code, message if isinstance(message, str) and message else fallback


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# ---- the scene runtime (docs/scene-protocol.md) -------------------------------------------


class SceneError(ClientError):
    """The render host refused a scene request; nothing changed. `code` is the protocol's
    error code, `target` the field at fault (when there is one)."""

    def __init__(self, message: str, *, code: str, target: str | None = None) -> None:
        super().__init__(message, code=code)
        self.target = target


class InvalidMessage(SceneError):
    """The message was not one JSON object of at most 262,144 bytes with a "type"."""


class UnknownType(SceneError):
    """The host knows no message of this type (an older host, say)."""


class InvalidField(SceneError):
    """A field was missing, unknown, of the wrong type, out of range or not finite."""


class EntityNotFound(SceneError):
    """An entity id that is not (or no longer) in the scene."""


class NotAModel(SceneError):
    """An unload of an entity that is not the root of a loaded model."""


class CutPlaneNotFound(SceneError):
    """A cut plane id that does not exist."""


class LimitExceeded(SceneError):
    """More than 8 cut planes, 4 loads at once, or 10,000 entities in one batch."""


class ModelNotAllowed(SceneError):
    """A model URL outside the host's models folder and allowed storage."""


class ModelLoadFailed(SceneError):
    """The model could not be fetched or parsed."""


class SceneUnavailable(SceneError):
    """The renderer has failed: the session's scene cannot change any more."""


class SceneInternalError(SceneError):
    """The render host failed while answering (its log says more)."""


class ReplyTooLarge(SceneError):
    """The answer would not fit in one data-channel message for this client (ask for a
    smaller page)."""


_SCENE_ERRORS: dict[str, type[SceneError]] = {
    "InvalidMessage": InvalidMessage,
    "UnknownType": UnknownType,
    "InvalidField": InvalidField,
    "EntityNotFound": EntityNotFound,
    "NotAModel": NotAModel,
    "CutPlaneNotFound": CutPlaneNotFound,
    "LimitExceeded": LimitExceeded,
    "ModelNotAllowed": ModelNotAllowed,
    "ModelLoadFailed": ModelLoadFailed,
    "Unavailable": SceneUnavailable,
    "ReplyTooLarge": ReplyTooLarge,
    "InternalError": SceneInternalError,
}


def scene_error(code: str, message: str, target: str | None = None) -> SceneError:
    """The typed error for a protocol error code (a plain SceneError for a code this client
    does not know yet)."""
    return _SCENE_ERRORS.get(code, SceneError)(message, code=code, target=target)


class SceneClosed(ClientError):
    """The scene connection has ended: the host said goodbye (`reason` is its sentence), the
    connection was lost, or this client closed it. Pending and later calls raise it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AlreadyConnected(Conflict):
    """Another client is connected to the session's render host; ARR allows one at a time
    (409 from the host)."""
