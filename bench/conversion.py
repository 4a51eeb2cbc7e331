#!/usr/bin/env python3
"""Conversion benchmark for RenderHub; prints one JSON object on stdout.

With a real Azurite (tools/azurite, from scripts/install test) on loopback:

1. convert: a procedural GLB of --triangles triangles (with normals) is uploaded to an input
   container, then `renderhub.conversions.converter.convert` runs end to end (list, download,
   load, weld, merge, write, upload the asset and its .info/.result.json), --runs times;
2. host load: the converted asset and the original GLB are each loaded the way a render host
   loads a model, --runs times each: `load` is `load_model_file` + `build_scene` (what the
   host does before it reports Ready), `load_to_scene_data` adds `scene_data` (the merged
   buffers the renderer draws), so it is the whole way from file to renderer.

3. with --parallel N: N conversions of the same model started at once, each in its own
   worker process (a plain ProcessPoolExecutor standing in for the conversion runner), as the
   wall time from submitting them to the last one finishing.

    .venv/bin/python bench/conversion.py [--triangles 1000000] [--runs 3] [--parallel 4]
        [--output FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from figures import emit, log, summary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.azurite

from tests.azurite import Azurite, azurite_server

from renderhub.conversions.converter import convert
from renderhub.conversions.jobs import (
    ConversionJob,
    ConversionLimits,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)
from renderhub.host.meshes import build_scene, load_model_file
from renderhub.host.render.scene_data import area_weighted_normals, scene_data
from renderhub.samples.procedural import make_triangle_mesh

TARGET = {
    "convert_end_to_end_s_max": 10.0,
    "asset_load_s_max": 0.5,
    "asset_load_speedup_over_glb_min": 3.0,
}


def make_glb(triangles: int, path: Path) -> None:
    """A height field of exactly `triangles` triangles, with vertex normals, as GLB."""
    mesh = make_triangle_mesh(triangles)
    mesh.vertex_normals = area_weighted_normals(np.asarray(mesh.vertices), np.asarray(mesh.faces))
    path.write_bytes(trimesh.Scene(mesh).export(file_type="glb"))


def time_conversions(azurite: Azurite, glb: Path, runs: int) -> tuple[list[float], bytes]:
    source = azurite.create_container()
    target = azurite.create_container()
    azurite.upload(source, "bench/model.glb", glb.read_bytes())
    limits = ConversionLimits((azurite.account_url + "/",), 2 << 30, 2 << 30, 300.0, 1800.0)
    seconds = []
    for run in range(runs):
        job = ConversionJob(
            f"bench-{run}",
            InputLocation(source, "model.glb", "bench/", azurite.sas(source, "rl")),
            OutputLocation(target, "model.arrAsset", f"run{run}/", azurite.sas(target, "w")),
        )
        started = time.perf_counter()
        outcome = convert(job, limits)
        seconds.append(time.perf_counter() - started)
        if outcome.status is not ConversionStatus.SUCCEEDED:
            raise SystemExit(f"conversion failed: {outcome.error_message}")
        log(f"conversion {run + 1}/{runs}: {seconds[-1]:.2f} s")
    return seconds, azurite.download(target, "run0/model.arrAsset")


def time_parallel(azurite: Azurite, glb: Path, count: int) -> dict[str, Any]:
    """`count` conversions at once, one worker process each (started before the clock)."""
    source = azurite.create_container()
    target = azurite.create_container()
    azurite.upload(source, "bench/model.glb", glb.read_bytes())
    limits = ConversionLimits((azurite.account_url + "/",), 2 << 30, 2 << 30, 300.0, 1800.0)
    jobs = [
        ConversionJob(
            f"parallel-{index}",
            InputLocation(source, "model.glb", "bench/", azurite.sas(source, "rl")),
            OutputLocation(target, "model.arrAsset", f"p{index}/", azurite.sas(target, "w")),
        )
        for index in range(count)
    ]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        list(pool.map(_warm_worker, range(count)))  # start the workers and their imports
        started = time.perf_counter()
        outcomes = list(pool.map(convert, jobs, [limits] * count))
        wall = time.perf_counter() - started
    failures = [o.error_message for o in outcomes if o.status is not ConversionStatus.SUCCEEDED]
    if failures:
        raise SystemExit(f"parallel conversion failed: {failures[0]}")
    log(f"{count} conversions in parallel: {wall:.2f} s")
    return {"count": count, "wall_s": round(wall, 2)}


def _warm_worker(_: int) -> None:
    import trimesh  # noqa: F401

    import renderhub.conversions.meshing  # noqa: F401


def time_host_loads(path: Path, runs: int) -> dict[str, Any]:
    """`load`: file -> the host's scene (Ready); `load_to_scene_data`: on to the renderer's
    buffers. Each run is in this process after one untimed warm-up load."""
    load_model_file(path.name, path)  # warm-up: imports, page cache
    loads, totals = [], []
    polygons = 0
    for _ in range(runs):
        started = time.perf_counter()
        model = load_model_file(path.name, path)
        scene = build_scene([model])
        loaded = time.perf_counter()
        data = scene_data(scene)
        finished = time.perf_counter()
        loads.append(loaded - started)
        totals.append(finished - started)
        polygons = data.triangles
    return {
        "bytes": path.stat().st_size,
        "polygons": polygons,
        "load_s": summary(loads, 3),
        "load_to_scene_data_s": summary(totals, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triangles", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=0, metavar="N",
                        help="also time N conversions at once (0: skip)")  # fmt: skip
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "bench": "conversion",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "triangles": args.triangles,
        "target": TARGET,
    }
    with tempfile.TemporaryDirectory(prefix="renderhub-bench-") as folder:
        glb = Path(folder) / "model.glb"
        log(f"making a {args.triangles:,}-triangle GLB")
        make_glb(args.triangles, glb)
        with azurite_server() as azurite:
            conversions, asset_bytes = time_conversions(azurite, glb, args.runs)
            if args.parallel:
                report["parallel"] = time_parallel(azurite, glb, args.parallel)
        asset = Path(folder) / "model.arrAsset"
        asset.write_bytes(asset_bytes)
        log("timing host loads")
        glb_load = time_host_loads(glb, args.runs)
        asset_load = time_host_loads(asset, args.runs)
    report["convert_end_to_end_s"] = summary(conversions, 2)
    report["host_load"] = {"glb": glb_load, "asset": asset_load}
    speedups = {
        key: round(glb_load[key]["median"] / max(asset_load[key]["median"], 1e-6), 1)
        for key in ("load_s", "load_to_scene_data_s")
    }
    report["asset_speedup_over_glb"] = speedups
    report["meets_targets"] = {
        "convert": statistics.median(conversions) <= TARGET["convert_end_to_end_s_max"],
        "asset_load": asset_load["load_to_scene_data_s"]["median"] <= TARGET["asset_load_s_max"],
        "speedup": speedups["load_to_scene_data_s"] >= TARGET["asset_load_speedup_over_glb_min"],
    }
    emit(report, started, args.output)


if __name__ == "__main__":
    main()
