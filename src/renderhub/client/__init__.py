"""RenderHub's Python client: sessions over the 2021-01-01 (or v1) API, and conversions,
sync and async.

    from renderhub.client import RenderHubClient
    with RenderHubClient(endpoint, account_id, account_key) as client:
        session = client.create_session(models=["samples/cube.glb"])
        session = client.wait_until_ready(session.id)
        print(session.viewer_url)

    async with AsyncRenderHubClient(endpoint, account_id, account_key) as client:
        async with client.connect_scene(session_id) as scene:  # the scene runtime
            root = await scene.load_model("samples/torus-knot.glb")
            frame = await scene.next_frame()

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
    AlreadyConnected,
    BadRequest,
    ClientError,
    Conflict,
    ConnectionFailed,
    ConversionFailed,
    CutPlaneNotFound,
    EntityNotFound,
    InvalidField,
    InvalidMessage,
    LimitExceeded,
    ModelLoadFailed,
    ModelNotAllowed,
    NotAModel,
    NotFound,
    QuotaExceeded,
    ReplyTooLarge,
    SceneClosed,
    SceneError,
    SceneInternalError,
    SceneUnavailable,
    ServerError,
    SessionFailed,
    Unauthorized,
    UnknownType,
    WaitTimedOut,
)
from renderhub.client.models import Session
from renderhub.client.retries import RetryPolicy
from renderhub.client.scene import Scene
from renderhub.client.scene_types import (
    KEEP,
    Bounds,
    Camera,
    CutPlane,
    Entity,
    EntityState,
    Hello,
    LoadProgress,
    RayHit,
    SceneStats,
    Transform,
)
from renderhub.client.sync import RenderHubClient

__all__ = [
    "KEEP",
    "AlreadyConnected",
    "AsyncRenderHubClient",
    "BadRequest",
    "Bounds",
    "Camera",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Conversion",
    "ConversionFailed",
    "ConversionInput",
    "ConversionOutput",
    "CutPlane",
    "CutPlaneNotFound",
    "Entity",
    "EntityNotFound",
    "EntityState",
    "Hello",
    "InvalidField",
    "InvalidMessage",
    "LimitExceeded",
    "LoadProgress",
    "ModelLoadFailed",
    "ModelNotAllowed",
    "NotAModel",
    "NotFound",
    "QuotaExceeded",
    "RayHit",
    "RenderHubClient",
    "ReplyTooLarge",
    "RetryPolicy",
    "Scene",
    "SceneClosed",
    "SceneError",
    "SceneInternalError",
    "SceneStats",
    "SceneUnavailable",
    "ServerError",
    "Session",
    "SessionFailed",
    "Transform",
    "Unauthorized",
    "UnknownType",
    "WaitTimedOut",
    "split_sas",
]
