"""Model files for the scene model's tests: the shipped samples, and small glTFs written
here with trimesh (a node hierarchy with names, extras, transforms and an instanced mesh)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh
from trimesh.transformations import rotation_matrix, translation_matrix

from renderhub.host.meshes import load_model_file
from renderhub.host.scene import LoadedModel
from renderhub.samples import sample_files

SAMPLE_NAMES = [path.name for path in sample_files()]

# The car: Car (at CAR_POSITION) > Body (a 2 x 1 x 4 box), Wheel_FL, Wheel_FR (one cylinder
# mesh instanced twice, turned a quarter about y, at WHEEL_POSITIONS).
CAR_POSITION = (1.0, 2.0, 3.0)
BODY_EXTENTS = (2.0, 1.0, 4.0)
WHEEL_POSITIONS = {"Wheel_FL": (-1.0, -0.5, 1.5), "Wheel_FR": (1.0, -0.5, 1.5)}
WHEEL_RADIUS, WHEEL_WIDTH = 0.3, 0.2
QUARTER_TURN_Y = (0.0, float(np.sqrt(0.5)), 0.0, float(np.sqrt(0.5)))  # x, y, z, w


def sample_path(name: str) -> Path:
    return next(path for path in sample_files() if path.name == name)


def load_sample(name: str, url: str | None = None) -> LoadedModel:
    return load_model_file(url or f"samples/{name}", sample_path(name))


def car_scene() -> trimesh.Scene:
    scene = trimesh.Scene()
    scene.graph.update(
        frame_from="world",
        frame_to="Car",
        matrix=translation_matrix(CAR_POSITION),
        metadata={"partNumber": "C-1", "tags": ["demo"]},
    )
    body = trimesh.creation.box(extents=BODY_EXTENTS)
    scene.add_geometry(body, geom_name="body", node_name="Body", parent_node_name="Car")
    scene.geometry["wheel"] = trimesh.creation.cylinder(radius=WHEEL_RADIUS, height=WHEEL_WIDTH)
    for name, position in WHEEL_POSITIONS.items():
        matrix = translation_matrix(position) @ rotation_matrix(np.pi / 2, (0.0, 1.0, 0.0))
        scene.graph.update(
            frame_from="Car",
            frame_to=name,
            matrix=matrix,
            geometry="wheel",
            metadata={"partNumber": f"W-{name[-2:]}"},
        )
    return scene


def write_car(folder: Path) -> Path:
    path = folder / "car.glb"
    path.write_bytes(car_scene().export(file_type="glb"))
    return path


def load_car(folder: Path, url: str = "models/car.glb?sv=1&sig=secret") -> LoadedModel:
    return load_model_file(url, write_car(folder))


def write_gltf(folder: Path, document: dict[str, object], files: dict[str, bytes]) -> Path:
    """A .gltf file with its side files, as trimesh's exporter gave them."""
    for name, data in files.items():
        (folder / name).write_bytes(data)
    path = folder / "model.gltf"
    path.write_text(json.dumps(document))
    return path


def exported_gltf(scene: trimesh.Scene) -> tuple[dict[str, object], dict[str, bytes]]:
    """A scene exported as .gltf: its JSON document and its other files."""
    files = scene.export(file_type="gltf")
    document = json.loads(files.pop("model.gltf"))
    return document, files


# The large model: GROUPS groups of PARTS_PER_GROUP parts, every part with a little metadata.
# The parts share one box mesh, instanced by every part node: a model with a mesh of its own
# per node (1,200 ray-cast structures) crashes the host in Embree, a known issue being fixed
# elsewhere.
GROUPS, PARTS_PER_GROUP = 40, 30
HUGE_EXTRAS_NODE = "Part_0_0"  # carries extras larger than an entity may keep


def many_parts_scene(groups: int = GROUPS, parts: int = PARTS_PER_GROUP) -> trimesh.Scene:
    """groups x parts nodes instancing one mesh, under `groups` group nodes, in a grid."""
    scene = trimesh.Scene()
    scene.geometry["box"] = trimesh.creation.box(extents=(0.1, 0.1, 0.1))
    for group in range(groups):
        group_name = f"Group_{group}"
        scene.graph.update(
            frame_from="world",
            frame_to=group_name,
            matrix=translation_matrix((group * 0.3, 0.0, 0.0)),
            metadata={"group": group},
        )
        for part in range(parts):
            name = f"Part_{group}_{part}"
            scene.graph.update(
                frame_from=group_name,
                frame_to=name,
                matrix=translation_matrix((0.0, part * 0.3, 0.0)),
                geometry="box",
                metadata={"partNumber": f"P-{group}-{part}"},
            )
    return scene


def write_many_parts(folder: Path, huge_extras: int = 0) -> Path:
    """The large model as folder/many.glb; with `huge_extras`, HUGE_EXTRAS_NODE's extras
    carry a string of that many characters."""
    scene = many_parts_scene()
    if huge_extras:
        scene.graph.update(HUGE_EXTRAS_NODE, metadata={"blob": "x" * huge_extras})
    path = folder / "many.glb"
    path.write_bytes(scene.export(file_type="glb"))
    return path
