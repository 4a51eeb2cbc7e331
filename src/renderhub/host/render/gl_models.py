"""One model's geometry on the GPU: its buffers, one vertex array, and its draw calls.

The vertex array binds the model's vertices (position, normal, colour, part) and indices
to the one mesh program; drawing it sets `u_first_slot`, so that the shader finds each
part's row of the state texture. Double-sided triangles are drawn without face culling,
single-sided ones (the last `single_sided_indices` indices) with back faces culled.

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
    """A model uploaded to `program`'s context; `release` frees its buffers."""

    def __init__(self, program: moderngl.Program, first_slot: int, geometry: ModelGeometry) -> None:
        self.first_slot = first_slot
        self.part_count = geometry.part_count
        self.triangles = geometry.triangles
        self.draws = model_draws(geometry)
        self.part_bounds = part_bounds(geometry)
        self.part_ranges = [part_ranges(geometry, draw) for draw in self.draws]
        self._vao: moderngl.VertexArray | None = None
        self._buffers: list[moderngl.Buffer] = []
        if self.draws:  # GL refuses empty buffers; a model without triangles draws nothing
            self._upload(program, geometry)

    def _upload(self, program: moderngl.Program, geometry: ModelGeometry) -> None:
        ctx = program.ctx
        self._buffers = [
            ctx.buffer(np.ascontiguousarray(geometry.positions, dtype=np.float32)),
            ctx.buffer(np.ascontiguousarray(geometry.normals, dtype=np.float32)),
            ctx.buffer(np.ascontiguousarray(geometry.colours, dtype=np.uint8)),
            ctx.buffer(np.ascontiguousarray(geometry.parts, dtype=np.uint16)),
        ]
        positions, normals, colours, parts = self._buffers
        content = [
            (positions, "3f", "in_position"),
            (normals, "3f", "in_normal"),
            (colours, "4f1", "in_colour"),
            (parts, "1u2", "in_part"),
        ]
        indices = ctx.buffer(np.ascontiguousarray(geometry.indices, dtype=np.uint32))
        self._buffers.append(indices)
        self._vao = ctx.vertex_array(program, content, index_buffer=indices, index_element_size=4)

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
        if self._vao is None:
            return
        program["u_first_slot"] = self.first_slot
        for draw, ranges in zip(self.draws, self.part_ranges, strict=True):
            spans = [(draw.first, draw.count)]
            if parts is not None and ranges is not None:
                spans = _spans(ranges, parts)
            if not draw.culled:
                ctx.disable(moderngl.CULL_FACE)
                self._draw(program, spans, ANY_SIDE)
                continue
            ctx.enable(moderngl.CULL_FACE)
            if not mirrored:
                self._draw(program, spans, ANY_SIDE)
                continue
            self._draw(program, spans, NOT_MIRRORED)
            ctx.cull_face = "front"
            try:
                self._draw(program, spans, MIRRORED)
            finally:
                ctx.cull_face = "back"

    def _draw(self, program: moderngl.Program, spans: list[tuple[int, int]], side: int) -> None:
        assert self._vao is not None
        program["u_side"] = side
        for first, count in spans:
            self._vao.render(moderngl.TRIANGLES, vertices=count, first=first)

    def release(self) -> None:
        if self._vao is not None:
            self._vao.release()
            self._vao = None
        for buffer in self._buffers:
            buffer.release()
        self._buffers.clear()


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
