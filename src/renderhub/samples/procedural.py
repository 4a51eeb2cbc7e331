"""Procedural sample models: small shipped ones and big ones made on demand for benchmarks.

Every function here is deterministic: the same arguments give byte-identical exports.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import trimesh
from trimesh.visual.color import ColorVisuals
from trimesh.visual.material import PBRMaterial
from trimesh.visual.texture import TextureVisuals

# Shape parameters of the shipped samples; each maker's docstring gives its triangle count.
KNOT_SEGMENTS = 384
KNOT_SIDES = 24
TERRAIN_GRID = 96
GEAR_TEETH = 24
SPHERE_SUBDIVISIONS = 3


def make_cube() -> trimesh.Trimesh:
    """A unit cube whose six faces each have their own vertex colour (12 triangles)."""
    cube = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    cube.unmerge_vertices()  # three vertices per face, so each face can have its own colour
    palette = np.array(
        [
            [230, 57, 70, 255],
            [241, 143, 1, 255],
            [255, 209, 102, 255],
            [6, 214, 160, 255],
            [17, 138, 178, 255],
            [131, 56, 236, 255],
        ],
        dtype=np.uint8,
    )
    normals = cube.face_normals
    side = np.argmax(np.abs(normals), axis=1) * 2 + (normals.sum(axis=1) > 0)
    colours = np.repeat(palette[side], 3, axis=0)
    cube.visual = ColorVisuals(vertex_colors=colours)
    return cube


def make_torus_knot(
    p: int = 2, q: int = 3, segments: int = KNOT_SEGMENTS, sides: int = KNOT_SIDES
) -> trimesh.Trimesh:
    """A (p, q) torus knot tube with a PBR base colour (2 * segments * sides triangles)."""
    t = np.linspace(0.0, 2.0 * math.pi, segments, endpoint=False)
    centre = _knot_point(t, p, q)
    tangent = _knot_point(t + 1e-4, p, q) - _knot_point(t - 1e-4, p, q)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.cross(tangent, np.array([0.0, 0.0, 1.0]))
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)
    angle = np.linspace(0.0, 2.0 * math.pi, sides, endpoint=False)
    radius = 0.12
    ring = np.cos(angle)[None, :, None] * normal[:, None, :]
    ring = ring + np.sin(angle)[None, :, None] * binormal[:, None, :]
    vertices = (centre[:, None, :] + radius * ring).reshape(-1, 3)
    # Reversed: counter-clockwise seen from outside the tube. Its glTF material is
    # single-sided (glTF's default), so a renderer culls the other side.
    faces = _wrapped_grid_faces(segments, sides)[:, ::-1]
    material = PBRMaterial(
        name="knot",
        baseColorFactor=[46, 134, 222, 255],
        metallicFactor=0.3,
        roughnessFactor=0.4,
    )
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    mesh.visual = TextureVisuals(material=material)
    return mesh


def _knot_point(t: np.ndarray, p: int, q: int) -> np.ndarray:
    r = 0.6 + 0.25 * np.cos(q * t)
    return np.stack([r * np.cos(p * t), r * np.sin(p * t), 0.25 * np.sin(q * t)], axis=1)


def _wrapped_grid_faces(rows: int, cols: int) -> np.ndarray:
    """Two triangles per cell of a rows x cols grid that wraps around in both directions."""
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    a = i * cols + j
    b = ((i + 1) % rows) * cols + j
    c = ((i + 1) % rows) * cols + (j + 1) % cols
    d = i * cols + (j + 1) % cols
    first = np.stack([a, b, c], axis=-1).reshape(-1, 3)
    second = np.stack([a, c, d], axis=-1).reshape(-1, 3)
    return np.concatenate([first, second]).astype(np.int64)


def make_sphere(subdivisions: int = SPHERE_SUBDIVISIONS) -> trimesh.Trimesh:
    """An icosphere of radius 0.5 (20 * 4**subdivisions triangles)."""
    return trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.5)


def make_terrain(grid: int = TERRAIN_GRID) -> trimesh.Trimesh:
    """A rolling height field with height-tinted vertex colours (2 * (grid - 1)**2 triangles)."""
    mesh = _height_field(grid, grid, size=2.0)
    heights = mesh.vertices[:, 2]
    level = (heights - heights.min()) / max(float(np.ptp(heights)), 1e-9)
    low = np.array([34, 120, 60], dtype=np.float64)
    high = np.array([235, 230, 220], dtype=np.float64)
    rgb = low + (high - low) * level[:, None]
    alpha = np.full((len(rgb), 1), 255.0)
    mesh.visual = ColorVisuals(vertex_colors=np.hstack([rgb, alpha]).round().astype(np.uint8))
    return mesh


def _height_field(rows: int, cols: int, size: float) -> trimesh.Trimesh:
    x = np.linspace(-size / 2, size / 2, cols)
    y = np.linspace(-size / 2, size / 2, rows)
    xx, yy = np.meshgrid(x, y)
    zz = 0.12 * np.sin(3.1 * xx) * np.cos(2.3 * yy) + 0.05 * np.sin(7.7 * xx + 5.3 * yy)
    vertices = np.column_stack([xx.ravel(), yy.ravel(), zz.ravel()])
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (i * cols + j).ravel()
    b = a + 1
    c = a + cols + 1
    d = a + cols
    faces = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False)


def make_gear(teeth: int = GEAR_TEETH, thickness: float = 0.2) -> trimesh.Trimesh:
    """A watertight spur gear with a bore (32 * teeth triangles)."""
    steps = teeth * 4
    angle = np.arange(steps) * (2.0 * math.pi / steps)
    outer = np.where((np.arange(steps) % 4) < 2, 0.5, 0.42)
    inner = np.full(steps, 0.15)
    ring_outer = np.column_stack([outer * np.cos(angle), outer * np.sin(angle)])
    ring_inner = np.column_stack([inner * np.cos(angle), inner * np.sin(angle)])
    half = thickness / 2
    vertices = np.vstack(
        [
            np.column_stack([ring_outer, np.full(steps, half)]),
            np.column_stack([ring_inner, np.full(steps, half)]),
            np.column_stack([ring_outer, np.full(steps, -half)]),
            np.column_stack([ring_inner, np.full(steps, -half)]),
        ]
    )
    k = np.arange(steps)
    n = (k + 1) % steps
    top_o, top_i, bot_o, bot_i = k, k + steps, k + 2 * steps, k + 3 * steps
    top_o_n, top_i_n, bot_o_n, bot_i_n = n, n + steps, n + 2 * steps, n + 3 * steps
    faces = np.concatenate(
        [
            _quads(top_i, top_o, top_o_n, top_i_n),
            _quads(bot_i, bot_i_n, bot_o_n, bot_o),
            _quads(top_o, bot_o, bot_o_n, top_o_n),
            _quads(top_i, top_i_n, bot_i_n, bot_i),
        ]
    )
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False)


def _quads(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])


def make_triangle_mesh(target_triangles: int) -> trimesh.Trimesh:
    """A wavy height field with exactly `target_triangles` triangles, for benchmarks."""
    if target_triangles < 2:
        raise ValueError("target_triangles must be at least 2")
    cells = math.ceil(target_triangles / 2)
    cols = math.ceil(math.sqrt(cells)) + 1
    rows = math.ceil(cells / (cols - 1)) + 1
    mesh = _height_field(rows, cols, size=4.0)
    faces = mesh.faces[:target_triangles]
    used = np.unique(faces)
    remap = np.zeros(len(mesh.vertices), dtype=np.int64)
    remap[used] = np.arange(len(used))
    return trimesh.Trimesh(vertices=mesh.vertices[used], faces=remap[faces], process=False)


SAMPLES = {
    "cube.glb": make_cube,
    "torus-knot.glb": make_torus_knot,
    "sphere.obj": make_sphere,
    "terrain.ply": make_terrain,
    "gear.stl": make_gear,
}


def write_samples(directory: Path) -> list[Path]:
    """Write every shipped sample into `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SAMPLES.items():
        path = directory / name
        write_mesh(make(), path)
        written.append(path)
    return written


def write_mesh(mesh: trimesh.Trimesh, path: Path) -> None:
    """Export `mesh` in the format its file name's suffix names."""
    data = mesh.export(file_type=path.suffix.lstrip(".").lower())
    if isinstance(data, dict):
        raise ValueError(f"{path.suffix} exports to several files; choose a one-file format")
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
