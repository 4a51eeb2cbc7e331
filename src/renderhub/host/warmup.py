"""Getting a host warm before its scene exists: the renderer process with its GL context, and
the imports and first-call costs of loading a model.

A pooled host launches its renderer before it has a session at all, so that an assigned
session only loads its models and hands the scene to a renderer that is already running; an
ordinary host launches it once its models are loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from pathlib import Path

from renderhub.host.frames import SceneRenderer
from renderhub.host.render.process import RendererProcess
from renderhub.host.state import HostState

log = logging.getLogger(__name__)


class WarmRenderer:
    """The host's renderer process, launched ahead of the scene; called with the loaded
    state, it hands the renderer over (the scene runtime then gives it the scene).

    The host owns it: `aclose` ends a renderer that was never handed over."""

    def __init__(self) -> None:
        self._launching: asyncio.Task[RendererProcess] | None = None
        self._handed_over = False

    def launch(self) -> asyncio.Task[RendererProcess]:
        """Start the renderer process (once); the task ends when its GL context exists."""
        if self._launching is None:
            self._launching = asyncio.create_task(RendererProcess.launch(), name="renderer")
        return self._launching

    async def ready(self) -> None:
        """Wait until the renderer is warm; raises RendererError if it could not start."""
        await asyncio.shield(self.launch())

    async def __call__(self, state: HostState) -> SceneRenderer:
        """The running renderer, with an empty scene; its new owner closes it."""
        renderer = await asyncio.shield(self.launch())
        self._handed_over = True
        return renderer

    async def aclose(self) -> None:
        """End the renderer unless it was handed over (its new owner closes it then)."""
        launching, self._launching = self._launching, None
        if launching is None or self._handed_over:
            return
        launching.cancel()
        with contextlib.suppress(BaseException):
            renderer = await launching
            await renderer.aclose()


def warm_loading() -> float:
    """Import what loading a model needs and run it once on a tiny model: parsing, the
    renderer's geometry and the ray-cast structures (trimesh loads parts of itself lazily,
    on first use); blocking, so run it off the loop. Returns seconds taken."""
    started = time.perf_counter()
    import trimesh

    from renderhub.host.meshes import load_model_file
    from renderhub.host.runtime.model import SceneModel

    with tempfile.TemporaryDirectory(prefix="renderhub-warm-") as folder:
        path = Path(folder) / "warm.glb"
        path.write_bytes(trimesh.creation.box().export(file_type="glb"))
        SceneModel().prepare_model(load_model_file("warm.glb", path))
    return time.perf_counter() - started
