"""POST /control/assign: the session a pooled host is given, read from the request body.

The body is what the control plane knows of the session:
{"sessionId", "accountId", "size"?, "models": [URL...], "deadline": epoch seconds,
 "polygonLimit": int | null (null or 0: no limit), "modelToken"?: the session's credential for
 models fetched from the control plane (hosts started with --models-url)}. Each mistake is
refused with one sentence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from renderhub.errors import BadRequest
from renderhub.model_sources import MAX_MODELS_PER_SESSION, MAX_URL_LENGTH
from renderhub.sizes import SessionSize

MAX_ID_CHARS = 256
_FIELDS = {"sessionId", "accountId", "size", "models", "deadline", "polygonLimit", "modelToken"}
_REQUIRED = _FIELDS - {"size", "modelToken"}
MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True, slots=True)
class Assignment:
    session_id: str
    account_id: str
    size: SessionSize | None
    models: tuple[str, ...]
    deadline: float
    polygon_limit: int | None  # None: no limit
    model_token: str | None = None


def parse_assignment(raw: bytes) -> Assignment:
    """The assignment in `raw`, or BadRequest saying what is wrong with it."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body must be a JSON object describing the session.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object describing the session.")
    if unknown := sorted(set(body) - _FIELDS):
        raise BadRequest(f"Unknown field {unknown[0]!r} in the assignment.")
    if missing := sorted(_REQUIRED - set(body)):
        raise BadRequest(f"The assignment needs {missing[0]!r}.")
    size = body.get("size")
    return Assignment(
        session_id=_identifier(body, "sessionId"),
        account_id=_identifier(body, "accountId"),
        size=None if size is None else SessionSize.parse(size),
        models=_models(body["models"]),
        deadline=_deadline(body["deadline"]),
        polygon_limit=_polygon_limit(body["polygonLimit"]),
        model_token=_model_token(body.get("modelToken")),
    )


def _identifier(body: dict[str, Any], name: str) -> str:
    value = body[name]
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        raise BadRequest(f"{name!r} must be a non-empty string of at most {MAX_ID_CHARS} chars.")
    return value.strip()


def _models(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise BadRequest("'models' must be a list of model URLs (strings).")
    if len(value) > MAX_MODELS_PER_SESSION:
        raise BadRequest(f"A session loads at most {MAX_MODELS_PER_SESSION} models.")
    if any(not url or len(url) > MAX_URL_LENGTH for url in value):
        raise BadRequest(f"A model URL must be 1 to {MAX_URL_LENGTH} characters long.")
    return tuple(value)


def _deadline(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise BadRequest("'deadline' must be a positive number of seconds since the epoch.")
    return float(value)


def _polygon_limit(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest("'polygonLimit' must be a whole number of polygons, 0 or null for none.")
    return value or None


def _model_token(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN_CHARS:
        raise BadRequest(f"'modelToken' must be a string of 1 to {MAX_TOKEN_CHARS} characters.")
    return value
