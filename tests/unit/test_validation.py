"""The one translator from a request body's model to an error that names the field."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field

from renderhub.errors import BadRequest, UnprocessableEntity
from renderhub.sizes import SessionSize
from renderhub.validation import RequestBody, WireBody, checked_by, parse_body, whole_number


class Inner(WireBody):
    blob_prefix: str = Field("", alias="blobPrefix")


class Body(WireBody):
    max_minutes: Annotated[int, whole_number("minutes")] = Field(alias="maxMinutes")
    size: Annotated[SessionSize, checked_by(SessionSize.parse)]
    urls: list[str] = []
    inner: Inner | None = None


@pytest.mark.parametrize(
    ("data", "message", "target"),
    [
        ({"size": "Standard"}, "'maxMinutes' is required.", "maxMinutes"),
        (
            {"maxMinutes": 5, "size": "Standard", "sise": 1},
            "'sise' is not a field this request takes; it takes 'maxMinutes', 'size', 'urls', "
            "'inner'.",
            "sise",
        ),
        # A misspelt name also leaves the right one missing: the misspelling is reported.
        ({"maxMinute": 5, "size": "Standard"}, "'maxMinute' is not a field", "maxMinute"),
        # Python's names are not wire names.
        ({"max_minutes": 5, "size": "Standard"}, "'max_minutes' is not a field", "max_minutes"),
        (
            {"maxMinutes": "5", "size": "x"},
            "'maxMinutes' must be a whole number of minutes.",
            "maxMinutes",
        ),
        ({"maxMinutes": True, "size": "x"}, "'maxMinutes' must be a whole number", "maxMinutes"),
        (
            {"maxMinutes": 5, "size": "Huge"},
            "'size' is not valid: Unknown session size 'Huge'; expected one of: Standard, Premium.",
            "size",
        ),
        (
            {"maxMinutes": 5, "size": "Standard", "urls": ["a", 2]},
            "'urls[1]' is not valid:",
            "urls[1]",
        ),
        (
            {"maxMinutes": 5, "size": "Standard", "inner": []},
            "'inner' must be a JSON object.",
            "inner",
        ),
        (
            {"maxMinutes": 5, "size": "Standard", "inner": {"blob_prefix": "a"}},
            "'inner.blob_prefix' is not a field this request takes.",
            "inner.blob_prefix",
        ),
        ([1, 2], "The body must be a JSON object.", None),
    ],
)
def test_each_problem_is_one_sentence_naming_its_field(
    data: Any, message: str, target: str | None
) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_body(Body, data)
    assert refused.value.message.startswith(message), refused.value.message
    assert refused.value.target == target


def test_a_good_body_parses_and_the_error_class_is_the_callers() -> None:
    body = parse_body(Body, {"maxMinutes": 5, "size": "premium", "inner": {"blobPrefix": "p"}})
    assert (body.max_minutes, body.size) == (5, SessionSize.PREMIUM)
    assert body.inner == Inner(blobPrefix="p")
    with pytest.raises(UnprocessableEntity):
        parse_body(Body, {}, error=UnprocessableEntity)


def test_request_body_still_takes_python_names() -> None:
    """RequestBody (the base others build on) keeps populate_by_name; WireBody does not."""

    class Loose(RequestBody):
        blob_prefix: str = Field(alias="blobPrefix")

    assert parse_body(Loose, {"blob_prefix": "a"}).blob_prefix == "a"
