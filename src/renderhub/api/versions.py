"""The api-version every 2021-01-01 call carries (the scripts still send the preview's)."""

from __future__ import annotations

from starlette.requests import Request

from renderhub.errors import BadRequest

API_VERSIONS = frozenset({"2021-01-01", "2021-01-01-preview"})


def check_api_version(request: Request) -> str:
    """The request's api-version; BadRequest naming it when missing or unknown (each
    operation's decorator answers that with a code the document lists for it)."""
    version = request.query_params.get("api-version")
    if version not in API_VERSIONS:
        shown = "missing" if version is None else repr(version)
        raise BadRequest(
            f"The api-version is {shown}; use one of: {', '.join(sorted(API_VERSIONS))}.",
            target="api-version",
        )
    return version
