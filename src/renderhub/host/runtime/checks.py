"""Checks of the meaning of a request's values (the message layer has checked their types):
finite numbers, non-zero vectors, colours in 0..1. Each failure is an InvalidField naming
the field."""

from __future__ import annotations

import math
from collections.abc import Sequence

from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.runtime.transforms import TINY

Vector = tuple[float, float, float]
Colour = tuple[float, float, float, float]


def checked_numbers(values: Sequence[float], count: int, target: str) -> tuple[float, ...]:
    """`count` finite numbers as floats, or InvalidField naming `target`."""
    try:
        numbers = tuple(float(value) for value in values)
    except (TypeError, ValueError) as exc:
        raise invalid(f"{target} must be {count} numbers.", target) from exc
    if len(numbers) != count or not all(math.isfinite(number) for number in numbers):
        raise invalid(f"{target} must be {count} finite numbers.", target)
    return numbers


def checked_vector(value: Sequence[float], target: str) -> Vector:
    x, y, z = checked_numbers(value, 3, target)
    return (x, y, z)


def unit_vector(value: Sequence[float], target: str) -> Vector:
    """The vector scaled to length 1; InvalidField for a zero vector."""
    x, y, z = checked_numbers(value, 3, target)
    length = math.sqrt(x * x + y * y + z * z)
    if length <= TINY:
        raise invalid(f"{target} must not be the zero vector.", target)
    return (x / length, y / length, z / length)


def checked_colour(value: Sequence[float], target: str) -> Colour:
    r, g, b, a = checked_numbers(value, 4, target)
    if not all(0.0 <= channel <= 1.0 for channel in (r, g, b, a)):
        raise invalid(f"{target}'s components must be from 0 to 1.", target)
    return (r, g, b, a)


def checked_fade_length(value: float) -> float:
    (length,) = checked_numbers((value,), 1, "fade_length")
    if length < 0:
        raise invalid("fade_length must not be negative.", "fade_length")
    return length


def invalid(message: str, target: str) -> SceneError:
    return SceneError(ErrorCode.INVALID_FIELD, message, target)
