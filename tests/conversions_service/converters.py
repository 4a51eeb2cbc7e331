"""Converters for the tests of the code around the converter (the service, the runner, the
executors): they succeed, fail, sleep past the limit, crash their process or raise, chosen by
the input's file name, so that one service runs every case. They write real files into
`file://` output containers, so a test sees which attempts ran."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from renderhub.conversions.jobs import ConversionJob, ConversionLimits, ConversionOutcome

FAILURE_MESSAGE = "The input model was not found: upload it, or fix relativeInputAssetPath."
SLOW_SECONDS_ENV = "RENDERHUB_TEST_CONVERSION_SECONDS"


def output_folder(job: ConversionJob) -> Path:
    container = Path(unquote(urlsplit(job.output.storage_container_uri).path))
    return container / job.output.blob_prefix


def succeed(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    """Write the asset (and print, which must not spoil the worker's answer)."""
    print("converting", job.conversion_id, "within", limits.timeout_seconds, "seconds")
    folder = output_folder(job)
    folder.mkdir(parents=True, exist_ok=True)
    asset = folder / job.output.output_asset_filename
    asset.write_bytes(f"asset of {job.input.relative_input_asset_path}".encode())
    uri = job.output.storage_container_uri.rstrip("/") + "/"
    return ConversionOutcome.succeeded(uri + job.output.blob_prefix + asset.name)


def fail(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    return ConversionOutcome.failed("BadRequest", FAILURE_MESSAGE)


def sleep_past_limit(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    mark_attempt(job)
    time.sleep(limits.timeout_seconds + 60)
    return succeed(job, limits)


def crash(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    os._exit(3)


def raise_error(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    raise RuntimeError("the model is upside down")


def mark_attempt(job: ConversionJob) -> None:
    """A file per attempt in the output folder: attempt-PID-CONVERSION, PID the process's."""
    folder = output_folder(job)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"attempt-{os.getpid()}-{job.conversion_id}").touch()


def leak(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    """Raise with the container's URL and SAS in the message, as a storage library may."""
    raise RuntimeError(f"cannot list {job.input.storage_container_uri}?{job.input.sas}")


def slow(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    """Mark the attempt, take a while, succeed."""
    mark_attempt(job)
    time.sleep(float(os.environ.get(SLOW_SECONDS_ENV, "2")))
    return succeed(job, limits)


_BY_STEM = {
    "fail": fail,
    "sleep": sleep_past_limit,
    "crash": crash,
    "raise": raise_error,
    "slow": slow,
    "leak": leak,
}


def scripted(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    """The converter named by the input's file name (`crash.glb` crashes); else succeed."""
    stem = Path(job.input.relative_input_asset_path).stem
    return _BY_STEM.get(stem, succeed)(job, limits)
