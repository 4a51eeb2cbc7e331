"""The failures the service itself reports for a conversion (the converter reports the rest):
each message says what happened and what the user can do."""

from __future__ import annotations

from renderhub.conversions.jobs import ConversionOutcome

INTERNAL = "InternalServerError"


def timed_out(seconds: float) -> ConversionOutcome:
    return ConversionOutcome.failed(
        INTERNAL,
        f"The conversion took longer than the limit of {seconds:g} seconds and was stopped. "
        "Simplify the model (fewer polygons, smaller textures), or ask the operator to raise "
        "the limit (renderhub serve: RENDERHUB_CONVERSION_TIMEOUT_SECONDS).",
    )


def worker_died(detail: str) -> ConversionOutcome:
    return ConversionOutcome.failed(
        INTERNAL,
        f"The conversion's worker process ended without an outcome ({detail}). The model may "
        "need more memory than the machine has, or the converter crashed; the service's log "
        "says more. Try again with a new conversion id.",
    )


def converter_raised(error: BaseException) -> ConversionOutcome:
    return ConversionOutcome.failed(
        INTERNAL,
        f"The converter failed unexpectedly ({type(error).__name__}: {error}). The service's "
        "log has the details; try again with a new conversion id.",
    )


def restarted_too_often(attempts: int) -> ConversionOutcome:
    return ConversionOutcome.failed(
        INTERNAL,
        f"The service restarted {attempts} times during this conversion; it was started again "
        "each time and never finished. Try again with a new conversion id; if it fails the "
        "same way, ask the operator to look at the service's log.",
    )
