"""Generate RenderHub's sample models, or one big mesh for benchmarks.

python scripts/make_samples.py                      # rewrite src/renderhub/samples/*
python scripts/make_samples.py --out DIR            # write the samples elsewhere
python scripts/make_samples.py --triangles 1000000 --output /tmp/big.glb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from renderhub.samples import SAMPLES_DIR
from renderhub.samples.procedural import make_triangle_mesh, write_mesh, write_samples


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and write the requested files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="where the samples go")
    parser.add_argument("--triangles", type=int, help="write one mesh with this many triangles")
    parser.add_argument("--output", type=Path, help="file for --triangles (.glb, .obj, .ply, .stl)")
    args = parser.parse_args(argv)
    if args.triangles is not None:
        if args.output is None:
            parser.error("--triangles needs --output PATH")
        if args.triangles < 2:
            parser.error("--triangles must be at least 2")
        write_mesh(make_triangle_mesh(args.triangles), args.output)
        print(f"{args.output}: {args.triangles:,} triangles, {args.output.stat().st_size:,} bytes")
        return 0
    for path in write_samples(args.out):
        print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
