"""The errors a scene request can end in, each with the code the client receives."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The `code` of an error message (docs/scene-protocol.md, "Error")."""

    INVALID_MESSAGE = "InvalidMessage"
    UNKNOWN_TYPE = "UnknownType"
    INVALID_FIELD = "InvalidField"
    ENTITY_NOT_FOUND = "EntityNotFound"
    NOT_A_MODEL = "NotAModel"
    CUT_PLANE_NOT_FOUND = "CutPlaneNotFound"
    LIMIT_EXCEEDED = "LimitExceeded"
    MODEL_NOT_ALLOWED = "ModelNotAllowed"
    MODEL_LOAD_FAILED = "ModelLoadFailed"
    UNAVAILABLE = "Unavailable"
    REPLY_TOO_LARGE = "ReplyTooLarge"
    INTERNAL_ERROR = "InternalError"


class SceneError(Exception):
    """A request was refused; nothing changed. `message` is a sentence for a person,
    `target` the field at fault, if any."""

    def __init__(self, code: ErrorCode, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target

    def as_message(self, seq: int | None) -> dict[str, object]:
        """The error as sent on the data channel."""
        body: dict[str, object] = {"type": "error"}
        if seq is not None:
            body["seq"] = seq
        body.update(code=str(self.code), message=self.message)
        if self.target is not None:
            body["target"] = self.target
        return body


def entity_not_found(entity_id: int, target: str = "id") -> SceneError:
    return SceneError(
        ErrorCode.ENTITY_NOT_FOUND, f"There is no entity {entity_id} in this scene.", target
    )
