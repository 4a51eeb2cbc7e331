"""Request bodies as declarative models, and the one translator from pydantic's complaints to
a `BadRequest` (or another RenderHubError) that names the field.

Every route, the host's control and offer routes and the data-channel commands parse their
bodies with `parse_body`, so an unknown field (a typo like "modles") is refused by name
instead of being ignored.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from renderhub.errors import BadRequest, RenderHubError

ModelT = TypeVar("ModelT", bound=BaseModel)


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused and models are immutable.
    Fields that must not be coerced (a number sent as a string) use strict types."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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
        problem = exc.errors(include_url=False)[0]
        raise error(describe_problem(problem), target=field_path(problem["loc"]) or None) from None


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
    message = str(problem["msg"]).removeprefix("Value error, ").rstrip(".")
    if not where:
        return f"The body is not valid: {message}."
    return f"'{where}' is not valid: {message}."
