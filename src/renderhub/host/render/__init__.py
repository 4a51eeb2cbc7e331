"""Rendering a session's scene headless, in a process of its own, into shared memory.

The host extracts `scene_data(scene)` once and starts a `RendererProcess` (a FrameSource, see
renderhub.host.frames). `gl.GlRenderer` draws inside that process; import it from
`renderhub.host.render.gl` (it loads moderngl, which the host process does not need).
"""

from renderhub.host.render.errors import RendererError
from renderhub.host.render.process import RendererProcess
from renderhub.host.render.scene_data import SceneData, scene_data

__all__ = ["RendererError", "RendererProcess", "SceneData", "scene_data"]
