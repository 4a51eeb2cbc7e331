"""The request bodies of both session APIs, as declarative models.

Each field says its type and rule here; `renderhub.validation` turns a complaint into one error
naming the field, and refuses fields these models do not have (a typo like "modles" is a 400,
not a session without models). What depends on the operator's settings (the longest lease, the
models allowed) is checked by the routes with those settings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from renderhub.body_fields import ModelUrls, Size
from renderhub.timespan import parse_timespan
from renderhub.validation import WireBody, checked_by, whole_number

Minutes = Annotated[int, whole_number("minutes")]
TimeSpan = Annotated[timedelta, checked_by(parse_timespan)]
"""A .NET TimeSpan string such as '4:0:0' (the v1 API)."""


class CreateSessionSettings(WireBody):
    """PUT /accounts/{account_id}/sessions/{session_id} (`create_session_settings`), plus
    RenderHub's `models`: the models the host loads before the session is Ready."""

    max_lease_time_minutes: Minutes = Field(alias="maxLeaseTimeMinutes")
    size: Size
    models: ModelUrls = ()


class UpdateSessionSettings(WireBody):
    """PATCH /accounts/{account_id}/sessions/{session_id} (`update_session_settings`)."""

    max_lease_time_minutes: Minutes = Field(alias="maxLeaseTimeMinutes")


class CreateSessionV1(WireBody):
    """POST /v1/accounts/{accountId}/sessions/create."""

    size: Size
    max_lease_time: TimeSpan = Field(alias="maxLeaseTime")
    models: ModelUrls = ()


class ExtendSessionV1(WireBody):
    """PATCH /v1/accounts/{accountId}/sessions/{sessionId}: the new total lease."""

    max_lease_time: TimeSpan = Field(alias="maxLeaseTime")
