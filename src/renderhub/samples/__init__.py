"""Small procedural sample models shipped with RenderHub (made by scripts/make_samples.py).

This module stays light: generating models (and importing trimesh) lives in `procedural`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent
SAMPLE_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")
INSTALL_SUBDIR = "samples"


def sample_files() -> list[Path]:
    """The shipped sample model files, sorted by name."""
    return sorted(
        path
        for path in SAMPLES_DIR.iterdir()
        if path.is_file() and path.suffix.lower() in SAMPLE_SUFFIXES
    )


def install_samples(models_dir: Path) -> list[Path]:
    """Copy the samples into `models_dir / "samples"`; returns the installed paths.

    Idempotent: a file already there with the same content is left alone, one that differs is
    overwritten.
    """
    target_dir = models_dir / INSTALL_SUBDIR
    target_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for source in sample_files():
        target = target_dir / source.name
        if not _same_content(source, target):
            shutil.copyfile(source, target)
        installed.append(target)
    return installed


def _same_content(a: Path, b: Path) -> bool:
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    return a.read_bytes() == b.read_bytes()
