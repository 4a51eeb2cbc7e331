"""The messages a client sends over the data channel, as declarative models, one per "type".

Every message may carry "seq", the whole number the client counts its inputs with. A message
that does not fit its model is refused with the sentence renderhub.validation writes for any
request body (naming the field), sent back on the channel instead of an HTTP error.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import PlainValidator

from renderhub.errors import BadRequest
from renderhub.host.frames import MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH
from renderhub.validation import WireBody, parse_body

MIN_FPS, MAX_FPS = 1, 60
MAX_SEQ = 2**53  # the largest whole number every JSON reader keeps exactly
MAX_MAGNITUDE = 1e15  # larger numbers in a command could only overflow


class CommandError(ValueError):
    """A message from the client was refused; `message` goes back to it as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ValueError("must be a finite number no larger than 1e15")
    return float(value)


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _whole(value: Any) -> int | None:
    """`value` as an int if it is a whole JSON number (30 or 30.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _seq(value: Any) -> int | None:
    if value is None:
        return None
    seq = _whole(value)
    if seq is None or not 0 <= seq <= MAX_SEQ:
        raise ValueError("must be a whole number from 0 to 2^53")
    return seq


def _even(low: int, high: int) -> PlainValidator:
    def validate(value: Any) -> int:
        number = _whole(value)
        if number is None or not low <= number <= high or number % 2:
            raise ValueError(f"must be an even whole number from {low} to {high}")
        return number

    return PlainValidator(validate)


def _frame_rate(value: Any) -> int:
    rate = _whole(value)
    if rate is None or not MIN_FPS <= rate <= MAX_FPS:
        raise ValueError(f"must be a whole number of frames per second from {MIN_FPS} to {MAX_FPS}")
    return rate


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _point(value: Any) -> tuple[float, float, float]:
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError("must be a list of three numbers [x, y, z]")
    x, y, z = (_number(item) for item in value)
    return (x, y, z)


Number = Annotated[float, PlainValidator(_number)]
Positive = Annotated[float, PlainValidator(lambda value: _positive(_number(value)))]


class Command(WireBody):
    """What every message may carry besides its type."""

    seq: Annotated[int | None, PlainValidator(_seq)] = None


class Orbit(Command):
    type: Literal["orbit"]
    dx: Number
    dy: Number


class Pan(Command):
    type: Literal["pan"]
    dx: Number
    dy: Number


class Zoom(Command):
    type: Literal["zoom"]
    factor: Positive


class SetPose(Command):
    type: Literal["pose"]
    target: Annotated[tuple[float, float, float], PlainValidator(_point)]
    yaw: Number
    pitch: Number
    distance: Positive


class Reset(Command):
    type: Literal["reset"]


class Resolution(Command):
    type: Literal["resolution"]
    width: Annotated[int, _even(MIN_WIDTH, MAX_WIDTH)]
    height: Annotated[int, _even(MIN_HEIGHT, MAX_HEIGHT)]


class FrameRate(Command):
    type: Literal["fps"]
    value: Annotated[int, PlainValidator(_frame_rate)]


class Marker(Command):
    type: Literal["marker"]
    enabled: Annotated[bool, PlainValidator(_flag)]


class Ping(Command):
    type: Literal["ping"]
    t: Number  # the client's clock, echoed in the pong


CameraCommand = Orbit | Pan | Zoom | SetPose | Reset
CAMERA_COMMANDS: dict[str, type[Command]] = {
    "orbit": Orbit,
    "pan": Pan,
    "zoom": Zoom,
    "pose": SetPose,
    "reset": Reset,
}
COMMANDS: dict[str, type[Command]] = {
    **CAMERA_COMMANDS,
    "resolution": Resolution,
    "fps": FrameRate,
    "marker": Marker,
    "ping": Ping,
}


def parse_command(message: dict[str, Any], known: dict[str, type[Command]] = COMMANDS) -> Command:
    """The message (a JSON object) as its type's model; CommandError with the translator's
    sentence otherwise."""
    kind = message.get("type")
    if not isinstance(kind, str):
        raise CommandError('Messages need a "type" string.')
    model = known.get(kind)
    if model is None:
        expected = ", ".join(repr(name) for name in known)
        raise CommandError(f"Unknown message type {kind!r}; expected one of {expected}.")
    try:
        return parse_body(model, message)
    except BadRequest as exc:
        raise CommandError(exc.message) from None
