"""Loading a session's own models at its start, in order, into its scene: each URL checked,
fetched, parsed and prepared off the event loop, then added to the scene (the same path a
client's load_model takes); the host's phase and /health follow."""

from __future__ import annotations

import logging
import time

from renderhub.host.config import HostConfig
from renderhub.host.runtime.errors import SceneError
from renderhub.host.runtime.loads import fetch_and_prepare
from renderhub.host.runtime.runtime import SceneRuntime
from renderhub.host.scene import LoadedModel, LoadedScene
from renderhub.host.state import HostState

log = logging.getLogger(__name__)


async def load_models(config: HostConfig, state: HostState, runtime: SceneRuntime) -> None:
    """Load every model of the session into `runtime`'s scene; the outcome goes to `state`."""
    started = time.monotonic()
    state.scene_model = runtime.model
    models: list[LoadedModel] = []
    try:
        for url in config.models:
            prepared = await fetch_and_prepare(url, runtime.sources, runtime.model)
            await runtime.add(prepared)
            models.append(prepared.loaded)
            state.model_loaded()
    except SceneError as exc:
        log.error("loading failed: %s", exc.message)
        state.mark_failed(exc.message, time.monotonic() - started)
        return
    except Exception as exc:
        log.exception("loading failed unexpectedly")
        message = f"The render host could not load the models: {type(exc).__name__}."
        state.mark_failed(message, time.monotonic() - started)
        return
    seconds = time.monotonic() - started
    state.mark_ready(LoadedScene(models=tuple(models), bounds=runtime.model.bounds), seconds)
    polygons = runtime.model.polygons_loaded
    log.info("ready: %d model(s), %s polygons, %.3f s", len(models), f"{polygons:,}", seconds)
    if over_limit := state.budget.message(polygons):
        log.warning("%s", over_limit)
