"""POST /control/assign: the session a pooled host is given, read from the request body.

The body is what the control plane knows of the session:
{"sessionId", "accountId", "size"?, "models": [URL...], "deadline": epoch seconds,
 "polygonLimit": int | null (null or 0: no limit), "modelToken"?: the session's credential for
 models fetched from the control plane (hosts started with --models-url)}. Each mistake is
refused with one sentence naming the field (renderhub.validation).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PlainValidator

from renderhub.body_fields import ModelUrls, Size
from renderhub.errors import BadRequest
from renderhub.model_sources import MAX_MODELS_PER_SESSION, MAX_URL_LENGTH
from renderhub.validation import WireBody, parse_body

MAX_ID_CHARS = 256
MAX_TOKEN_CHARS = 8192


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        raise ValueError(f"must be a non-empty string of at most {MAX_ID_CHARS} chars")
    return value.strip()


def _within_limits(urls: tuple[str, ...]) -> tuple[str, ...]:
    if len(urls) > MAX_MODELS_PER_SESSION:
        raise ValueError(f"must hold at most {MAX_MODELS_PER_SESSION} models")
    if any(not url or len(url) > MAX_URL_LENGTH for url in urls):
        raise ValueError(f"must hold URLs of 1 to {MAX_URL_LENGTH} characters")
    return urls


def _deadline(value: Any) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive number of seconds since the epoch")
    return float(value)


def _polygon_limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number of polygons, 0 or null for none")
    return value or None


def _model_token(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN_CHARS:
        raise ValueError(f"must be a string of 1 to {MAX_TOKEN_CHARS} characters")
    return value


Identifier = Annotated[str, PlainValidator(_identifier)]
Deadline = Annotated[float, PlainValidator(_deadline)]


class Assignment(WireBody):
    """A pooled host's session, as the control plane describes it."""

    session_id: Identifier = Field(alias="sessionId")
    account_id: Identifier = Field(alias="accountId")
    size: Size | None = None
    models: Annotated[ModelUrls, AfterValidator(_within_limits)]
    deadline: Deadline
    polygon_limit: Annotated[int | None, PlainValidator(_polygon_limit)] = Field(
        alias="polygonLimit"
    )  # required, though it may be null: the control plane always says
    model_token: Annotated[str | None, PlainValidator(_model_token)] = Field(
        None, alias="modelToken"
    )


def parse_assignment(raw: bytes) -> Assignment:
    """The assignment in `raw`, or BadRequest saying what is wrong with it."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body must be a JSON object describing the session.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object describing the session.")
    return parse_body(Assignment, body)
