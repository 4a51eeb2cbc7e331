"""What every bench here shares: progress lines on stderr, and summaries of timings."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def log(message: str) -> None:
    """A progress line on stderr (stdout carries only the JSON result)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (fraction in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float], digits: int = 2) -> dict[str, float | int] | None:
    """Count, median, p95, min, max and mean of some timings; None when there are none."""
    if not values:
        return None
    return {
        "count": len(values),
        "median": round(statistics.median(values), digits),
        "p95": round(percentile(values, 0.95), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "mean": round(statistics.fmean(values), digits),
    }


def new_report(
    benchmark: str,
    started: datetime,
    machine: dict[str, Any],
    args: argparse.Namespace,
    **fields: Any,
) -> dict[str, Any]:
    """The head of a bench's JSON report: what ran, when, where, with which options (paths as
    text), then `fields` (its targets, its mode)."""
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    return {
        "benchmark": benchmark,
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine,
        "config": config,
        **fields,
    }


def emit(report: dict[str, Any], started: datetime, output: Path | None) -> None:
    """Finish a report (load at the end, elapsed time) and print it as JSON (and save it)."""
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["elapsed_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    text = json.dumps(report, indent=2)
    print(text)
    if output:
        output.write_text(text + "\n")
