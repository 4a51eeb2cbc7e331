"""Where a conversion runs: `convert(job, limits)` called in a process of its own.

`python -m renderhub.conversions.worker CONVERTER` reads the job and limits as JSON on stdin
and writes the outcome as JSON on stdout; whatever the converter prints goes to stderr. The
worker ends itself when the control plane that started it dies (it is in a session of its
own, so nothing else would end it), because no one could record its outcome. Ray tasks call
`run_converter` directly.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from renderhub.conversions import outcomes
from renderhub.conversions.jobs import (
    ConversionJob,
    ConversionLimits,
    ConversionOutcome,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)

log = logging.getLogger(__name__)

Converter = Callable[[ConversionJob, ConversionLimits], ConversionOutcome]
_PARENT_CHECK_SECONDS = 0.5


def load_converter(path: str) -> Converter:
    """The function named by `module.path:function`."""
    module_name, _, function_name = path.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"A converter is named 'module:function'; got {path!r}.")
    function: Converter = getattr(importlib.import_module(module_name), function_name)
    return function


def run_converter(path: str, job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    """Run the converter; an exception it raises becomes a Failed outcome saying so."""
    try:
        outcome = load_converter(path)(job, limits)
    except Exception as exc:
        log.exception("conversion %s: the converter raised", job.conversion_id)
        return outcomes.converter_raised(exc)
    if not isinstance(outcome, ConversionOutcome):
        return outcomes.converter_raised(TypeError(f"it returned {type(outcome).__name__}"))
    return outcome


def encode_request(job: ConversionJob, limits: ConversionLimits) -> bytes:
    return json.dumps(
        {"job": dataclasses.asdict(job), "limits": dataclasses.asdict(limits)}
    ).encode()


def decode_request(raw: bytes) -> tuple[ConversionJob, ConversionLimits]:
    request = json.loads(raw)
    job = request["job"]
    limits = request["limits"]
    limits["allowed_storage"] = tuple(limits["allowed_storage"])
    return (
        ConversionJob(
            conversion_id=job["conversion_id"],
            input=InputLocation(**job["input"]),
            output=OutputLocation(**job["output"]),
        ),
        ConversionLimits(**limits),
    )


def encode_outcome(outcome: ConversionOutcome) -> bytes:
    return json.dumps(dataclasses.asdict(outcome)).encode()


def decode_outcome(raw: bytes) -> ConversionOutcome:
    """The outcome a worker wrote; ValueError if it wrote none (or something else)."""
    try:
        values: dict[str, Any] = json.loads(raw)
        values["status"] = ConversionStatus(values["status"])
        return ConversionOutcome(**values)
    except (TypeError, KeyError) as exc:
        raise ValueError(f"not an outcome: {exc}") from exc


def _end_with_parent(parent: int) -> None:
    """End this process soon after the process that started it is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(70)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    parent = int(os.environ.get("RENDERHUB_CONVERSION_PARENT", os.getppid()))
    _end_with_parent(parent)
    result = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the converter's prints go to stderr, not into the outcome
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    # azure-core logs every request's URL and headers at INFO: dozens of lines a conversion
    # that bury the service's own log (they go to its stderr); its warnings still show.
    logging.getLogger("azure").setLevel(logging.WARNING)
    job, limits = decode_request(sys.stdin.buffer.read())
    outcome = run_converter(argv[1], job, limits)
    result.write(encode_outcome(outcome))
    result.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
