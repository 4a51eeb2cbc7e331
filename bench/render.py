#!/usr/bin/env python3
"""Renderer benchmark for RenderHub; prints one JSON object on stdout.

For each scene size (procedural height fields of exactly N triangles) it extracts the
SceneData, starts a RendererProcess (spawn + GL context through EGL + upload) and renders
frames one after another from a camera orbiting the scene, through the same path the host
uses (request over the pipe, pixels in shared memory). It reports frames per second, the
renderer's own time per frame (draw + read-back) and the hand-off on top, the event loop's
lag meanwhile, start-up time and which GL renderer ran (llvmpipe, or the GPU).

`--culling` measures instead what back-face culling saves: a closed torus knot of the first
`--triangles` size (100k by default) marked single-sided and marked double-sided, in two
renderer processes that render the same orbit frame in turn; it reports each one's median
frame time (draw + read-back) and the ratio (target: culled >= 1.4x faster).

Runs unchanged with or without a GPU; EGL picks the device. Progress goes to stderr:

    .venv/bin/python bench/render.py [--quick] [--triangles 100000,1000000] [--seconds 6]
    .venv/bin/python bench/render.py --culling [--triangles 100000] [--min-frames 60]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from figures import emit, log, summary
from renderhub.host.frames import View
from renderhub.host.meshes import build_scene
from renderhub.host.render import RendererProcess, SceneData, scene_data
from renderhub.host.scene import LoadedModel, mark_sidedness
from renderhub.samples.procedural import make_torus_knot, make_triangle_mesh

TARGET = {"fps_at_100k_triangles_1280x720_min": 30.0}
CULLING_SPEEDUP_MIN = 1.4
CULLING_TARGET = {"culled_speedup_at_100k_closed_triangles_min": CULLING_SPEEDUP_MIN}
KNOT_SIDES = 20  # triangles = 2 * segments * sides
ORBIT_FRAMES = 120  # one turn around the scene every 120 frames
WARMUP_FRAMES = 5


def make_scene(triangles: int) -> tuple[SceneData, float]:
    """The benchmark scene and the seconds scene_data() took."""
    mesh = make_triangle_mesh(triangles)
    scene = build_scene([LoadedModel.of_meshes(f"bench-{triangles}", (mesh,))])
    started = time.perf_counter()
    data = scene_data(scene)
    return data, time.perf_counter() - started


def closed_scene(triangles: int, *, double_sided: bool) -> SceneData:
    """A closed torus knot of at least `triangles` triangles, marked as a loader would."""
    mesh = make_torus_knot(segments=math.ceil(triangles / (2 * KNOT_SIDES)), sides=KNOT_SIDES)
    mark_sidedness(mesh, double_sided=double_sided)
    return scene_data(build_scene([LoadedModel.of_meshes("bench-knot", (mesh,))]))


async def measure_culling(args: argparse.Namespace) -> dict[str, Any]:
    """Median frame time of the same closed mesh drawn double-sided and single-sided."""
    triangles = args.triangles[0]
    scenes = {
        "double_sided": closed_scene(triangles, double_sided=True),
        "single_sided": closed_scene(triangles, double_sided=False),
    }
    log(f"culling: {scenes['single_sided'].triangles:,}-triangle closed torus knot")
    renderers = {
        name: await RendererProcess.start(data, samples=args.samples)
        for name, data in scenes.items()
    }
    times: dict[str, list[float]] = {name: [] for name in scenes}
    try:
        data = scenes["double_sided"]
        started = time.perf_counter()
        frame = -WARMUP_FRAMES
        while time.perf_counter() - started < args.seconds or frame < args.min_frames:
            view = orbit_view(data, frame, args.width, args.height)
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
        "triangles": scenes["single_sided"].triangles,
        "frames": len(times["single_sided"]),
        "double_sided_render_ms": summary(times["double_sided"]),
        "single_sided_render_ms": summary(times["single_sided"]),
        "speedup": round(unculled / culled, 2),
        "renderer": {k: v for k, v in info.items() if not k.endswith("_ms")},
    }


def orbit_view(data: SceneData, frame: int, width: int, height: int) -> View:
    """A camera circling the scene 35 degrees above it, the whole scene in sight.

    The scenes are height fields in the xy plane (z up), so every frame sees all of the
    surface from above: a steady load rather than cheap edge-on frames."""
    assert data.bounds is not None
    centre = data.bounds.mean(axis=0)
    radius = float(np.linalg.norm(data.bounds[1] - data.bounds[0])) * 1.2
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


def breakdown(data: SceneData, args: argparse.Namespace) -> dict[str, Any]:
    """Where a frame's time goes, measured in this process with the same renderer code:
    vertex work alone (camera turned away: every triangle clipped), plus triangle setup
    (a 160x120 frame: all triangles, few pixels), the full draw, the read-back. `cpu_ms`
    counts the CPU time of all the process's threads (llvmpipe rasterises in a pool)."""
    from renderhub.host.render.gl import GlRenderer

    renderer = GlRenderer(data, samples=args.samples)
    buffer = bytearray(args.width * args.height * 3)
    phases: dict[str, list[float]] = {"geometry": [], "setup": [], "draw": [], "read_back": []}
    cpu: list[float] = []
    try:
        for frame in range(args.breakdown_frames):
            view = orbit_view(data, frame * 7, args.width, args.height)
            phases["geometry"].append(_timed(renderer, _turned_away(view)))
            phases["setup"].append(_timed(renderer, orbit_view(data, frame * 7, 160, 120)))
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
    data, extract_s = make_scene(triangles)
    renderer = await RendererProcess.start(data, samples=args.samples)
    try:
        info = renderer.info()
        log(f"  renderer {info['renderer']!r} ready in {info['startup_ms']} ms")
        for frame in range(WARMUP_FRAMES):
            await renderer.render(orbit_view(data, frame, args.width, args.height))
        result = await _measure_frames(renderer, data, triangles, extract_s, args)
    finally:
        await renderer.aclose()
    if args.breakdown_frames:
        log("  breakdown (in this process)")
        result["breakdown_median"] = breakdown(data, args)
    return result


async def _measure_frames(
    renderer: RendererProcess,
    data: SceneData,
    triangles: int,
    extract_s: float,
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
            frame = await renderer.render(orbit_view(data, frames, args.width, args.height))
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
        "scene_data_s": round(extract_s, 3),
        "renderer": info,
    }


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
    report: dict[str, Any] = {
        "benchmark": "renderhub-renderer",
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "target": TARGET,
    }
    if args.culling:
        report["target"] = CULLING_TARGET
    try:
        if args.culling:
            report["culling"] = asyncio.run(measure_culling(args))
        else:
            report.update(asyncio.run(run(args)))
    except KeyboardInterrupt:
        log("interrupted; renderer processes were closed")
        return 130
    if args.culling:
        speedup = report["culling"]["speedup"]
        report["verdict"] = {"speedup": speedup, "meets_target": speedup >= CULLING_SPEEDUP_MIN}
    else:
        report["verdict"] = verdict(report["scenes"], args)
    emit(report, started, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
