#!/usr/bin/env python3
"""Conversion benchmark for RenderHub; prints one JSON object on stdout.

With a real Azurite (tools/azurite, from scripts/install test) on loopback:

1. convert: a procedural GLB of --triangles triangles (with normals) is uploaded to an input
   container, then `renderhub.conversions.converter.convert` runs end to end (list, download,
   load, weld, merge, write, upload the asset and its .info/.result.json), --runs times;
2. host load: the converted asset and the original GLB are each loaded the way a render host
   loads a model, --runs times each: `load` is `load_model_file` + `build_scene` (what the
   host does before it reports Ready), `load_to_scene_data` adds the renderer's geometry
   (the runtime's geometry builder), so it is the whole way from file to renderer.

3. parallel (--parallel N, default 4; 0 skips it): a real `renderhub serve` (a subprocess,
   conversion_concurrency N, the real converter) is given N conversions of small models
   (--parallel-triangles each) over the 2021-01-01 API, as the wall time from the first PUT to
   the last one Succeeded, and the throughput in conversions per second; `one_alone_s` is one
   such conversion by itself first, through the same service.

    .venv/bin/python bench/conversion.py [--triangles 1000000] [--runs 3] [--parallel 4]
        [--parallel-triangles 20000] [--output FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import trimesh

from figures import emit, log, summary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.azurite

from tests.azurite import Azurite, azurite_server
from tests.e2e.server import ServerProcess, free_port, sign_in

from renderhub.conversions.converter import convert
from renderhub.conversions.jobs import (
    ConversionJob,
    ConversionLimits,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)
from renderhub.host.meshes import build_scene, load_model_file
from renderhub.host.runtime.geometry_builder import model_geometry, part_sources
from renderhub.host.runtime.vertex_data import area_weighted_normals
from renderhub.samples.procedural import make_triangle_mesh

API = "api-version=2021-01-01"
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


def time_parallel(azurite: Azurite, folder: Path, count: int, triangles: int) -> dict[str, Any]:
    """`count` conversions at once through a real `renderhub serve` (a subprocess with
    conversion_concurrency `count` and the real converter, each conversion in its own worker
    process): from the first PUT to the last one Succeeded, polling the 2021-01-01 API."""
    glb = folder / "small.glb"
    make_glb(triangles, glb)
    source, target = azurite.create_container(), azurite.create_container()
    for index in range(count):
        azurite.upload(source, f"small/model-{index}.glb", glb.read_bytes())
    environment = {"RENDERHUB_CONVERSION_CONCURRENCY": str(count)}
    server = ServerProcess(
        folder / "data", free_port(), "--allow-storage", f"{azurite.account_url}/", env=environment
    )
    server.start()
    try:
        signed_in = sign_in(server)
        with signed_in.client as client:
            base = f"/accounts/{signed_in.account_id}/conversions"
            body = _conversion_body(azurite, source, target, 0)
            alone = _time_conversions(client, {f"{base}/alone?{API}": body})
            bodies = {
                f"{base}/parallel-{index}?{API}": _conversion_body(azurite, source, target, index)
                for index in range(count)
            }
            wall = _time_conversions(client, bodies)
    finally:
        server.terminate()
    log(f"1 conversion through renderhub serve: {alone:.2f} s; {count} at once: {wall:.2f} s")
    return {
        "count": count,
        "triangles_each": triangles,
        "conversion_concurrency": count,
        "one_alone_s": round(alone, 2),
        "wall_s": round(wall, 2),
        "throughput_conversions_per_s": round(count / wall, 2),
    }


def _time_conversions(client: httpx.Client, bodies: dict[str, dict[str, Any]]) -> float:
    """Seconds from the first PUT to the last of these conversions Succeeded."""
    started = time.perf_counter()
    for url, body in bodies.items():
        created = client.put(url, json=body)
        if created.status_code != 201:
            raise SystemExit(f"creating a conversion: {created.status_code} {created.text}")
    _wait_until_all_end(client, list(bodies))
    return time.perf_counter() - started


def _conversion_body(azurite: Azurite, source: str, target: str, index: int) -> dict[str, Any]:
    return {
        "settings": {
            "inputLocation": {
                "storageContainerUri": source,
                "relativeInputAssetPath": f"model-{index}.glb",
                "blobPrefix": "small/",
                "storageContainerReadListSas": azurite.sas(source, "rl"),
            },
            "outputLocation": {
                "storageContainerUri": target,
                "blobPrefix": f"p{index}/",
                "storageContainerWriteSas": azurite.sas(target, "w"),
            },
        }
    }


def _wait_until_all_end(client: httpx.Client, urls: list[str], within: float = 600.0) -> None:
    """Poll each conversion until all have Succeeded; any other end stops the bench."""
    give_up = time.monotonic() + within
    pending = list(urls)
    while pending:
        if time.monotonic() > give_up:
            raise SystemExit(f"conversions still running after {within:.0f} s: {pending}")
        for url in list(pending):
            body = client.get(url).json()
            if body["status"] == "Succeeded":
                pending.remove(url)
            elif body["status"] in ("Failed", "Cancelled"):
                raise SystemExit(f"parallel conversion {body['status']}: {body.get('error')}")
        time.sleep(0.05)


def time_host_loads(path: Path, runs: int) -> dict[str, Any]:
    """`load`: file -> the host's scene (Ready); `load_to_scene_data`: on to the renderer's
    buffers. Each run is in this process after one untimed warm-up load."""
    load_model_file(path.name, path)  # warm-up: imports, page cache
    loads, totals = [], []
    polygons = 0
    for _ in range(runs):
        started = time.perf_counter()
        model = load_model_file(path.name, path)
        build_scene([model])
        loaded = time.perf_counter()
        data = model_geometry(part_sources(model))
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
    parser.add_argument("--parallel", type=int, default=4, metavar="N",
                        help="also time N conversions at once through renderhub serve "
                        "(0: skip)")  # fmt: skip
    parser.add_argument("--parallel-triangles", type=int, default=20_000, metavar="T",
                        help="triangles of each model converted in parallel")  # fmt: skip
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
                report["parallel"] = time_parallel(
                    azurite, Path(folder), args.parallel, args.parallel_triangles
                )
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
