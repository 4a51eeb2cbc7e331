"""Request bodies as declarative models, and the one translator from pydantic's complaints to
a `BadRequest` (or another RenderHubError) that names the field.

Every route, the host's control and offer routes and the data-channel commands parse their
bodies with `parse_body`, so an unknown field (a typo like "modles") is refused by name
instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from renderhub.errors import BadRequest, RenderHubError

ModelT = TypeVar("ModelT", bound=BaseModel)
ValueT = TypeVar("ValueT")


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused and models are immutable.
    Fields that must not be coerced (a number sent as a string) use strict types."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WireBody(RequestBody):
    """A body whose fields are read by their wire names only: `max_lease_time_minutes` is as
    unknown to a client as any other misspelling of `maxLeaseTimeMinutes`."""

    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True)


def parse_body(
    model: type[ModelT],
    data: Any,
    *,
    error: type[RenderHubError] = BadRequest,
) -> ModelT:
    """Validate `data` (already decoded JSON) as `model`; raise `error` naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = exc.errors(include_url=False)
        # An unknown field first: a misspelt name also leaves the right one missing, and the
        # misspelling is what the client has to fix.
        problem = min(problems, key=lambda p: p["type"] != "extra_forbidden")
        message = describe_problem(problem)
        if problem["type"] == "extra_forbidden" and len(problem["loc"]) == 1:
            message = f"{message[:-1]}; it takes {_field_names(model)}."
        raise error(message, target=field_path(problem["loc"]) or None) from None


def _field_names(model: type[BaseModel]) -> str:
    """The wire names of a model's fields, quoted: 'maxLeaseTimeMinutes', 'size'."""
    names = [field.alias or name for name, field in model.model_fields.items()]
    return ", ".join(f"'{name}'" for name in names)


def field_path(location: tuple[int | str, ...]) -> str:
    """pydantic's error location as a JSON path: `settings.inputLocation.blobPrefix`,
    `models[2]`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def describe_problem(problem: Any) -> str:
    """One sentence for one pydantic error, naming the field."""
    where = field_path(tuple(problem["loc"]))
    kind = problem["type"]
    if kind == "extra_forbidden":
        return f"'{where}' is not a field this request takes."
    if kind == "missing":
        return f"'{where}' is required."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"'{where}' must be a JSON object." if where else "The body must be a JSON object."
    message = str(problem["msg"]).removeprefix("Value error, ").rstrip(".")
    if not where:
        return f"The body is not valid: {message}."
    if message.startswith("must "):  # our own validators' sentences: "must be a whole number"
        return f"'{where}' {message}."
    return f"'{where}' is not valid: {message}."


def checked_by(check: Callable[[Any], ValueT]) -> PlainValidator:
    """A field validated by an existing check that raises a RenderHubError (such as
    `SessionSize.parse`): the check's own sentence becomes the field's, so one rule keeps one
    wording wherever it is applied. Use as `Annotated[SessionSize, checked_by(...)]`."""

    def validate(value: Any) -> ValueT:
        try:
            return check(value)
        except RenderHubError as exc:
            raise ValueError(exc.message) from None

    return PlainValidator(validate)


def whole_number(unit: str) -> PlainValidator:
    """A whole JSON number (not a bool, a string, or 10.0): `must be a whole number of <unit>`
    otherwise."""

    def validate(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number of {unit}")
        return value

    return PlainValidator(validate)
