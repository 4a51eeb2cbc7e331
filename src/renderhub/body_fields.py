"""Field types that request bodies on both sides share, the API's and the render host's, so that
one rule keeps one wording wherever a body carries it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainValidator

from renderhub.sizes import SessionSize
from renderhub.validation import checked_by

Size = Annotated[SessionSize, checked_by(SessionSize.parse)]
"""A session size in any letter case ('standard', as the official scripts send it)."""


def _model_urls(value: Any) -> tuple[str, ...]:
    """The list's shape only; ModelPolicy (API) or the host's limits judge the URLs."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise ValueError("must be a list of model URLs (strings)")
    return tuple(value)


ModelUrls = Annotated[tuple[str, ...], PlainValidator(_model_urls)]
"""A list of model URLs (null reads as none)."""
