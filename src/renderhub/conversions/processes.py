"""The local backend's conversions: one worker process each (`renderhub.conversions.worker`),
killed with everything it started when it runs past the time limit or the service stops.

A process of its own per conversion keeps a converter that leaks, crashes or spins away from
the API process, and makes the time limit a plain kill."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from renderhub.conversions import outcomes
from renderhub.conversions.jobs import ConversionJob, ConversionLimits, ConversionOutcome
from renderhub.conversions.worker import decode_outcome, encode_request

log = logging.getLogger(__name__)

_REAP_SECONDS = 10.0


class ProcessExecutor:
    """Runs each conversion in a new worker process (the caller bounds how many at once)."""

    def __init__(self, converter: str) -> None:
        self._converter = converter

    async def run(self, job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "renderhub.conversions.worker", self._converter,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: killed as one
            env={**os.environ, "RENDERHUB_CONVERSION_PARENT": str(os.getpid())},
        )  # fmt: skip
        try:
            async with asyncio.timeout(limits.timeout_seconds):
                written, _ = await process.communicate(encode_request(job, limits))
        except TimeoutError:
            log.warning("conversion %s ran past its time limit; killed", job.conversion_id)
            return outcomes.timed_out(limits.timeout_seconds)
        finally:
            await _kill(process)
        try:
            return decode_outcome(written)
        except ValueError:
            return outcomes.worker_died(_how_it_ended(process.returncode))


async def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the worker's process group, if the worker has not ended, and reap it (within a
    limit: a stop of the service never hangs on a worker)."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), _REAP_SECONDS)
        except TimeoutError:
            log.error("conversion worker %d was killed but not reaped", process.pid)


def _how_it_ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        return f"killed by signal {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"
