"""The ray backend's conversions: one Ray task each (one CPU), waited for with the time limit
and cancelled by force past it. Ray is an optional extra, imported only here and only when
the backend is `ray` (whose backend has joined the cluster by then).

Ray does not retry a task whose worker died: the store decides what runs again."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from renderhub.conversions import outcomes
from renderhub.conversions.jobs import ConversionJob, ConversionLimits, ConversionOutcome
from renderhub.conversions.worker import run_converter

log = logging.getLogger(__name__)

_RESULT_SECONDS = 30.0  # fetching a finished task's (small) outcome


@functools.cache
def _remote_converter() -> Any:
    import ray

    return ray.remote(num_cpus=1, max_retries=0)(run_converter)


class RayExecutor:
    """Runs each conversion as a Ray task (the caller bounds how many at once)."""

    def __init__(self, converter: str) -> None:
        self._converter = converter

    async def run(self, job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
        import ray

        reference = _remote_converter().remote(self._converter, job, limits)
        try:
            finished = await asyncio.to_thread(_wait, reference, limits.timeout_seconds)
        except asyncio.CancelledError:
            ray.cancel(reference, force=True)
            raise
        if not finished:
            log.warning("conversion %s ran past its time limit; cancelled", job.conversion_id)
            await asyncio.to_thread(ray.cancel, reference, force=True)
            return outcomes.timed_out(limits.timeout_seconds)
        try:
            outcome: ConversionOutcome = await asyncio.to_thread(
                ray.get, reference, timeout=_RESULT_SECONDS
            )
        except ray.exceptions.RayError as exc:
            log.warning("conversion %s: its Ray task failed: %s", job.conversion_id, exc)
            return outcomes.worker_died(f"the Ray task failed: {type(exc).__name__}")
        return outcome


def _wait(reference: Any, seconds: float) -> bool:
    import ray

    finished, _ = ray.wait([reference], timeout=seconds)
    return bool(finished)
