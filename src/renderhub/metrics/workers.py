"""Several API worker processes (`--workers N`): each counts what it serves, and a scrape,
answered by any one of them, must add up all of them. prometheus_client's multiprocess mode
does that through files in one directory, named by the environment variable below, which must
be set before a worker imports prometheus_client: `renderhub serve` sets it (and empties the
directory, so that a restart starts from zero) before it starts the workers.

This module imports nothing of prometheus_client, so that `renderhub serve` can use it first."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the render host reads MULTIPROCESS_ENV and starts fast without settings
    from renderhub.settings import Settings

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def worker_metrics_dir(settings: Settings) -> Path:
    """One directory per listening port: two services on one machine never share one."""
    return settings.data_dir / "metrics" / str(settings.port)


def prepare_worker_metrics(settings: Settings) -> None:
    """With several workers, point them at an empty directory to count in."""
    if settings.workers <= 1:
        return
    directory = worker_metrics_dir(settings)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)


def multiprocess_dir() -> str | None:
    """The directory the workers count in, when this process is one of several."""
    return os.environ.get(MULTIPROCESS_ENV) or None
