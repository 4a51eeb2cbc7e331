#!/usr/bin/env python3
"""Scene model benchmark (host/runtime/model.py); prints one JSON object.

A glTF of `--entities` nodes (default 1,000) under one parent, each a small box (one mesh,
instanced by every node), is loaded and added to a SceneModel. Then, `--rounds` times:
a batch of set_transforms moving every entity (new position and rotation), followed by
state() (world matrices composed down the tree, inherited flags and tints, one row per
slot): what a client's batch costs before the next frame can show it (target: well under
one frame, 5 ms). Also timed: set_state on the parent followed by state(), entities_json()
of the whole tree, and a closest-hit ray cast right after a batch (the moved meshes are
placed again first). Progress goes to stderr:

    .venv/bin/python bench/scene_model.py [--entities 1000] [--rounds 50]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from figures import emit, log, new_report, summary
from renderhub.host.meshes import load_model_file
from renderhub.host.runtime.model import SceneModel, StateChange, TransformChange

TARGET = {"batch_and_state_median_ms_max": 5.0}


def many_boxes(entities: int, folder: Path) -> Path:
    """A glb: node "Parent" with `entities` children, each instancing one box."""
    scene = trimesh.Scene()
    scene.graph.update(frame_from="world", frame_to="Parent")
    scene.geometry["box"] = trimesh.creation.box(extents=(0.5, 0.5, 0.5))
    for i in range(entities):
        matrix = np.eye(4)
        matrix[:3, 3] = (i % 40, (i // 40) % 40, i // 1600)
        scene.graph.update(frame_from="Parent", frame_to=f"box{i}", matrix=matrix, geometry="box")
    path = folder / "boxes.glb"
    path.write_bytes(scene.export(file_type="glb"))
    return path


def timed(rounds: int, work: Callable[[int], Any]) -> dict[str, Any] | None:
    """Milliseconds per call of work(round), after one warm-up call."""
    work(-1)
    timings = []
    for round_number in range(rounds):
        started = time.perf_counter()
        work(round_number)
        timings.append((time.perf_counter() - started) * 1000)
    return summary(timings, digits=3)


def batch(ids: Sequence[int], round_number: int) -> list[TransformChange]:
    angle = 0.01 * round_number
    rotation = (0.0, float(np.sin(angle / 2)), 0.0, float(np.cos(angle / 2)))
    return [
        TransformChange(
            entity, position=(float(i % 40), float(round_number), 0.0), rotation=rotation
        )
        for i, entity in enumerate(ids)
    ]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="renderhub-bench-") as folder:
        path = many_boxes(args.entities, Path(folder))
        started = time.perf_counter()
        model = load_model_file("boxes.glb", path)
        load_s = time.perf_counter() - started
    scene = SceneModel()
    started = time.perf_counter()
    added = scene.add_model(model)
    add_s = time.perf_counter() - started
    ids = added.entities[2:]  # the root, the parent, then the boxes
    log(f"{len(ids)} entities loaded in {load_s:.2f} s, added in {add_s:.2f} s")
    batches = [batch(ids, n) for n in range(-1, args.rounds)]
    result: dict[str, Any] = {
        "entities": len(ids),
        "slots": scene.state().slots,
        "load_s": round(load_s, 3),
        "add_model_s": round(add_s, 3),
    }
    result["set_transforms_ms"] = timed(args.rounds, lambda n: scene.set_transforms(batches[n + 1]))
    result["state_after_batch_ms"] = timed(
        args.rounds, lambda n: (scene.set_transforms(batches[n + 1]), scene.state())
    )
    hidden = [True, None]
    parent = added.entities[1]
    result["set_state_and_state_ms"] = timed(
        args.rounds,
        lambda n: (scene.set_state(parent, StateChange(hidden=hidden[n % 2])), scene.state()),
    )
    result["entities_json_ms"] = timed(max(5, args.rounds // 5), lambda n: scene.entities_json())
    result["raycast_after_batch_ms"] = timed(
        args.rounds,
        lambda n: (
            scene.set_transforms(batches[n + 1]),
            scene.raycast((20.0, 20.0, -30.0), (0.0, 0.0, 1.0)),
        ),
    )
    log(f"batch + state(): median {result['state_after_batch_ms']['median']} ms")
    return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--entities", type=int, default=1000, help="Entities moved per batch [1000].")
    add("--rounds", type=int, default=50, help="Timed rounds per figure [50].")
    add("--output", type=Path, help="Also write the JSON to this file.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    report = new_report(
        "renderhub-scene-model",
        started,
        {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        args,
        target=TARGET,
    )
    report["results"] = measure(args)
    median = report["results"]["state_after_batch_ms"]["median"]
    report["verdict"] = {"batch_and_state_median_ms": median, "meets_target": median <= 5.0}
    emit(report, started, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
