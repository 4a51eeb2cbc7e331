"""Drawing a scene with OpenGL through EGL, headless: Mesa's llvmpipe on a CPU, the GPU where
there is one. Runs inside the renderer process (moderngl holds the GIL while it draws).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from renderhub.host.frames import View
from renderhub.host.render import shaders
from renderhub.host.render.camera import check_view, projection_matrix, view_matrix
from renderhub.host.render.checkerboard import checker_box
from renderhub.host.render.errors import RendererError
from renderhub.host.render.marker import BLOCK, marker_bits
from renderhub.host.render.scene_data import SceneData

GL_VERSION = 330
GPU_SAMPLES = 4
# A plain clear: a gradient pass cost llvmpipe ~2 ms (7%) of a 100k-triangle 720p frame.
BACKGROUND = (0.16, 0.17, 0.19)
_SOFTWARE = ("llvmpipe", "softpipe", "swrast", "software")


def create_context() -> moderngl.Context:
    """A standalone OpenGL 3.3+ context through EGL; no display needed.

    Raises RendererError("Could not create an OpenGL context through EGL: ...") when there is
    no EGL library or no usable device."""
    try:
        return moderngl.create_context(
            standalone=True,
            backend="egl",  # type: ignore[arg-type]  # the stubs type **settings wrongly
            require=GL_VERSION,
        )
    except Exception as exc:
        detail = str(exc).strip() or type(exc).__name__
        raise RendererError(f"Could not create an OpenGL context through EGL: {detail}") from exc


def is_gpu(renderer: str) -> bool:
    """Whether a GL_RENDERER string names hardware rather than a software rasteriser."""
    return not any(name in renderer.lower() for name in _SOFTWARE)


class GlRenderer:
    """Renders one scene into RGB pixels, top row first.

    `checkerboard=True` draws a checkered box filling the scene's bounds instead of its
    models (the models are over the session's polygon limit). `samples` is the MSAA sample
    count; None picks 4 on a GPU and none on a software rasteriser, where it costs too much.
    The renderer owns `context` (released by `release()`); None creates one through EGL."""

    def __init__(
        self,
        scene: SceneData,
        *,
        checkerboard: bool = False,
        samples: int | None = None,
        context: moderngl.Context | None = None,
    ) -> None:
        self._ctx = context if context is not None else create_context()
        self._info = _context_info(self._ctx)
        self._samples = (GPU_SAMPLES if self._info["gpu"] else 0) if samples is None else samples
        self._info["samples"] = self._samples
        self._targets: _Targets | None = None
        with self._ctx:  # current on this thread (another renderer's may have been)
            self._ctx.enable(moderngl.DEPTH_TEST)
            # projection_matrix(flip_y=True) mirrors the picture, which turns a triangle wound
            # counter-clockwise (glTF's front) clockwise on screen.
            self._ctx.front_face = "cw"
            self._ctx.cull_face = "back"
            self._scene = (
                _checker_vao(self._ctx, scene) if checkerboard else _mesh_vao(self._ctx, scene)
            )
        self._draws = [_Draw(culled=False)] if checkerboard else _mesh_draws(scene)

    def info(self) -> dict[str, Any]:
        """{"renderer": GL_RENDERER, "vendor", "version", "gpu": bool, "samples": MSAA count}."""
        return dict(self._info)

    def render(self, view: View) -> np.ndarray:
        """Draw `view` into a new (height, width, 3) uint8 RGB array, top row first."""
        pixels = np.empty((view.height, view.width, 3), dtype=np.uint8)
        self.render_into(view, pixels)
        return pixels

    def render_into(self, view: View, buffer: Any, offset: int = 0) -> None:
        """Draw `view` and read it back into `buffer` (anything writable with the buffer
        protocol, e.g. shared memory) at byte `offset`: width * height * 3 bytes, RGB, top
        row first, rows packed."""
        self.draw(view)
        self.read_into(buffer, offset)

    def draw(self, view: View) -> None:
        """Draw `view` (scene, then marker) into the framebuffer of its size; GL may still be
        working when this returns (read_into or finish waits for it)."""
        check_view(view)
        with self._ctx:
            targets = self._targets_for(view.width, view.height)
            targets.draw.use()
            targets.draw.clear(*BACKGROUND, 1.0, depth=1.0)
            self._draw_scene(view)
            if targets.resolve is not targets.draw:
                self._ctx.copy_framebuffer(targets.resolve, targets.draw)
            if view.marker is not None:
                _draw_marker(targets.resolve, view.marker, view.height)

    def read_into(self, buffer: Any, offset: int = 0) -> None:
        """Read the last drawn picture into `buffer` at byte `offset` (see render_into)."""
        if self._targets is None:
            raise RuntimeError("Nothing has been drawn yet.")
        with self._ctx:
            resolve = self._targets.resolve
            resolve.read_into(buffer, components=3, alignment=1, write_offset=offset)

    def finish(self) -> None:
        """Wait until GL has finished drawing (for timing the drawing alone)."""
        with self._ctx:
            self._ctx.finish()

    def release(self) -> None:
        """Free the GL objects and the context; the renderer cannot be used afterwards."""
        with self._ctx:
            if self._targets is not None:
                self._targets.release()
                self._targets = None
        self._ctx.release()

    def _draw_scene(self, view: View) -> None:
        if self._scene is None:
            return
        program = self._scene.program
        program["u_view"].write(view_matrix(view).T.tobytes())  # type: ignore[union-attr]
        projection = projection_matrix(view, flip_y=True)
        program["u_projection"].write(projection.T.tobytes())  # type: ignore[union-attr]
        for draw in self._draws:
            if draw.culled:
                self._ctx.enable(moderngl.CULL_FACE)
            else:
                self._ctx.disable(moderngl.CULL_FACE)
            self._scene.render(moderngl.TRIANGLES, vertices=draw.count, first=draw.first)

    def _targets_for(self, width: int, height: int) -> _Targets:
        if self._targets is None or self._targets.size != (width, height):
            if self._targets is not None:
                self._targets.release()
            self._targets = _Targets(self._ctx, (width, height), self._samples)
        return self._targets


@dataclass(frozen=True, slots=True)
class _Draw:
    """One draw call over a range of the index buffer: `count` indices from `first` (-1:
    all of them), with back faces culled or not."""

    culled: bool
    first: int = 0
    count: int = -1


def _mesh_draws(scene: SceneData) -> list[_Draw]:
    """The double-sided range without culling, then the single-sided one culled."""
    double, single = scene.double_sided_indices, scene.single_sided_indices
    draws = [_Draw(culled=False, first=0, count=double), _Draw(True, first=double, count=single)]
    return [draw for draw in draws if draw.count]


class _Targets:
    """The framebuffers of one output size: `draw` (multisampled when asked) and `resolve`."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], samples: int) -> None:
        self.size = size
        self._objects: list[Any] = []
        self.resolve = self._framebuffer(ctx, size, 0)
        self.draw = self._framebuffer(ctx, size, samples) if samples else self.resolve

    def _framebuffer(self, ctx: moderngl.Context, size: tuple[int, int], samples: int) -> Any:
        colour = ctx.renderbuffer(size, components=4, samples=samples)
        depth = ctx.depth_renderbuffer(size, samples=samples)
        framebuffer = ctx.framebuffer(color_attachments=[colour], depth_attachment=depth)
        self._objects += [framebuffer, colour, depth]
        return framebuffer

    def release(self) -> None:
        for gl_object in self._objects:
            gl_object.release()
        self._objects.clear()


def _context_info(ctx: moderngl.Context) -> dict[str, Any]:
    renderer = str(ctx.info["GL_RENDERER"])
    return {
        "renderer": renderer,
        "vendor": str(ctx.info["GL_VENDOR"]),
        "version": str(ctx.info["GL_VERSION"]),
        "gpu": is_gpu(renderer),
    }


def _mesh_vao(ctx: moderngl.Context, scene: SceneData) -> moderngl.VertexArray | None:
    if not len(scene.indices):
        return None
    program = ctx.program(vertex_shader=shaders.MESH_VERTEX, fragment_shader=shaders.MESH_FRAGMENT)
    content = [
        (ctx.buffer(scene.positions), "3f", "in_position"),
        (ctx.buffer(scene.normals), "3f", "in_normal"),
        (ctx.buffer(scene.colours), "4f1", "in_colour"),
    ]
    indices = ctx.buffer(scene.indices)
    return ctx.vertex_array(program, content, index_buffer=indices, index_element_size=4)


def _checker_vao(ctx: moderngl.Context, scene: SceneData) -> moderngl.VertexArray | None:
    if scene.bounds is None:
        return None
    box = checker_box(scene.bounds)
    program = ctx.program(
        vertex_shader=shaders.CHECKER_VERTEX, fragment_shader=shaders.CHECKER_FRAGMENT
    )
    content = [
        (ctx.buffer(box.positions), "3f", "in_position"),
        (ctx.buffer(box.normals), "3f", "in_normal"),
        (ctx.buffer(box.cells), "2f", "in_cell"),
    ]
    indices = ctx.buffer(box.indices)
    return ctx.vertex_array(program, content, index_buffer=indices, index_element_size=4)


def _draw_marker(framebuffer: Any, value: int, height: int) -> None:
    """Exact blocks, no shading: one scissored clear per bit. The picture is upside down in
    GL (see projection_matrix's flip_y), so the image's bottom rows are GL's top rows."""
    for index, bit in enumerate(marker_bits(value)):
        level = 1.0 if bit else 0.0
        viewport = (index * BLOCK, height - BLOCK, BLOCK, BLOCK)
        framebuffer.clear(level, level, level, 1.0, viewport=viewport)
