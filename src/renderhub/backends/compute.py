"""Measuring a machine's computational power, reported as a session's `teraflops`."""

from __future__ import annotations

import time

import numpy as np

_SIZE = 512
_ROUNDS = 5


def measure_teraflops() -> float:
    """Float32 matrix-multiply throughput of this machine, best of a few rounds, in TFLOP/s.

    It takes tens of milliseconds; callers measure once and keep the figure."""
    rng = np.random.default_rng(0)
    left = rng.standard_normal((_SIZE, _SIZE), dtype=np.float32)
    right = rng.standard_normal((_SIZE, _SIZE), dtype=np.float32)
    best = float("inf")
    for _ in range(_ROUNDS):
        started = time.perf_counter()
        np.matmul(left, right)
        best = min(best, time.perf_counter() - started)
    return round(2 * _SIZE**3 / best / 1e12, 3)
