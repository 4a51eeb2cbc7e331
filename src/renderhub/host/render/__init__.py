"""Rendering a session's scene headless, in a process of its own, into shared memory.

The host launches a `RendererProcess` (a frames.SceneRenderer), adds each model's geometry
to it once (`geometry.ModelGeometry`) and sets the scene's state (`geometry.SceneState`:
every part's matrix, tint and flags, the cut planes) whenever it changes. `gl.GlRenderer`
draws inside that process; import it from `renderhub.host.render.gl` (it loads moderngl,
which the host process does not need). The geometry and state types (ModelGeometry,
SceneState, CutPlaneData, the flags) are exported here; a model's geometry is built by
`renderhub.host.runtime.geometry_builder`.

`RendererProcess` is imported on first use: the renderer process runs `child` from this
package and must not pay for the host side's imports (asyncio, subprocess) at its start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from renderhub.host.render.errors import RendererError
from renderhub.host.render.geometry import (
    HIDDEN,
    MAX_CUT_PLANES,
    SEE_THROUGH,
    SELECTED,
    CutPlaneData,
    ModelGeometry,
    SceneState,
)

if TYPE_CHECKING:
    from renderhub.host.render.process import RendererProcess

__all__ = [
    "HIDDEN",
    "MAX_CUT_PLANES",
    "SEE_THROUGH",
    "SELECTED",
    "CutPlaneData",
    "ModelGeometry",
    "RendererError",
    "RendererProcess",
    "SceneState",
]


def __getattr__(name: str) -> Any:
    if name == "RendererProcess":
        from renderhub.host.render.process import RendererProcess

        return RendererProcess
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
