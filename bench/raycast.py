#!/usr/bin/env python3
"""Ray-cast benchmark for RenderHub's picking (host/picking.py); prints one JSON object.

The scene is one entity: a torus knot of about N triangles (a tube that winds through itself,
so a ray through its bounds meets several walls), placed with a rotation and a translation so
every cast carries the ray into the mesh's local space as the host does. For each accelerator
(Embree through embreex, and trimesh's numpy one) it times the build of the acceleration
structure, then random rays through the bounds (origin on a sphere around the knot, aimed at a
random point inside its bounds, and the same to a random vertex so every ray hits): closest
hit, all hits, and closest hit with a cut plane through the middle. Same rays for every
accelerator. Then the closest hit among 1,000 small entities, with the hosts' accelerator,
and the same knot and rays through the scene model (`SceneModel.raycast`, what a client's
`raycast` request runs). Progress goes to stderr:

    .venv/bin/python bench/raycast.py [--quick] [--triangles 1000000] [--casts 200]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import trimesh.ray

from figures import emit, log, new_report, summary
from renderhub.host import picking
from renderhub.host.picking import CutPlane, MeshGeometry, PickableMesh, RayHit, cast
from renderhub.host.runtime.model import SceneModel, TransformChange
from renderhub.host.runtime.transforms import quaternion_of
from renderhub.host.scene import LoadedModel
from renderhub.samples.procedural import make_torus_knot

TARGET = {"closest_median_ms_at_1m_triangles_max": 5.0}
# The target's rays go "through the bounds"; most miss a knot, so rays aimed at the surface
# (each one a hit, with its position and normal to compute) are timed too.
RAY_SETS = {"through_bounds": False, "at_surface": True}
KNOT_SIDES = 100  # triangles = 2 * segments * sides


def knot(triangles: int) -> trimesh.Trimesh:
    """The benchmark's torus knot of about `triangles` triangles."""
    segments = max(3, round(triangles / (2 * KNOT_SIDES)))
    return make_torus_knot(segments=segments, sides=KNOT_SIDES)


def placement() -> np.ndarray:
    """Where the knot is: turned and off the origin."""
    matrix = trimesh.transformations.rotation_matrix(0.7, (0.3, 1.0, 0.2))
    matrix[:3, 3] = (4.0, -2.0, 1.0)
    return matrix


def knot_entity(triangles: int, accelerator: picking.Accelerator) -> tuple[PickableMesh, float]:
    """The benchmark entity (placed off the origin, turned) and its build time in seconds."""
    mesh = knot(triangles)
    started = time.perf_counter()
    geometry = MeshGeometry(mesh.vertices.astype(np.float32), mesh.faces, accelerator=accelerator)
    _ = geometry.structure  # built in the background: wait for it
    build_s = time.perf_counter() - started
    return PickableMesh(1, geometry, placement()), build_s


def random_rays(
    entity: PickableMesh, count: int, seed: int, *, at_surface: bool
) -> list[tuple[np.ndarray, ...]]:
    """Rays from a sphere around the entity's world bounds to a random point inside them, or
    (`at_surface`) to a random vertex of the mesh, so that every ray hits."""
    vertices = np.asarray(entity.geometry.mesh.vertices)
    return rays_at(entity.transform, vertices, count, seed, at_surface=at_surface)


def rays_at(
    to_world: np.ndarray, vertices: np.ndarray, count: int, seed: int, *, at_surface: bool
) -> list[tuple[np.ndarray, ...]]:
    """random_rays for a mesh of `vertices` placed by `to_world`."""
    corners = trimesh.bounds.corners([vertices.min(axis=0), vertices.max(axis=0)])
    world = corners @ to_world[:3, :3].T + to_world[:3, 3]
    low, high = world.min(axis=0), world.max(axis=0)
    centre, radius = (low + high) / 2, float(np.linalg.norm(high - low))
    rng = np.random.default_rng(seed)
    rays = []
    for _ in range(count):
        outward = rng.normal(size=3)
        origin = centre + radius * outward / np.linalg.norm(outward)
        if at_surface:
            target = to_world[:3, :3] @ vertices[rng.integers(len(vertices))] + to_world[:3, 3]
        else:
            target = rng.uniform(low, high)
        rays.append((origin, target - origin))
    return rays


def time_casts(
    rays: list[tuple[np.ndarray, ...]], one_cast: Callable[[np.ndarray, np.ndarray], list[RayHit]]
) -> dict[str, Any]:
    """Milliseconds per cast, and how many hits the casts found."""
    one_cast(*rays[0])  # warm-up: first-call costs (trimesh caches, imports) are not a pick's
    timings, hits = [], []
    for origin, direction in rays:
        started = time.perf_counter()
        found = one_cast(origin, direction)
        timings.append((time.perf_counter() - started) * 1000)
        hits.append(len(found))
    return {
        "ms": summary(timings, digits=3),
        "rays_with_a_hit": sum(1 for n in hits if n),
        "mean_hits": round(float(np.mean(hits)), 2),
    }


def measure(accelerator: picking.Accelerator, args: argparse.Namespace) -> dict[str, Any]:
    log(f"{accelerator}: building {args.triangles:,} triangles")
    entity, build_s = knot_entity(args.triangles, accelerator)
    middle = entity.transform[:3, 3]
    cut = [CutPlane.checked(middle, (1.0, 0.0, 0.0))]
    log(f"{accelerator}: built in {build_s:.2f} s; {args.casts} rays per figure")
    result: dict[str, Any] = {
        "accelerator": accelerator,
        "triangles": entity.geometry.triangles,
        "build_s": round(build_s, 3),
    }
    figures: dict[str, Callable[[np.ndarray, np.ndarray], list[RayHit]]] = {
        "closest": lambda o, d: cast(o, d, [entity]),
        "all": lambda o, d: cast(o, d, [entity], mode="all"),
        "closest_with_cut_plane": lambda o, d: cast(o, d, [entity], cut_planes=cut),
    }
    for rays_name, at_surface in RAY_SETS.items():
        rays = random_rays(entity, args.casts, args.seed, at_surface=at_surface)
        result[rays_name] = {}
        for name, one_cast in figures.items():
            figure = result[rays_name][name] = time_casts(rays, one_cast)
            log(f"{accelerator}: {rays_name} {name} median {figure['ms']['median']} ms")
    return result


def measure_many_entities(args: argparse.Namespace) -> dict[str, Any]:
    """Closest hit among `--entities` small spheres (1,280 triangles each, one shared
    geometry) scattered in a 100 m cube: the cost of many entities rather than many
    triangles."""
    sphere = trimesh.creation.icosphere(subdivisions=3)
    geometry = MeshGeometry.from_trimesh(sphere, accelerator=picking.ACCELERATOR)
    rng = np.random.default_rng(args.seed)
    entities = []
    for entity_id in range(args.entities):
        placement = np.eye(4)
        placement[:3, 3] = rng.uniform(-50.0, 50.0, 3)
        entities.append(PickableMesh(entity_id, geometry, placement))
    rays = []
    for _ in range(args.casts):
        origin = rng.uniform(-60.0, 60.0, 3)
        target = entities[rng.integers(len(entities))].transform[:3, 3]
        rays.append((origin, target - origin))  # aimed at an entity: every ray hits
    result = {"accelerator": picking.ACCELERATOR, "entities": args.entities}
    result["closest"] = time_casts(rays, lambda o, d: cast(o, d, entities))
    log(f"{args.entities} entities: closest median {result['closest']['ms']['median']} ms")
    return result


def measure_scene_model(args: argparse.Namespace) -> dict[str, Any]:
    """The same knot and rays through SceneModel.raycast, as a client's `raycast` runs:
    the knot a model's node entity, placed by set_transforms; the scene's own checks, the
    placing of moved meshes, the visible-parts filter and the hit objects included. The
    accelerator is the hosts' (`picking.ACCELERATOR`)."""
    mesh = knot(args.triangles)
    vertices = np.asarray(mesh.vertices, dtype=np.float32).astype(np.float64)
    mesh = trimesh.Trimesh(vertices, mesh.faces, process=False)
    scene = SceneModel()
    started = time.perf_counter()
    added = scene.add_model(LoadedModel.of_meshes("knot.glb", (mesh,)))
    add_s = time.perf_counter() - started
    matrix = placement()
    position = tuple(float(v) for v in matrix[:3, 3])
    rotation = tuple(float(v) for v in quaternion_of(matrix[:3, :3]))
    node = added.entities[1]
    scene.set_transforms([TransformChange(node, position=position, rotation=rotation)])  # type: ignore[arg-type]
    log(f"scene model: added {mesh.faces.shape[0]:,} triangles in {add_s:.2f} s")
    result: dict[str, Any] = {
        "accelerator": picking.ACCELERATOR,
        "triangles": len(mesh.faces),
        "add_model_s": round(add_s, 3),
    }
    figures: dict[str, Callable[[np.ndarray, np.ndarray], list[Any]]] = {
        "closest": lambda o, d: scene.raycast(tuple(o), tuple(d)),  # type: ignore[arg-type]
        "all": lambda o, d: scene.raycast(tuple(o), tuple(d), mode="all"),  # type: ignore[arg-type]
    }
    for rays_name, at_surface in RAY_SETS.items():
        rays = rays_at(matrix, vertices, args.casts, args.seed, at_surface=at_surface)
        result[rays_name] = {}
        for name, one_cast in figures.items():
            figure = result[rays_name][name] = time_casts(rays, one_cast)
            log(f"scene model: {rays_name} {name} median {figure['ms']['median']} ms")
    return result


def machine_facts() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The target is met by the accelerator the host uses (`picking.ACCELERATOR`)."""
    used = next((r for r in results if r["accelerator"] == picking.ACCELERATOR), None)
    at_1m = used is not None and 900_000 <= used["triangles"] <= 1_100_000
    median = used["through_bounds"]["closest"]["ms"]["median"] if used else math.nan
    return {
        "accelerator_used_by_hosts": picking.ACCELERATOR,
        "closest_median_ms": median,
        "meets_target": (median <= 5.0) if at_1m else None,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="Smoke run: 100,000 triangles, 30 casts.")
    add("--triangles", type=int, default=None, help="Triangles in the knot [1000000].")
    add("--casts", type=int, default=None, help="Random rays per figure [200; quick: 30].")
    add(
        "--accelerators",
        default=None,
        help="Comma-separated: embree,numpy [both where embreex is installed].",
    )
    add("--entities", type=int, default=1000, help="Entities in the many-entity scene [1000].")
    add("--seed", type=int, default=7, help="Seed of the random rays [7].")
    add("--output", type=Path, help="Also write the JSON to this file.")
    args = parser.parse_args(argv)
    args.triangles = args.triangles or (100_000 if args.quick else 1_000_000)
    args.casts = args.casts or (30 if args.quick else 200)
    default = "embree,numpy" if trimesh.ray.has_embree else "numpy"
    args.accelerators = [name.strip() for name in (args.accelerators or default).split(",")]
    unknown = set(args.accelerators) - {"embree", "numpy"}
    if unknown or ("embree" in args.accelerators and not trimesh.ray.has_embree):
        parser.error(f"accelerators must be embree or numpy (embree needs embreex): {unknown}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    report = new_report(
        "renderhub-raycast",
        started,
        machine_facts(),
        args,
        target=TARGET,
    )
    report["results"] = [measure(name, args) for name in args.accelerators]
    report["many_entities"] = measure_many_entities(args)
    report["scene_model"] = measure_scene_model(args)
    report["verdict"] = verdict(report["results"])
    median = report["scene_model"]["through_bounds"]["closest"]["ms"]["median"]
    report["verdict"]["scene_model_closest_median_ms"] = median
    report["verdict"]["scene_model_meets_target"] = (
        median <= TARGET["closest_median_ms_at_1m_triangles_max"]
        if report["verdict"]["meets_target"] is not None
        else None
    )
    emit(report, started, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
