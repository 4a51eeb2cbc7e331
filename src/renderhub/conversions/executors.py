"""Where conversions run, by backend: worker processes on this machine, or Ray tasks."""

from __future__ import annotations

from typing import Protocol

from renderhub.conversions.jobs import ConversionJob, ConversionLimits, ConversionOutcome
from renderhub.conversions.processes import ProcessExecutor
from renderhub.conversions.ray_tasks import RayExecutor
from renderhub.settings import Settings


class Executor(Protocol):
    async def run(self, job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
        """Run one conversion to its outcome within `limits.timeout_seconds` (a timeout is a
        Failed outcome, not an exception); cancelling the call stops the conversion."""
        ...


def executor_for(settings: Settings) -> Executor:
    if settings.backend == "ray":
        return RayExecutor(settings.converter)
    return ProcessExecutor(settings.converter)


def limits_of(settings: Settings) -> ConversionLimits:
    return ConversionLimits(
        allowed_storage=tuple(settings.allow_storage),
        max_input_bytes=settings.max_conversion_input_bytes,
        max_output_bytes=settings.max_conversion_output_bytes,
        storage_timeout_seconds=settings.storage_timeout_seconds,
        timeout_seconds=settings.conversion_timeout_seconds,
    )
