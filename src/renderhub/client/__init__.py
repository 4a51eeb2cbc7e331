"""RenderHub's Python client: sessions over the 2021-01-01 (or v1) API, and conversions,
sync and async.

    from renderhub.client import RenderHubClient
    with RenderHubClient(endpoint, account_id, account_key) as client:
        session = client.create_session(models=["samples/cube.glb"])
        session = client.wait_until_ready(session.id)
        print(session.viewer_url)

It shares only the vocabulary (statuses, sizes, time spans) with the server and imports
nothing of it."""

from renderhub.client.aio import AsyncRenderHubClient
from renderhub.client.conversions import (
    Conversion,
    ConversionInput,
    ConversionOutput,
    split_sas,
)
from renderhub.client.errors import (
    BadRequest,
    ClientError,
    Conflict,
    ConnectionFailed,
    ConversionFailed,
    NotFound,
    QuotaExceeded,
    ServerError,
    SessionFailed,
    Unauthorized,
    WaitTimedOut,
)
from renderhub.client.models import Session
from renderhub.client.retries import RetryPolicy
from renderhub.client.sync import RenderHubClient

__all__ = [
    "AsyncRenderHubClient",
    "BadRequest",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Conversion",
    "ConversionFailed",
    "ConversionInput",
    "ConversionOutput",
    "NotFound",
    "QuotaExceeded",
    "RenderHubClient",
    "RetryPolicy",
    "ServerError",
    "Session",
    "SessionFailed",
    "Unauthorized",
    "WaitTimedOut",
    "split_sas",
]
