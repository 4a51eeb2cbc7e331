"""One model's geometry on the GPU: its buffers, one vertex array, and its draw calls.

A vertex array binds the model's vertices (position, normal, colour, part) and indices to
a mesh program (one per program it is drawn with: the renderer has one per number of cut
planes, with and without their fade); drawing it sets `u_first_slot`, so that the shader
finds each part's row of the state texture. Double-sided triangles are drawn without face
culling, single-sided ones (the last `single_sided_indices` indices) with back faces culled.

When each range's triangles come grouped by part, in part order (as the runtime builds
them), the passes that draw only a few parts (see-through, the selection mask) draw just
those parts' index ranges; otherwise they draw the whole model and the shader skips the
other parts' vertices.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from renderhub.host.render.geometry import ModelGeometry

# Values of the shader's u_side.
ANY_SIDE, NOT_MIRRORED, MIRRORED = -1, 0, 1


@dataclass(frozen=True, slots=True)
class Draw:
    """One draw call over a range of the index buffer: `count` indices from `first`, with
    back faces culled or not."""

    culled: bool
    first: int
    count: int


class GpuModel:
    """A model uploaded to `ctx`; `release` frees its buffers and vertex arrays."""

    def __init__(self, ctx: moderngl.Context, first_slot: int, geometry: ModelGeometry) -> None:
        self.first_slot = first_slot
        self.part_count = geometry.part_count
        self.triangles = geometry.triangles
        self.draws = model_draws(geometry)
        self.part_bounds = part_bounds(geometry)
        self.part_ranges = [part_ranges(geometry, draw) for draw in self.draws]
        self._vaos: dict[int, moderngl.VertexArray] = {}  # by program (its GL name)
        self._buffers: list[moderngl.Buffer] = []
        self._content: list[tuple[moderngl.Buffer, str, str]] = []
        if self.draws:  # GL refuses empty buffers; a model without triangles draws nothing
            self._upload(ctx, geometry)

    def _upload(self, ctx: moderngl.Context, geometry: ModelGeometry) -> None:
        self._buffers = [
            ctx.buffer(np.ascontiguousarray(geometry.positions, dtype=np.float32)),
            ctx.buffer(np.ascontiguousarray(geometry.normals, dtype=np.float32)),
            ctx.buffer(np.ascontiguousarray(geometry.colours, dtype=np.uint8)),
            ctx.buffer(np.ascontiguousarray(geometry.parts, dtype=np.uint16)),
        ]
        positions, normals, colours, parts = self._buffers
        self._content = [
            (positions, "3f", "in_position"),
            (normals, "3f", "in_normal"),
            (colours, "4f1", "in_colour"),
            (parts, "1u2", "in_part"),
        ]
        self._buffers.append(ctx.buffer(np.ascontiguousarray(geometry.indices, dtype=np.uint32)))

    def _vao(self, program: moderngl.Program) -> moderngl.VertexArray:
        """The vertex array binding this model to `program`, made on its first draw."""
        vao = self._vaos.get(program.glo)
        if vao is None:
            indices = self._buffers[-1]
            vao = program.ctx.vertex_array(
                program, self._content, index_buffer=indices, index_element_size=4
            )
            self._vaos[program.glo] = vao
        return vao

    def render(
        self,
        ctx: moderngl.Context,
        program: moderngl.Program,
        mirrored: bool,
        parts: np.ndarray | None = None,
    ) -> None:
        """Draw the model's triangles with `program` (its other uniforms already set): all
        of them, or those of `parts` (sorted part numbers) where the ranges are known.
        `mirrored`: some part's matrix mirrors, so a culled range takes two draws, one per
        winding (see shaders.py)."""
        if not self._buffers:
            return
        vao = self._vao(program)
        program["u_first_slot"] = self.first_slot
        for draw, ranges in zip(self.draws, self.part_ranges, strict=True):
            spans = [(draw.first, draw.count)]
            if parts is not None and ranges is not None:
                spans = _spans(ranges, parts)
            if not draw.culled:
                ctx.disable(moderngl.CULL_FACE)
                _draw(vao, spans, ANY_SIDE)
                continue
            ctx.enable(moderngl.CULL_FACE)
            if not mirrored:
                _draw(vao, spans, ANY_SIDE)
                continue
            _draw(vao, spans, NOT_MIRRORED)
            ctx.cull_face = "front"
            try:
                _draw(vao, spans, MIRRORED)
            finally:
                ctx.cull_face = "back"

    def release(self) -> None:
        for vao in self._vaos.values():
            vao.release()
        self._vaos.clear()
        self._content.clear()
        for buffer in self._buffers:
            buffer.release()
        self._buffers.clear()


def _draw(vao: moderngl.VertexArray, spans: list[tuple[int, int]], side: int) -> None:
    vao.program["u_side"] = side
    for first, count in spans:
        vao.render(moderngl.TRIANGLES, vertices=count, first=first)


def model_draws(geometry: ModelGeometry) -> list[Draw]:
    """The double-sided range without culling, then the single-sided one culled."""
    double, single = geometry.double_sided_indices, geometry.single_sided_indices
    draws = [Draw(culled=False, first=0, count=double), Draw(True, first=double, count=single)]
    return [draw for draw in draws if draw.count]


def part_bounds(geometry: ModelGeometry) -> np.ndarray:
    """Each part's box in its local space: float32 (part_count, 2, 3), [min, max]; a part
    without vertices gets min = +inf, max = -inf."""
    bounds = np.empty((geometry.part_count, 2, 3), dtype=np.float32)
    bounds[:, 0], bounds[:, 1] = np.inf, -np.inf
    parts = np.asarray(geometry.parts, dtype=np.int64)
    if not len(parts):
        return bounds
    order = None if bool((np.diff(parts) >= 0).all()) else np.argsort(parts, kind="stable")
    positions = np.asarray(geometry.positions, dtype=np.float32)
    if order is not None:
        parts, positions = parts[order], positions[order]
    starts = np.flatnonzero(np.r_[True, parts[1:] != parts[:-1]])
    present = parts[starts].astype(np.int64)
    inside = present < geometry.part_count
    bounds[present[inside], 0] = np.minimum.reduceat(positions, starts, axis=0)[inside]
    bounds[present[inside], 1] = np.maximum.reduceat(positions, starts, axis=0)[inside]
    return bounds


def part_ranges(geometry: ModelGeometry, draw: Draw) -> np.ndarray | None:
    """Where each part's triangles lie within `draw`'s range: int64 (part_count + 1,)
    boundaries in indices (part p: [bounds[p], bounds[p + 1])), or None when the range's
    triangles are not grouped by part in part order. A triangle's part is its first
    vertex's."""
    indices = np.asarray(geometry.indices)[draw.first : draw.first + draw.count : 3]
    triangle_parts = np.asarray(geometry.parts, dtype=np.int64)[indices]
    if len(triangle_parts) > 1 and not bool((np.diff(triangle_parts) >= 0).all()):
        return None
    edges = np.searchsorted(triangle_parts, np.arange(geometry.part_count + 1), side="left")
    return draw.first + 3 * edges.astype(np.int64)


def _spans(ranges: np.ndarray, parts: np.ndarray) -> list[tuple[int, int]]:
    """The index spans (first, count) of `parts` (sorted), adjacent ones merged."""
    starts, ends = ranges[parts], ranges[parts + 1]
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return []
    breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1
    firsts = starts[np.r_[0, breaks]]
    lasts = ends[np.r_[breaks - 1, len(ends) - 1]]
    return [(int(a), int(b - a)) for a, b in zip(firsts, lasts, strict=True)]
