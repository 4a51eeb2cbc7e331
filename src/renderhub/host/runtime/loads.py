"""Getting one model from its URL to a prepared scene model: check, fetch, parse, prepare.

The same steps serve the session's own models at start and a client's `load_model`; only
the quick commit into the scene runs on the event loop, the rest off it. What goes wrong
becomes a SceneError: a URL the policy refuses is ModelNotAllowed, anything about fetching
or reading the file ModelLoadFailed. Progress is reported as the protocol's stages.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from renderhub.errors import BadRequest
from renderhub.host.config import FetchLimits, HostConfig, RemoteModels
from renderhub.host.errors import ModelLoadError
from renderhub.host.fetch import fetch_model
from renderhub.host.runtime.errors import ErrorCode, SceneError
from renderhub.host.threads import in_daemon_thread
from renderhub.model_sources import ModelPolicy, redact

if TYPE_CHECKING:
    from renderhub.host.runtime.model import SceneModel
    from renderhub.host.scene import LoadedModel

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 0.1  # at most ten progress events a second

# Told the stage ("fetching", "parsing", "uploading") and the fraction of it done (0..1).
OnProgress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class ModelSources:
    """Where a session may load models from, and within which limits: the same allow-list
    and limits for the models it was created with and those a client loads later."""

    policy: ModelPolicy
    limits: FetchLimits
    remote: RemoteModels | None = None

    @classmethod
    def of(cls, config: HostConfig) -> ModelSources:
        return cls(config.policy, config.limits, config.remote_models)


@dataclass(frozen=True, slots=True)
class PreparedModel:
    """A model read and prepared for the scene (SceneModel.prepare_model's result)."""

    loaded: LoadedModel
    prepared: Any


async def fetch_and_prepare(
    url: str, sources: ModelSources, scene: SceneModel, progress: OnProgress | None = None
) -> PreparedModel:
    """Check `url`, fetch it, parse it and prepare it for `scene` (both off the event loop).
    SceneError: ModelNotAllowed, ModelLoadFailed."""
    report = progress or (lambda stage, fraction: None)
    try:
        source = sources.policy.check(url)
    except BadRequest as exc:
        raise SceneError(ErrorCode.MODEL_NOT_ALLOWED, exc.message, "url") from exc
    work_dir = Path(tempfile.mkdtemp(prefix="renderhub-load-"))
    try:
        report("fetching", 0.0)
        path = await fetch_model(
            source,
            sources.limits,
            work_dir,
            sources.remote,
            sources.policy.models_dir,
            progress=lambda received, size: report("fetching", received / size if size else 0.0),
        )
        report("parsing", 0.0)
        return await in_daemon_thread(_parse_and_prepare, url, path, scene)
    except ModelLoadError as exc:
        raise SceneError(ErrorCode.MODEL_LOAD_FAILED, exc.message, "url") from exc
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _parse_and_prepare(url: str, path: Path, scene: SceneModel) -> PreparedModel:
    from renderhub.host.meshes import load_model_file

    started = time.perf_counter()
    loaded = load_model_file(url, path)
    try:
        prepared = scene.prepare_model(loaded)
    except SceneError:
        raise
    except Exception as exc:  # geometry the scene cannot take counts as a file it cannot read
        log.exception("preparing %r failed", redact(url))
        raise ModelLoadError(
            f"Could not load model {redact(url)!r}: {type(exc).__name__}."
        ) from exc
    log.info(
        "loaded %r: %s polygons, %s bytes, %.0f ms",
        redact(url),
        f"{loaded.polygons:,}",
        f"{loaded.bytes:,}",
        (time.perf_counter() - started) * 1000,
    )
    return PreparedModel(loaded, prepared)


class ThrottledProgress:
    """Hands on progress events at most once every PROGRESS_INTERVAL_SECONDS: an event that
    comes sooner waits (replaced by any newer one) and goes out when the interval is over,
    so the last stage reached is always told. `close` drops what still waits."""

    def __init__(
        self,
        send: Callable[[str, float], None],
        interval: float = PROGRESS_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._clock = clock
        self._last_sent: float | None = None
        self._waiting: tuple[str, float] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, stage: str, fraction: float) -> None:
        self._waiting = (stage, min(max(fraction, 0.0), 1.0))
        now = self._clock()
        if self._last_sent is None or now - self._last_sent >= self._interval:
            self._flush()
        elif self._timer is None:
            delay = self._interval - (now - self._last_sent)
            self._timer = asyncio.get_running_loop().call_later(delay, self._flush)

    def _flush(self) -> None:
        self._timer = None
        if self._waiting is None:
            return
        stage, fraction = self._waiting
        self._waiting = None
        self._last_sent = self._clock()
        self._send(stage, fraction)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiting = None
