"""The failures the service itself reports for a conversion (the converter reports the rest):
each message says what happened and what the user can do. Whatever the outcome, its text
never carries the job's SAS tokens (an exception's message may quote a URL with its SAS)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, quote

from renderhub.conversions.jobs import ConversionJob, ConversionOutcome

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


def without_secrets(outcome: ConversionOutcome, job: ConversionJob) -> ConversionOutcome:
    """The outcome with the job's SAS tokens (and their signatures, raw or URL-encoded) cut
    out of its message and asset URI: these are shown to anyone reading the conversion."""
    secrets = _secrets(job)
    if not secrets:
        return outcome
    return replace(
        outcome,
        error_message=_redact(outcome.error_message, secrets),
        output_asset_uri=_redact(outcome.output_asset_uri, secrets),
    )


def _secrets(job: ConversionJob) -> list[str]:
    found: set[str] = set()
    for sas in (job.input.sas, job.output.sas):
        if not sas:
            continue
        found.add(sas)
        for name, value in parse_qsl(sas):
            if name == "sig" and value:
                found.update({value, quote(value, safe=""), quote(value)})
    return sorted(found, key=len, reverse=True)  # the whole SAS before its signature


def _redact(text: str | None, secrets: list[str]) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        text = text.replace(secret, "<SAS>")
    return text
