#!/usr/bin/env python3
"""Renderer benchmark for RenderHub; prints one JSON object on stdout.

For each scene size (procedural height fields of exactly N triangles) it builds the model's
geometry as the host does (the runtime's geometry builder), starts a RendererProcess (spawn +
GL context through EGL), adds the model, sets its state and renders
frames one after another from a camera orbiting the scene, through the same path the host
uses (request over the pipe, pixels in shared memory). It reports frames per second, the
renderer's own time per frame (draw + read-back) and the hand-off on top, the event loop's
lag meanwhile, start-up time and which GL renderer ran (llvmpipe, or the GPU).

`--culling` measures instead what back-face culling saves: a closed torus knot of the first
`--triangles` size (100k by default) marked single-sided and marked double-sided, in two
renderer processes that render the same orbit frame in turn; it reports each one's median
frame time (draw + read-back) and the ratio (target: culled >= 1.4x faster).

`--scene` measures the run-time scene's features at 720p on a model of 10 closed,
single-sided torus knots (parts) of the first `--triangles` size in all: the frame time with
one cut plane and one selected part (target: well under 33 ms), what the outline pass, the
see-through pass and a cut plane (through the middle, and one cutting nothing) add to a plain
frame (in this process, the variants drawn in turn on the same frames), and, through the
renderer process, "set_state + render" of a 1000-part model whose every matrix changes each
frame against a render alone (the new state is in that very frame).

Runs unchanged with or without a GPU; EGL picks the device. Progress goes to stderr:

    .venv/bin/python bench/render.py [--quick] [--triangles 100000,1000000] [--seconds 6]
    .venv/bin/python bench/render.py --culling [--triangles 100000] [--min-frames 60]
    .venv/bin/python bench/render.py --scene [--triangles 100000] [--min-frames 40]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import trimesh

from figures import emit, log, new_report, summary
from renderhub.host.frames import View
from renderhub.host.render import (
    SEE_THROUGH,
    SELECTED,
    CutPlaneData,
    ModelGeometry,
    RendererProcess,
    SceneState,
)
from renderhub.host.runtime.geometry_builder import model_geometry, part_sources
from renderhub.host.scene import LoadedModel, mark_sidedness
from renderhub.samples.procedural import make_torus_knot, make_triangle_mesh

TARGET = {"fps_at_100k_triangles_1280x720_min": 30.0}
CULLING_SPEEDUP_MIN = 1.4
CULLING_TARGET = {"culled_speedup_at_100k_closed_triangles_min": CULLING_SPEEDUP_MIN}
SCENE_FRAME_MS_MAX = 33.3
SCENE_TARGET = {
    "frame_ms_100k_cut_plane_selected_1280x720_max": SCENE_FRAME_MS_MAX,
    "set_state_1000_parts": "applied in the next frame",
}
SCENE_PARTS = 10
MANY_PARTS = 1000
KNOT_SIDES = 20  # triangles = 2 * segments * sides
ORBIT_FRAMES = 120  # one turn around the scene every 120 frames
WARMUP_FRAMES = 5


@dataclass(frozen=True, slots=True)
class BenchModel:
    """A model as the host hands it to the renderer (its parts in place: the identity state
    places them), with its bounds for the camera."""

    geometry: ModelGeometry
    bounds: np.ndarray

    @property
    def state(self) -> SceneState:
        return SceneState.identity(self.geometry.part_count)


def host_model(model: LoadedModel) -> tuple[BenchModel, float]:
    """`model` through the runtime's geometry builder, and the seconds that took."""
    started = time.perf_counter()
    geometry = model_geometry(part_sources(model))
    took = time.perf_counter() - started
    bounds = model.bounds
    assert bounds is not None
    return BenchModel(geometry, bounds), took


def make_scene(triangles: int) -> tuple[BenchModel, float]:
    """The benchmark height field and the seconds its geometry took to build."""
    mesh = make_triangle_mesh(triangles)
    return host_model(LoadedModel.of_meshes(f"bench-{triangles}", (mesh,)))


def closed_scene(triangles: int, *, double_sided: bool) -> BenchModel:
    """A closed torus knot of at least `triangles` triangles, marked as a loader would."""
    mesh = make_torus_knot(segments=math.ceil(triangles / (2 * KNOT_SIDES)), sides=KNOT_SIDES)
    mark_sidedness(mesh, double_sided=double_sided)
    return host_model(LoadedModel.of_meshes("bench-knot", (mesh,)))[0]


async def measure_culling(args: argparse.Namespace) -> dict[str, Any]:
    """Median frame time of the same closed mesh drawn double-sided and single-sided."""
    triangles = args.triangles[0]
    scenes = {
        "double_sided": closed_scene(triangles, double_sided=True),
        "single_sided": closed_scene(triangles, double_sided=False),
    }
    log(f"culling: {scenes['single_sided'].geometry.triangles:,}-triangle closed torus knot")
    renderers = {name: await start_renderer(model, args.samples) for name, model in scenes.items()}
    times: dict[str, list[float]] = {name: [] for name in scenes}
    try:
        bounds = scenes["double_sided"].bounds
        started = time.perf_counter()
        frame = -WARMUP_FRAMES
        while time.perf_counter() - started < args.seconds or frame < args.min_frames:
            view = orbit_view(bounds, frame, args.width, args.height)
            for name, renderer in renderers.items():  # in turn: both see the same load
                rendered = await renderer.render(view)
                if frame >= 0:
                    times[name].append(rendered.render_ms)
            frame += 1
        info = renderers["single_sided"].info()
    finally:
        for renderer in renderers.values():
            await renderer.aclose()
    culled, unculled = (statistics.median(times[n]) for n in ("single_sided", "double_sided"))
    log(f"  double-sided {unculled:.1f} ms, single-sided {culled:.1f} ms")
    return {
        "triangles": scenes["single_sided"].geometry.triangles,
        "frames": len(times["single_sided"]),
        "double_sided_render_ms": summary(times["double_sided"]),
        "single_sided_render_ms": summary(times["single_sided"]),
        "speedup": round(unculled / culled, 2),
        "renderer": {k: v for k, v in info.items() if not k.endswith("_ms")},
    }


def orbit_view(bounds: np.ndarray, frame: int, width: int, height: int) -> View:
    """A camera circling the scene 35 degrees above it, the whole scene in sight.

    The scenes are height fields in the xy plane (z up), so every frame sees all of the
    surface from above: a steady load rather than cheap edge-on frames."""
    centre = bounds.mean(axis=0)
    radius = float(np.linalg.norm(bounds[1] - bounds[0])) * 1.2
    angle = 2.0 * math.pi * frame / ORBIT_FRAMES
    elevation = math.radians(35.0)
    offset = (
        radius * math.cos(elevation) * math.cos(angle),
        radius * math.cos(elevation) * math.sin(angle),
        radius * math.sin(elevation),
    )
    eye = (centre[0] + offset[0], centre[1] + offset[1], centre[2] + offset[2])
    target = (float(centre[0]), float(centre[1]), float(centre[2]))
    return View(
        eye=eye,
        target=target,
        up=(0.0, 0.0, 1.0),
        width=width,
        height=height,
        marker=frame & 0xFFFF,
    )


async def start_renderer(model: BenchModel, samples: int | None) -> RendererProcess:
    """A renderer process drawing `model` as model 0 from slot 0, in place."""
    renderer = await RendererProcess.launch(samples=samples)
    try:
        await renderer.add_model(0, 0, model.geometry)
    except BaseException:
        await renderer.aclose()
        raise
    renderer.set_state(model.state)
    return renderer


def breakdown(model: BenchModel, args: argparse.Namespace) -> dict[str, Any]:
    """Where a frame's time goes, measured in this process with the same renderer code:
    vertex work alone (camera turned away: every triangle clipped), plus triangle setup
    (a 160x120 frame: all triangles, few pixels), the full draw, the read-back. `cpu_ms`
    counts the CPU time of all the process's threads (llvmpipe rasterises in a pool)."""
    from renderhub.host.render.gl import GlRenderer

    renderer = GlRenderer(samples=args.samples)
    renderer.add_model(0, 0, model.geometry)
    renderer.set_state(model.state)
    buffer = bytearray(args.width * args.height * 3)
    phases: dict[str, list[float]] = {"geometry": [], "setup": [], "draw": [], "read_back": []}
    cpu: list[float] = []
    try:
        for frame in range(args.breakdown_frames):
            view = orbit_view(model.bounds, frame * 7, args.width, args.height)
            phases["geometry"].append(_timed(renderer, _turned_away(view)))
            phases["setup"].append(_timed(renderer, orbit_view(model.bounds, frame * 7, 160, 120)))
            cpu_before = time.process_time()
            phases["draw"].append(_timed(renderer, view))
            cpu.append((time.process_time() - cpu_before) * 1000.0)
            started = time.perf_counter()
            renderer.read_into(buffer)
            phases["read_back"].append((time.perf_counter() - started) * 1000.0)
    finally:
        renderer.release()
    result = {f"{name}_ms": round(statistics.median(v), 2) for name, v in phases.items()}
    result["draw_cpu_ms"] = round(statistics.median(cpu), 2)
    return result


def _timed(renderer: Any, view: View) -> float:
    started = time.perf_counter()
    renderer.draw(view)
    renderer.finish()
    return (time.perf_counter() - started) * 1000.0


def _turned_away(view: View) -> View:
    eye = np.array(view.eye)
    behind = eye + (eye - np.array(view.target))
    target = (float(behind[0]), float(behind[1]), float(behind[2]))
    return View(eye=view.eye, target=target, up=view.up, width=view.width, height=view.height)


class LoopLag:
    """How late a 5 ms timer fires on the event loop while frames render."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lags_ms.append((time.perf_counter() - before - 0.005) * 1000.0)


async def measure(triangles: int, args: argparse.Namespace) -> dict[str, Any]:
    log(f"{triangles:,} triangles: building the scene")
    model, geometry_s = make_scene(triangles)
    renderer = await start_renderer(model, args.samples)
    try:
        info = renderer.info()
        log(f"  renderer {info['renderer']!r} started in {info['startup_ms']} ms")
        for frame in range(WARMUP_FRAMES):
            await renderer.render(orbit_view(model.bounds, frame, args.width, args.height))
        result = await _measure_frames(renderer, model, triangles, geometry_s, args)
    finally:
        await renderer.aclose()
    if args.breakdown_frames:
        log("  breakdown (in this process)")
        result["breakdown_median"] = breakdown(model, args)
    return result


async def _measure_frames(
    renderer: RendererProcess,
    model: BenchModel,
    triangles: int,
    geometry_s: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    render_ms: list[float] = []
    hand_off_ms: list[float] = []
    child = psutil.Process(renderer.pid)
    child.cpu_percent()
    started = time.perf_counter()
    frames = 0
    with LoopLag() as lag:
        while time.perf_counter() - started < args.seconds or frames < args.min_frames:
            frame = await renderer.render(orbit_view(model.bounds, frames, args.width, args.height))
            render_ms.append(frame.render_ms)
            hand_off_ms.append(frame.extra["round_trip_ms"] - frame.render_ms)
            frames += 1
    elapsed = time.perf_counter() - started
    fps = frames / elapsed
    log(f"  {fps:.1f} fps, render median {statistics.median(render_ms):.1f} ms")
    info = renderer.info()
    return {
        "triangles": triangles,
        "frames": frames,
        "seconds": round(elapsed, 2),
        "fps": round(fps, 1),
        "render_ms": summary(render_ms),
        "hand_off_ms": summary(hand_off_ms),
        "loop_lag_ms": summary(lag.lags_ms),
        "renderer_cpu_percent": round(child.cpu_percent(), 1),
        "startup_ms": info["startup_ms"],
        "upload_ms": info["upload_ms"],
        "add_model_ms": info["add_model_ms"],
        "geometry_s": round(geometry_s, 3),
        "renderer": info,
    }


def knots_model(triangles: int, parts: int) -> BenchModel:
    """`parts` closed torus knots side by side (one node of `parts` meshes, so one part
    each), about `triangles` triangles in all, single-sided, through the geometry builder."""
    segments = math.ceil(triangles / parts / (2 * KNOT_SIDES))
    knot = make_torus_knot(segments=segments, sides=KNOT_SIDES)
    columns = math.ceil(math.sqrt(parts))
    step = float(np.ptp(knot.vertices, axis=0).max()) * 1.1
    knots = []
    for i in range(parts):
        placed = knot.copy()
        placed.apply_translation(((i % columns) * step, (i // columns) * step, 0.0))
        mark_sidedness(placed, double_sided=False)
        knots.append(placed)
    return host_model(LoadedModel.of_meshes("bench-knots", tuple(knots)))[0]


def boxes_model(parts: int) -> ModelGeometry:
    """`parts` unit cubes, all in place (their matrices spread them out), double-sided:
    one mesh instanced `parts` times, so one part each."""
    cube = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    mark_sidedness(cube, double_sided=True)
    return host_model(LoadedModel.of_meshes("bench-boxes", (cube,) * parts))[0].geometry


def scene_states(bounds: np.ndarray, parts: int) -> dict[str, SceneState]:
    """The variants timed against each other: plain, one cut plane (through the middle,
    fading), the same plane moved below the scene (it cuts nothing: what a plane itself
    costs, as clipping half the scene away saves more than that), one part selected, one
    part see-through, and the cut plane with the selection."""
    plain = SceneState.identity(parts)
    centre = tuple(float(v) for v in bounds.mean(axis=0))
    plane = CutPlaneData(centre, (0.6, 0.8, 0.0), 0.05, (1.0, 0.5, 0.0, 1.0))  # type: ignore[arg-type]
    below = tuple(float(v) - 1.0 for v in bounds[0])
    nothing_cut = replace(plane, point=below)  # type: ignore[arg-type]
    selected = plain.flags.copy()
    selected[parts // 2] = SELECTED
    see_through = plain.flags.copy()
    see_through[parts // 2] = SEE_THROUGH
    return {
        "plain": plain,
        "cut_plane": replace(plain, cut_planes=(plane,)),
        "cut_plane_cutting_nothing": replace(plain, cut_planes=(nothing_cut,)),
        "selected": replace(plain, flags=selected),
        "see_through": replace(plain, flags=see_through),
        "cut_plane_selected": replace(plain, cut_planes=(plane,), flags=selected),
    }


def scene_passes(model: BenchModel, args: argparse.Namespace) -> dict[str, Any]:
    """Draw + finish time of each variant of scene_states, in turn on the same frames."""
    from renderhub.host.render.gl import GlRenderer

    renderer = GlRenderer(samples=args.samples)
    states = scene_states(model.bounds, model.geometry.part_count)
    times: dict[str, list[float]] = {name: [] for name in states}
    try:
        renderer.add_model(0, 0, model.geometry)
        for frame in range(-WARMUP_FRAMES, args.min_frames):
            view = orbit_view(model.bounds, frame * 3, args.width, args.height)
            for name, state in states.items():
                renderer.set_state(state)
                took = _timed(renderer, view)
                if frame >= 0:
                    times[name].append(took)
    finally:
        renderer.release()
    medians = {name: statistics.median(values) for name, values in times.items()}
    result: dict[str, Any] = {f"{name}_ms": summary(values) for name, values in times.items()}
    for name in ("cut_plane", "cut_plane_cutting_nothing", "selected", "see_through"):
        result[f"{name}_cost_ms"] = round(medians[name] - medians["plain"], 2)
    return result


async def measure_scene(args: argparse.Namespace) -> dict[str, Any]:
    """The run-time scene's figures (see the module's docstring)."""
    model = knots_model(args.triangles[0], SCENE_PARTS)
    size = f"{args.width}x{args.height}"
    log(f"scene: {model.geometry.triangles:,} triangles in {SCENE_PARTS} parts, {size}")
    states = scene_states(model.bounds, SCENE_PARTS)
    renderer = await RendererProcess.launch(samples=args.samples)
    try:
        await renderer.add_model(0, 0, model.geometry)
        renderer.set_state(states["cut_plane_selected"])
        frames = [
            await renderer.render(orbit_view(model.bounds, f, args.width, args.height))
            for f in range(-WARMUP_FRAMES, args.min_frames)
        ]
        frame_ms = [frame.render_ms for frame in frames[WARMUP_FRAMES:]]
        info = renderer.info()
    finally:
        await renderer.aclose()
    log(f"  cut plane + selection: {statistics.median(frame_ms):.1f} ms per frame")
    log("  passes (in this process)")
    passes = scene_passes(model, args)
    log("  1000 parts: set_state + render")
    many = await measure_many_parts(args)
    return {
        "triangles": model.geometry.triangles,
        "parts": SCENE_PARTS,
        "cut_plane_selected_render_ms": summary(frame_ms),
        "upload_ms": info["upload_ms"],
        "add_model_ms": info["add_model_ms"],
        "passes": passes,
        "many_parts": many,
        "renderer": {k: v for k, v in info.items() if not k.endswith("_ms")},
    }


async def measure_many_parts(args: argparse.Namespace) -> dict[str, Any]:
    """Round trip of render alone and of set_state (all 1000 matrices new) + render, in turn;
    each new state is drawn in the frame asked for right after it: its grid turns a step,
    and the frame shows the turned grid (checked by its pixels)."""
    geometry = boxes_model(MANY_PARTS)
    renderer = await RendererProcess.launch(samples=args.samples)
    times: dict[str, list[float]] = {"render_only": [], "set_state_and_render": []}
    applied = 0
    try:
        await renderer.add_model(0, 0, geometry)
        view = View(
            eye=(0.0, 0.0, 60.0), target=(0.0, 0.0, 0.0), width=args.width, height=args.height
        )
        for step in range(-WARMUP_FRAMES, args.min_frames):
            began = time.perf_counter()
            renderer.set_state(_grid_state(step))
            frame = await renderer.render(view)
            changed = (time.perf_counter() - began) * 1000.0
            applied += int(_grid_drawn(frame.pixels, step))
            began = time.perf_counter()
            await renderer.render(view)
            unchanged = (time.perf_counter() - began) * 1000.0
            if step >= 0:
                times["set_state_and_render"].append(changed)
                times["render_only"].append(unchanged)
    finally:
        await renderer.aclose()
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "parts": MANY_PARTS,
        "render_only_round_trip_ms": summary(times["render_only"]),
        "set_state_and_render_round_trip_ms": summary(times["set_state_and_render"]),
        "set_state_cost_ms": round(medians["set_state_and_render"] - medians["render_only"], 2),
        "frames_showing_their_new_state": f"{applied}/{args.min_frames + WARMUP_FRAMES}",
    }


def _grid_state(step: int) -> SceneState:
    """1000 parts in a 40 x 25 grid, shifted a whole cell sideways every odd step: even
    steps have a part at the picture's centre, odd ones a gap there."""
    slots = np.arange(MANY_PARTS)
    matrices = np.tile(np.eye(4, dtype=np.float32), (MANY_PARTS, 1, 1))
    shift = 0.5 if step % 2 else 0.0
    matrices[:, 0, 3] = (slots % 40 - 20 + shift) * 2.0
    matrices[:, 1, 3] = (slots // 40 - 12) * 2.0
    return replace(SceneState.identity(MANY_PARTS), matrices=matrices)


def _grid_drawn(pixels: np.ndarray, step: int) -> bool:
    from renderhub.host.render.gl import BACKGROUND

    centre = pixels[pixels.shape[0] // 2, pixels.shape[1] // 2].astype(int)
    covered = np.abs(centre - np.round(np.array(BACKGROUND) * 255)).sum() > 24
    return bool(covered) is (step % 2 == 0)


def machine_facts() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "lp_num_threads": os.environ.get("LP_NUM_THREADS"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scenes = [await measure(triangles, args) for triangles in args.triangles]
    renderer = {k: v for k, v in scenes[0].pop("renderer").items() if not k.endswith("_ms")}
    for scene in scenes[1:]:
        scene.pop("renderer")
    return {"renderer": renderer, "scenes": scenes}


def verdict(scenes: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    near_100k = [s for s in scenes if 90_000 <= s["triangles"] <= 110_000]
    fps = near_100k[0]["fps"] if near_100k else None
    at_720p = (args.width, args.height) == (1280, 720)
    return {
        "fps_at_100k": fps,
        "meets_target": None if fps is None or not at_720p else fps >= 30.0,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="Smoke run: 2 s per scene.")
    add("--triangles", type=_int_list, default=[100_000, 1_000_000], help="[100000,1000000]")
    add("--seconds", type=float, default=None, help="Measured seconds per scene [8; quick: 2].")
    add("--min-frames", type=int, default=20, help="At least this many frames per scene [20].")
    add("--width", type=int, default=1280)
    add("--height", type=int, default=720)
    add("--samples", type=int, default=None, help="MSAA samples [4 on a GPU, 0 on llvmpipe].")
    add(
        "--breakdown-frames", type=int, default=15, help="Frames per phase breakdown [15; 0: skip]."
    )
    add("--output", type=Path, help="Also write the JSON to this file.")
    add("--culling", action="store_true", help="Time a closed mesh culled vs not culled.")
    add("--scene", action="store_true", help="Time cut planes, outline, see-through, state.")
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 8.0
    return args


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = datetime.now(UTC)
    report = new_report(
        "renderhub-renderer",
        started,
        machine_facts(),
        args,
        target=TARGET,
    )
    if args.culling:
        report["target"] = CULLING_TARGET
    if args.scene:
        report["target"] = SCENE_TARGET
    try:
        if args.scene:
            report["scene"] = asyncio.run(measure_scene(args))
        elif args.culling:
            report["culling"] = asyncio.run(measure_culling(args))
        else:
            report.update(asyncio.run(run(args)))
    except KeyboardInterrupt:
        log("interrupted; renderer processes were closed")
        return 130
    if args.scene:
        scene = report["scene"]
        frame_ms = scene["cut_plane_selected_render_ms"]["median"]
        report["verdict"] = {
            "cut_plane_selected_frame_ms": frame_ms,
            "meets_target": frame_ms < SCENE_FRAME_MS_MAX,
            "set_state_applied": scene["many_parts"]["frames_showing_their_new_state"],
        }
    elif args.culling:
        speedup = report["culling"]["speedup"]
        report["verdict"] = {"speedup": speedup, "meets_target": speedup >= CULLING_SPEEDUP_MIN}
    else:
        report["verdict"] = verdict(report["scenes"], args)
    emit(report, started, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
