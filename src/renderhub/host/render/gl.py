"""Drawing a scene with OpenGL through EGL, headless: Mesa's llvmpipe on a CPU, the GPU where
there is one. Runs inside the renderer process (moderngl holds the GIL while it draws).

The scene changes at run time: models are added and removed whole (`gl_models.GpuModel`),
and the scene's state (every part's matrix, tint and flags, the cut planes) replaces the
previous one whenever it changes (`state_texture.StateTexture`, a few uniforms). The mesh
program comes in one variant per number of cut planes (none: no plane code at all),
cutting by clip distances, with the fade code only while a plane fades (see
shaders.mesh_vertex). A frame is up to four passes: the opaque parts; the see-through
parts, blended, when there are any; the selection mask and its outline when a part is
selected; the marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import moderngl
import numpy as np

from renderhub.frame_marker import BLOCK, marker_bits
from renderhub.host.frames import View
from renderhub.host.render import shaders
from renderhub.host.render.camera import check_view, projection_matrix, view_matrix
from renderhub.host.render.checkerboard import checker_box
from renderhub.host.render.errors import RendererError
from renderhub.host.render.geometry import (
    HIDDEN,
    SEE_THROUGH,
    SELECTED,
    CutPlaneData,
    ModelGeometry,
    SceneState,
    check_geometry,
)
from renderhub.host.render.gl_models import GpuModel
from renderhub.host.render.gl_outline import Outline, selection_rect
from renderhub.host.render.state_texture import StateTexture, mirrored

GL_VERSION = 330
GPU_SAMPLES = 4
# A plain clear: a gradient pass cost llvmpipe ~2 ms (7%) of a 100k-triangle 720p frame.
BACKGROUND = (0.16, 0.17, 0.19)
SEE_THROUGH_ALPHA = 0.3
STATE_UNIT = 0
GL_CLIP_DISTANCE0 = 0x3000  # the cut planes are clip distances (see shaders.mesh_vertex)
_SOFTWARE = ("llvmpipe", "softpipe", "swrast", "software")

Bounds = tuple[tuple[float, float, float], tuple[float, float, float]]
_Chosen = tuple[GpuModel, np.ndarray | None]  # a model and the parts to draw (None: all)


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
    """Renders a changing scene into RGB pixels, top row first.

    Models come and go with `add_model` / `remove_model`; `set_state` gives every slot's
    matrix, tint and flags and the cut planes, used from the next draw on. A part whose slot
    has no row in the state (or before any state is set) is not drawn. `samples` is the MSAA
    sample count; None picks 4 on a GPU and none on a software rasteriser, where it costs
    too much. The renderer owns `context` (released by `release()`); None creates one
    through EGL. Bad calls (a model id twice, an unknown one) raise ValueError and change
    nothing."""

    def __init__(self, *, samples: int | None = None, context: moderngl.Context | None = None):
        self._ctx = context if context is not None else create_context()
        self._info = _context_info(self._ctx)
        self._samples = (GPU_SAMPLES if self._info["gpu"] else 0) if samples is None else samples
        self._info["samples"] = self._samples
        self._targets: _Targets | None = None
        self._models: dict[int, GpuModel] = {}
        self._state: SceneState | None = None
        # Whether any visible part is see-through, selected, placed by a mirroring matrix.
        self._see_through = self._selected = self._mirrored = False
        self._checker: _CheckerBox | None = None
        with self._ctx:  # current on this thread (another renderer's may have been)
            self._ctx.enable(moderngl.DEPTH_TEST)
            # projection_matrix(flip_y=True) mirrors the picture, which turns a triangle wound
            # counter-clockwise (glTF's front) clockwise on screen.
            self._ctx.front_face = "cw"
            self._ctx.cull_face = "back"
            self._programs: dict[tuple[int, bool], moderngl.Program] = {}  # (planes, fade)
            self._program = self._mesh_program(0, fade=False)
            self._state_texture = StateTexture(self._ctx)
            self._outline = Outline(self._ctx)
            self._checker_program = self._ctx.program(
                vertex_shader=shaders.CHECKER_VERTEX, fragment_shader=shaders.CHECKER_FRAGMENT
            )

    def info(self) -> dict[str, Any]:
        """{"renderer": GL_RENDERER, "vendor", "version", "gpu": bool, "samples": MSAA count}."""
        return dict(self._info)

    @property
    def model_ids(self) -> list[int]:
        return list(self._models)

    def add_model(self, model_id: int, first_slot: int, geometry: ModelGeometry) -> None:
        """Upload `geometry`; its parts take slots first_slot .. first_slot + part_count."""
        check_geometry(geometry)
        if model_id in self._models:
            raise ValueError(f"The renderer has a model {model_id} already.")
        if first_slot < 0:
            raise ValueError(f"first_slot {first_slot} is negative.")
        with self._ctx:
            self._models[model_id] = GpuModel(self._ctx, first_slot, geometry)

    def remove_model(self, model_id: int) -> None:
        """Free model `model_id`'s buffers; it is not drawn any more."""
        model = self._models.pop(model_id, None)
        if model is None:
            raise ValueError(f"The renderer has no model {model_id}.")
        with self._ctx:
            model.release()

    def set_state(self, state: SceneState) -> None:
        """Use `state` from the next draw on (written to the GPU at once, in one upload)."""
        with self._ctx:
            self._state_texture.write(state)
            planes = state.cut_planes
            self._program = self._mesh_program(len(planes), fade=any(map(_fades, planes)))
            if state.cut_planes:
                _set_cut_planes(self._program, state.cut_planes)
        visible = state.flags[(state.flags & HIDDEN) == 0]
        self._see_through = bool((visible & SEE_THROUGH).any())
        self._selected = bool((visible & SELECTED).any())
        self._mirrored = bool(mirrored(state.matrices[(state.flags & HIDDEN) == 0]).any())
        self._state = state

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
        """Draw `view` (scene, outline, then marker) into the framebuffer of its size; GL may
        still be working when this returns (read_into or finish waits for it)."""
        check_view(view)
        with self._ctx:
            targets = self._targets_for(view.width, view.height)
            targets.draw.use()
            targets.draw.clear(*BACKGROUND, 1.0, depth=1.0)
            state = self._state
            checkerboard = None if state is None else state.checkerboard
            if checkerboard is not None:
                self._draw_checkerboard(view, checkerboard)
            elif state is not None and self._models:
                self._draw_models(view, targets, state)
            if targets.resolve is not targets.draw:
                self._ctx.copy_framebuffer(targets.resolve, targets.draw)
            if checkerboard is None and state is not None and self._selected:
                self._draw_outline(view, targets, state)
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
            for model in self._models.values():
                model.release()
            self._models.clear()
            self._state_texture.release()
            for program in self._programs.values():
                program.release()
            self._outline.release()
            if self._checker is not None:
                self._checker.release()
        self._ctx.release()

    def _mesh_program(self, planes: int, *, fade: bool) -> moderngl.Program:
        """The mesh program for `planes` cut planes, with their fade or without, compiled
        on first use (the context is current)."""
        program = self._programs.get((planes, fade))
        if program is None:
            fragment = shaders.mesh_fragment(planes, fade)
            vertex = shaders.mesh_vertex(planes)
            program = self._ctx.program(vertex_shader=vertex, fragment_shader=fragment)
            program["u_state"] = STATE_UNIT
            self._programs[planes, fade] = program
        return program

    def _draw_models(self, view: View, targets: _Targets, state: SceneState) -> None:
        program = self._program
        _set_camera(program, view)
        program["u_slots"] = self._state_texture.slots
        self._state_texture.use(STATE_UNIT)
        self._draw_pass(shaders.OPAQUE_PASS, 1.0, [(m, None) for m in self._models.values()])
        see_through = _models_with(self._models.values(), state, SEE_THROUGH)
        if self._see_through and see_through:
            self._ctx.enable(moderngl.BLEND)
            self._ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
            targets.draw.depth_mask = False
            try:
                self._draw_pass(shaders.SEE_THROUGH_PASS, SEE_THROUGH_ALPHA, see_through)
            finally:
                targets.draw.depth_mask = True
                self._ctx.disable(moderngl.BLEND)

    def _draw_outline(self, view: View, targets: _Targets, state: SceneState) -> None:
        selected = _models_with(self._models.values(), state, SELECTED)
        rect = selection_rect([model for model, _ in selected], state, view)
        if rect is None:
            return
        self._outline.begin_mask(targets.size, rect)
        self._ctx.disable(moderngl.DEPTH_TEST)
        try:
            self._draw_pass(shaders.SELECTION_PASS, 1.0, selected)
            self._ctx.disable(moderngl.CULL_FACE)
            self._outline.paint(targets.resolve, rect)
        finally:
            self._ctx.enable(moderngl.DEPTH_TEST)

    def _draw_pass(self, kind: int, alpha: float, models: list[_Chosen]) -> None:
        """Draw `models` with the mesh program, its clip distances (the cut planes) on."""
        self._program["u_pass"] = kind
        self._program["u_alpha"] = alpha
        planes = len(self._state.cut_planes) if self._state is not None else 0
        for i in range(planes):
            self._ctx.enable_direct(GL_CLIP_DISTANCE0 + i)
        try:
            for model, parts in models:
                model.render(self._ctx, self._program, self._mirrored, parts)
        finally:
            for i in range(planes):
                self._ctx.disable_direct(GL_CLIP_DISTANCE0 + i)

    def _draw_checkerboard(self, view: View, bounds: Bounds) -> None:
        if self._checker is None or self._checker.bounds != bounds:
            if self._checker is not None:
                self._checker.release()
            self._checker = _CheckerBox(self._checker_program, bounds)
        _set_camera(self._checker_program, view)
        self._ctx.disable(moderngl.CULL_FACE)
        self._checker.vao.render(moderngl.TRIANGLES)

    def _targets_for(self, width: int, height: int) -> _Targets:
        if self._targets is None or self._targets.size != (width, height):
            if self._targets is not None:
                self._targets.release()
            self._targets = _Targets(self._ctx, (width, height), self._samples)
        return self._targets


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


def _models_with(models: Iterable[GpuModel], state: SceneState, flag: int) -> list[_Chosen]:
    """The models with a visible part whose flags have `flag` (only they need its pass),
    each with those parts."""
    chosen: list[_Chosen] = []
    for model in models:
        flags = state.flags[model.first_slot : model.first_slot + model.part_count]
        parts = np.flatnonzero((flags & flag != 0) & (flags & HIDDEN == 0))
        if len(parts):
            chosen.append((model, parts))
    return chosen


def _set_camera(program: moderngl.Program, view: View) -> None:
    program["u_view"].write(view_matrix(view).T.tobytes())  # type: ignore[union-attr]
    projection = projection_matrix(view, flip_y=True)
    program["u_projection"].write(projection.T.tobytes())  # type: ignore[union-attr]


def _set_cut_planes(program: moderngl.Program, planes: tuple[CutPlaneData, ...]) -> None:
    """The planes as uniforms: (normal, -dot(normal, point)), and the fade colour and length
    where the program fades."""
    equations = np.zeros((len(planes), 4), dtype=np.float32)
    for i, plane in enumerate(planes):
        normal = np.asarray(plane.normal, dtype=np.float64)
        equations[i] = (*normal, -float(normal @ np.asarray(plane.point, dtype=np.float64)))
    program["u_planes"].write(equations.tobytes())  # type: ignore[union-attr]
    if "u_fade_lengths" in program:
        colours = np.array([plane.fade_colour for plane in planes], dtype=np.float32)
        lengths = np.array([plane.fade_length for plane in planes], dtype=np.float32)
        program["u_fade_colours"].write(colours.tobytes())  # type: ignore[union-attr]
        program["u_fade_lengths"].write(lengths.tobytes())  # type: ignore[union-attr]


def _fades(plane: CutPlaneData) -> bool:
    """Whether the plane tints anything: a fade length and a fade colour that shows."""
    return plane.fade_length > 0.0 and plane.fade_colour[3] > 0.0


class _CheckerBox:
    """The checkered box drawn in `bounds` instead of the models (see checkerboard.py)."""

    def __init__(self, program: moderngl.Program, bounds: Bounds) -> None:
        self.bounds = bounds
        box = checker_box(np.array(bounds, dtype=np.float32))
        ctx = program.ctx
        arrays = (box.positions, box.normals, box.cells, box.indices)
        self._buffers = [ctx.buffer(array) for array in arrays]
        positions, normals, cells, indices = self._buffers
        content = [
            (positions, "3f", "in_position"),
            (normals, "3f", "in_normal"),
            (cells, "2f", "in_cell"),
        ]
        self.vao = ctx.vertex_array(program, content, index_buffer=indices, index_element_size=4)

    def release(self) -> None:
        self.vao.release()
        for buffer in self._buffers:
            buffer.release()


def _draw_marker(framebuffer: Any, value: int, height: int) -> None:
    """Exact blocks, no shading: one scissored clear per bit. The picture is upside down in
    GL (see projection_matrix's flip_y), so the image's bottom rows are GL's top rows."""
    for index, bit in enumerate(marker_bits(value)):
        level = 1.0 if bit else 0.0
        viewport = (index * BLOCK, height - BLOCK, BLOCK, BLOCK)
        framebuffer.clear(level, level, level, 1.0, viewport=viewport)
