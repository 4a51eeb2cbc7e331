"""Every message a client sends on the data channel, read into its model or refused with a
SceneError that names the field (docs/scene-protocol.md is the contract).

The camera and stream inputs keep their models in renderhub.host.commands (numbers up to
1e15, `seq` optional); the scene requests are here (numbers up to 1e9, `seq` required).
`parse_message` reads the raw text of any of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, PlainValidator

from renderhub.errors import BadRequest
from renderhub.host.commands import COMMANDS, MAX_SEQ, Command
from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.runtime.model import DEFAULT_PAGE, MAX_BATCH, MAX_PAGE
from renderhub.validation import WireBody, parse_body

# The host advertises aiortc's SCTP max-message-size, 262,144 bytes, in its answer, so a
# client may send requests up to that long.
MAX_MESSAGE_BYTES = 262_144
MAX_SCENE_MAGNITUDE = 1e9
MIN_FOV, MAX_FOV = 5.0, 120.0

T = TypeVar("T")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(value) or abs(value) > MAX_SCENE_MAGNITUDE:
        raise ValueError("must be a finite number no larger than 1e9 in magnitude")
    return float(value)


def _numbers(value: Any, count: int, shape: str) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != count:
        raise ValueError(f"must be a list of {count} numbers {shape}")
    return tuple(_number(item) for item in value)


def _vector(value: Any) -> tuple[float, float, float]:
    x, y, z = _numbers(value, 3, "[x, y, z]")
    return (x, y, z)


def _quaternion(value: Any) -> tuple[float, float, float, float]:
    x, y, z, w = _numbers(value, 4, "[x, y, z, w]")
    return (x, y, z, w)


def _colour(value: Any) -> tuple[float, float, float, float]:
    r, g, b, a = _numbers(value, 4, "[r, g, b, a]")
    if not all(0.0 <= part <= 1.0 for part in (r, g, b, a)):
        raise ValueError("must be a colour [r, g, b, a], each from 0 to 1")
    return (r, g, b, a)


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise ValueError("must be a whole number (an id)")
    return value


def _seq(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number from 0 to 2^53")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError("must be a whole number from 0 to 2^53")
    if not 0 <= value <= MAX_SEQ:
        raise ValueError("must be a whole number from 0 to 2^53")
    return int(value)


def _flag(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValueError("must be true, false or null")
    return value


def _fraction(value: Any) -> float:
    number = _number(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError("must be a number from 0 to 1")
    return number


def _not_negative(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise ValueError("must be a number of at least 0")
    return number


def _positive(value: Any) -> float:
    number = _number(value)
    if number <= 0:
        raise ValueError("must be greater than 0")
    return number


def _fov(value: Any) -> float:
    number = _number(value)
    if not MIN_FOV <= number <= MAX_FOV:
        raise ValueError(f"must be a number of degrees from {MIN_FOV:g} to {MAX_FOV:g}")
    return number


def _page_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise ValueError(f"must be a whole number from 1 to {MAX_PAGE:,}")
    return value


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _or_null(check: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """`check`, except that JSON null is taken as None (a field whose null means something:
    inherit, no parent, no limit)."""
    return lambda value: None if value is None else check(value)


# An optional field of these types defaults to None when left out; an explicit null is
# refused like any other wrong value unless the field's type says "or null".
Vec3 = tuple[float, float, float]
Vec4 = tuple[float, float, float, float]
Vector = Annotated[Vec3, PlainValidator(_vector)]
OptionalVector = Annotated[Vec3 | None, PlainValidator(_vector)]
OptionalQuaternion = Annotated[Vec4 | None, PlainValidator(_quaternion)]
Colour = Annotated[Vec4, PlainValidator(_colour)]
OptionalColour = Annotated[Vec4 | None, PlainValidator(_colour)]
ColourOrNull = Annotated[Vec4 | None, PlainValidator(_or_null(_colour))]
Id = Annotated[int, PlainValidator(_id)]
IdOrNull = Annotated[int | None, PlainValidator(_or_null(_id))]
Flag = Annotated[bool | None, PlainValidator(_flag)]
NotNegative = Annotated[float, PlainValidator(_not_negative)]
OptionalNotNegative = Annotated[float | None, PlainValidator(_not_negative)]
PositiveOrNull = Annotated[float | None, PlainValidator(_or_null(_positive))]
Fraction = Annotated[float, PlainValidator(_fraction)]
PageLimit = Annotated[int, PlainValidator(_page_limit)]
Fov = Annotated[float | None, PlainValidator(_fov)]


class SceneRequest(WireBody):
    """What every scene request carries besides its type: the `seq` it is answered with."""

    seq: Annotated[int, PlainValidator(_seq)]

    def given(self, name: str) -> bool:
        """Whether the client sent field `name` (a field left out keeps its value)."""
        return name in self.model_fields_set


class LoadModel(SceneRequest):
    type: Literal["load_model"]
    url: Annotated[str, PlainValidator(_url)]
    parent: IdOrNull = None


class UnloadModel(SceneRequest):
    type: Literal["unload_model"]
    id: Id


class Entities(SceneRequest):
    """One page of the listing: the entities after `after` (None: from the start)."""

    type: Literal["entities"]
    root: IdOrNull = None
    after: IdOrNull = None
    limit: PageLimit = DEFAULT_PAGE


class TransformEntry(WireBody):
    id: Id
    position: OptionalVector = None
    rotation: OptionalQuaternion = None
    scale: OptionalVector = None


def _transforms(value: Any) -> Any:
    if isinstance(value, list) and len(value) > MAX_BATCH:
        raise ValueError(f"must hold at most {MAX_BATCH:,} entries")
    return value


class SetTransforms(SceneRequest):
    type: Literal["set_transforms"]
    transforms: Annotated[list[TransformEntry], BeforeValidator(_transforms)]


class SetState(SceneRequest):
    type: Literal["set_state"]
    id: Id
    hidden: Flag = None
    see_through: Flag = None
    selected: Flag = None
    tint: ColourOrNull = None


class AddCutPlane(SceneRequest):
    type: Literal["add_cut_plane"]
    point: Vector
    normal: Vector
    fade_length: NotNegative = 0.0
    fade_colour: Colour = (1.0, 1.0, 1.0, 1.0)


class SetCutPlane(SceneRequest):
    type: Literal["set_cut_plane"]
    id: Id
    point: OptionalVector = None
    normal: OptionalVector = None
    fade_length: OptionalNotNegative = None
    fade_colour: OptionalColour = None


class RemoveCutPlane(SceneRequest):
    type: Literal["remove_cut_plane"]
    id: Id


class CutPlanes(SceneRequest):
    type: Literal["cut_planes"]


class Raycast(SceneRequest):
    type: Literal["raycast"]
    origin: Vector
    direction: Vector
    mode: Literal["closest", "all"] = "closest"
    max_distance: PositiveOrNull = None


class Pick(SceneRequest):
    type: Literal["pick"]
    x: Fraction
    y: Fraction


class SetCamera(SceneRequest):
    type: Literal["set_camera"]
    position: OptionalVector = None
    target: OptionalVector = None
    fov: Fov = None


class Camera(SceneRequest):
    type: Literal["camera"]


class Stats(SceneRequest):
    type: Literal["stats"]


SCENE_REQUESTS: dict[str, type[SceneRequest]] = {
    "load_model": LoadModel,
    "unload_model": UnloadModel,
    "entities": Entities,
    "set_transforms": SetTransforms,
    "set_state": SetState,
    "add_cut_plane": AddCutPlane,
    "set_cut_plane": SetCutPlane,
    "remove_cut_plane": RemoveCutPlane,
    "cut_planes": CutPlanes,
    "raycast": Raycast,
    "pick": Pick,
    "set_camera": SetCamera,
    "camera": Camera,
    "stats": Stats,
}
MESSAGES: dict[str, type[Command] | type[SceneRequest]] = {**COMMANDS, **SCENE_REQUESTS}

Message = Command | SceneRequest


class MessageError(SceneError):
    """A message that could not be read; `seq` is its seq when that much was readable."""

    def __init__(
        self, code: ErrorCode, message: str, seq: int | None = None, target: str | None = None
    ) -> None:
        super().__init__(code, message, target)
        self.seq = seq


def parse_message(raw: str | bytes) -> Message:
    """Read one data-channel message into its model; SceneError otherwise, with the seq of
    the message in `seq` when it carried a readable one."""
    body = _json_object(raw)
    seq = readable_seq(body)
    kind = body.get("type")
    if not isinstance(kind, str):
        raise MessageError(ErrorCode.INVALID_MESSAGE, 'Messages need a "type" string.', seq, "type")
    model = MESSAGES.get(kind)
    if model is None:
        known = ", ".join(f"'{name}'" for name in MESSAGES)
        text = f"Unknown message type {kind!r}; the known types are {known}."
        raise MessageError(ErrorCode.UNKNOWN_TYPE, text, seq, "type")
    try:
        return parse_body(model, body)
    except BadRequest as exc:
        raise MessageError(ErrorCode.INVALID_FIELD, exc.message, seq, exc.target) from None


def readable_seq(body: dict[str, Any]) -> int | None:
    """The message's seq if it is a valid one, else None (then an error carries none)."""
    try:
        return _seq(body["seq"]) if "seq" in body else None
    except ValueError:
        return None


def _json_object(raw: str | bytes) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise MessageError(ErrorCode.INVALID_MESSAGE, "Messages must be JSON text, not binary.")
    if len(raw) > MAX_MESSAGE_BYTES or len(raw.encode(errors="replace")) > MAX_MESSAGE_BYTES:
        text = f"Messages may be at most {MAX_MESSAGE_BYTES:,} bytes long."
        raise MessageError(ErrorCode.INVALID_MESSAGE, text)
    try:
        body = json.loads(raw)
    except ValueError:
        text = "Messages must be JSON objects; this one is not valid JSON."
        raise MessageError(ErrorCode.INVALID_MESSAGE, text) from None
    if not isinstance(body, dict):
        text = 'Messages must be JSON objects such as {"type": "entities", "seq": 1}.'
        raise MessageError(ErrorCode.INVALID_MESSAGE, text)
    return body
