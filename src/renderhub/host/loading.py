"""Loading a session's models in order: check each URL, fetch it, parse it off the event loop."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from renderhub.errors import BadRequest
from renderhub.host.config import HostConfig
from renderhub.host.errors import ModelLoadError
from renderhub.host.fetch import fetch_model
from renderhub.host.meshes import build_scene, load_model_file
from renderhub.host.scene import LoadedModel
from renderhub.host.state import HostState
from renderhub.host.threads import in_daemon_thread
from renderhub.model_sources import redact

log = logging.getLogger(__name__)


async def load_models(config: HostConfig, state: HostState) -> None:
    """Load every model of the session into `state`; failures end up in `state` too."""
    started = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix="renderhub-host-"))
    try:
        models = [await _load_one(url, config, work_dir, state) for url in config.models]
        scene = await in_daemon_thread(build_scene, models)
    except ModelLoadError as exc:
        log.error("loading failed: %s", exc.message)
        state.mark_failed(exc.message, time.monotonic() - started)
        return
    except Exception as exc:
        log.exception("loading failed unexpectedly")
        message = f"The render host could not load the models: {type(exc).__name__}."
        state.mark_failed(message, time.monotonic() - started)
        return
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    seconds = time.monotonic() - started
    state.mark_ready(scene, seconds)
    log.info("ready: %d model(s), %s polygons, %.3f s", len(models), f"{scene.polygons:,}", seconds)
    if over_limit := state.budget.message(scene.polygons):
        log.warning("%s", over_limit)


async def _load_one(url: str, config: HostConfig, work_dir: Path, state: HostState) -> LoadedModel:
    try:
        source = config.policy.check(url)
    except BadRequest as exc:
        raise ModelLoadError(exc.message) from exc
    path = await fetch_model(
        source, config.limits, work_dir, config.remote_models, config.policy.models_dir
    )
    model = await in_daemon_thread(load_model_file, url, path)
    state.model_loaded()
    log.info(
        "loaded %r: %s polygons, %s bytes", redact(url), f"{model.polygons:,}", f"{model.bytes:,}"
    )
    return model
