"""The session's scene as the host runs it: one SceneRuntime for the whole session, whichever
client is connected, owning the SceneModel, the renderer's copy of it and the model loads.

Every change is applied to the SceneModel first (which refuses bad requests before it changes
anything), then handed to the renderer: a model's geometry once, with `add_model`, and the
whole SceneState after every change, so the next frame shows it. A renderer that fails is
not trusted again: from then on every change is refused as Unavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from renderhub.host.frames import SceneRenderer
from renderhub.host.runtime.entity_json import json_size
from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.runtime.loads import (
    ModelSources,
    OnProgress,
    PreparedModel,
    ThrottledProgress,
    fetch_and_prepare,
)
from renderhub.host.runtime.messages import (
    AddCutPlane,
    CutPlanes,
    Entities,
    LoadModel,
    Raycast,
    RemoveCutPlane,
    SceneRequest,
    SetCutPlane,
    SetState,
    SetTransforms,
    UnloadModel,
)
from renderhub.host.runtime.model import (
    PAGE_BYTES,
    UNSET,
    AddedModel,
    EntityPage,
    SceneModel,
    StateChange,
    TransformChange,
)

log = logging.getLogger(__name__)

MAX_LOADS = 4  # model loads running at once

Result = dict[str, Any]
# Gets a finished load's answer: the reply's result, or the error it ended in.
OnLoaded = Callable[[Result | SceneError], None]


class SceneRuntime:
    """The session's scene and the renderer that shows it.

    Before a renderer is attached (the session's own models load first), models added wait
    for it; `attach` uploads them all. Not thread-safe: it runs on the event loop."""

    def __init__(self, model: SceneModel, sources: ModelSources) -> None:
        self.model = model
        self.sources = sources
        self._renderer: SceneRenderer | None = None
        self._waiting: list[AddedModel] = []  # added before the renderer was attached
        self._loads: set[asyncio.Task[None]] = set()
        self.failure: str | None = None

    # ---- the renderer -------------------------------------------------------------------
    @property
    def renderer(self) -> SceneRenderer | None:
        """The renderer the scene is handed to (None until attached)."""
        return self._renderer

    async def attach(self, renderer: SceneRenderer) -> None:
        """Hand the scene to `renderer`: every model added so far, then the state."""
        self._renderer = renderer
        waiting, self._waiting = self._waiting, []
        for added in waiting:
            await renderer.add_model(added.root, added.first_slot, added.geometry)
        renderer.set_state(self.model.state())

    def _check_available(self) -> None:
        if self.failure is not None:
            raise SceneError(ErrorCode.UNAVAILABLE, self.failure)

    def _failed(self, exc: Exception) -> SceneError:
        message = getattr(exc, "message", None) or f"The renderer failed: {exc!r}"
        log.error("the renderer failed while the scene changed: %s", message)
        self.failure = f"The renderer has failed; the scene cannot change any more. {message}"
        return SceneError(ErrorCode.UNAVAILABLE, self.failure)

    def _publish(self) -> None:
        """Give the renderer the scene's state now, for the next frame."""
        if self._renderer is None:
            return
        try:
            self._renderer.set_state(self.model.state())
        except Exception as exc:
            raise self._failed(exc) from exc

    async def _upload(self, added: AddedModel) -> None:
        if self._renderer is None:
            self._waiting.append(added)
            return
        try:
            await self._renderer.add_model(added.root, added.first_slot, added.geometry)
        except Exception as exc:
            raise self._failed(exc) from exc

    # ---- models -------------------------------------------------------------------------
    async def add(self, prepared: PreparedModel, parent: int | None = None) -> AddedModel:
        """Put a prepared model into the scene and the renderer (all or nothing)."""
        self._check_available()
        added = self.model.commit_model(prepared.prepared, parent)
        try:
            await self._upload(added)
        except SceneError:
            self.model.remove_model(added.root)
            raise
        self._publish()
        return added

    def start_load(self, request: LoadModel, progress: OnProgress, answer: OnLoaded) -> None:
        """Begin loading `request.url` (LimitExceeded with MAX_LOADS running already); when it
        ends, `answer` gets the reply's result or the SceneError. The load belongs to the
        runtime: it completes into the scene even if the client that asked has gone."""
        self._check_available()
        if len(self._loads) >= MAX_LOADS:
            raise SceneError(
                ErrorCode.LIMIT_EXCEEDED,
                f"At most {MAX_LOADS} models may load at once; wait for one to finish.",
            )
        task = asyncio.create_task(self._load(request, progress, answer), name="load-model")
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    async def _load(self, request: LoadModel, progress: OnProgress, answer: OnLoaded) -> None:
        throttled = ThrottledProgress(progress)
        try:
            result = await self.load(request, throttled)
        except SceneError as exc:
            outcome: Result | SceneError = exc
        except Exception as exc:
            log.exception("loading %r failed unexpectedly", request.url)
            outcome = SceneError(
                ErrorCode.MODEL_LOAD_FAILED,
                f"The model could not be loaded: {type(exc).__name__}.",
                "url",
            )
        else:
            outcome = result
        finally:
            throttled.close()
        answer(outcome)

    async def load(self, request: LoadModel, progress: OnProgress | None = None) -> Result:
        """Load a model into the scene; the reply's result {"root", "entities", "next"?,
        "warning"?}: `entities` is the first page of the model's, `next` where to go on."""
        if request.parent is not None:
            try:  # EntityNotFound before fetching anything
                self.model.entity_json(request.parent)
            except SceneError as exc:
                exc.target = "parent"
                raise
        prepared = await fetch_and_prepare(request.url, self.sources, self.model, progress)
        if progress is not None:
            progress("uploading", 0.0)
        try:
            added = await self.add(prepared, request.parent)
        except SceneError as exc:
            if exc.code is ErrorCode.ENTITY_NOT_FOUND:
                exc.target = "parent"
            raise
        root = self.model.entity_json(added.root)
        warning = self.model.over_limit_message()
        room = PAGE_BYTES - json_size(root) - (json_size(warning) if warning else 0)
        page = self.model.entities_page(added.root, budget=max(room, 0))
        result: Result = {"root": root, **_page_result(page)}
        if warning:
            result["warning"] = warning
        return result

    async def unload(self, root: int) -> Result:
        """Remove the model rooted at `root` and any attached under it."""
        self._check_available()
        before = set(self.model.model_roots())
        removed = self.model.remove_model(root)
        gone = before - set(self.model.model_roots())
        self._waiting = [added for added in self._waiting if added.root not in gone]
        # Shielded: the scene has changed already, so the renderer must follow even if the
        # client that asked goes meanwhile (its channel's task is then cancelled).
        await asyncio.shield(self._remove_from_renderer(sorted(gone)))
        return {"removed": removed}

    async def _remove_from_renderer(self, roots: list[int]) -> None:
        if self._renderer is not None:
            try:
                for root in roots:
                    await self._renderer.remove_model(root)
            except Exception as exc:
                raise self._failed(exc) from exc
        self._publish()

    # ---- everything else ----------------------------------------------------------------
    async def handle(self, request: SceneRequest) -> Result:
        """Answer one scene request that completes at once (all but load_model and the
        camera's); SceneError when it is refused, and then nothing has changed."""
        if isinstance(request, UnloadModel):
            return await self.unload(request.id)
        if isinstance(request, Entities):
            page = self.model.entities_page(request.root, request.after, request.limit)
            return _page_result(page)
        if isinstance(request, CutPlanes):
            return {"planes": self.model.cut_planes_json()}
        if isinstance(request, Raycast):
            await self.model.raycast_ready()
            return {"hits": self.raycast(request)}
        return self._change(request)

    def raycast(self, request: Raycast) -> list[dict[str, Any]]:
        return self.model.raycast(
            request.origin, request.direction, request.mode, request.max_distance
        )

    def _change(self, request: SceneRequest) -> Result:
        self._check_available()
        result = self._apply(request)
        self._publish()
        return result

    def _apply(self, request: SceneRequest) -> Result:
        model = self.model
        if isinstance(request, SetTransforms):
            return {"count": model.set_transforms([_transform(t) for t in request.transforms])}
        if isinstance(request, SetState):
            model.set_state(request.id, _state_change(request))
            return {"entity": model.entity_json(request.id)}
        if isinstance(request, AddCutPlane):
            plane = model.add_cut_plane(
                request.point, request.normal, request.fade_length, request.fade_colour
            )
            return {"id": plane}
        if isinstance(request, SetCutPlane):
            fields = ("point", "normal", "fade_length", "fade_colour")
            changes = {name: getattr(request, name) for name in fields if request.given(name)}
            return {"plane": model.set_cut_plane(request.id, **changes)}
        if isinstance(request, RemoveCutPlane):
            model.remove_cut_plane(request.id)
            return {}
        raise TypeError(f"not a scene change: {type(request).__name__}")

    async def loads_ended(self) -> None:
        """Wait until the loads running now have ended (each has answered)."""
        await asyncio.gather(*self._loads, return_exceptions=True)

    # ---- the end ------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Stop the loads still running (the session is over)."""
        for task in list(self._loads):
            task.cancel()
        await asyncio.gather(*self._loads, return_exceptions=True)


def _page_result(page: EntityPage) -> Result:
    """A page as a reply's fields: {"entities", "next"?} (`next` only when more follow)."""
    result: Result = {"entities": page.entities}
    if page.next is not None:
        result["next"] = page.next
    return result


def _transform(entry: Any) -> TransformChange:
    fields = entry.model_fields_set
    return TransformChange(
        id=entry.id,
        position=entry.position if "position" in fields else UNSET,
        rotation=entry.rotation if "rotation" in fields else UNSET,
        scale=entry.scale if "scale" in fields else UNSET,
    )


def _state_change(request: SetState) -> StateChange:
    def field(name: str) -> Any:
        return getattr(request, name) if request.given(name) else UNSET

    return StateChange(
        hidden=field("hidden"),
        see_through=field("see_through"),
        selected=field("selected"),
        tint=field("tint"),
    )
