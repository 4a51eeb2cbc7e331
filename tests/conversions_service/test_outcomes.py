"""What the service writes into a conversion's outcome never carries the job's SAS tokens."""

from __future__ import annotations

from renderhub.conversions.jobs import (
    ConversionJob,
    ConversionOutcome,
    InputLocation,
    OutputLocation,
)
from renderhub.conversions.outcomes import without_secrets

JOB = ConversionJob(
    "c",
    InputLocation("https://a.blob.core.windows.net/in", "m.glb", sas="sv=1&sp=rl&sig=ab%2Bc%3D"),
    OutputLocation("https://a.blob.core.windows.net/out", "m.arrAsset", sas="sp=w&sig=OUTSIG"),
)


def test_sas_and_signatures_are_cut_out_in_every_spelling() -> None:
    message = (
        "read https://a.blob.core.windows.net/in?sv=1&sp=rl&sig=ab%2Bc%3D failed; "
        "signature ab+c= (ab%2Bc%3D); write sig=OUTSIG refused"
    )
    cleaned = without_secrets(ConversionOutcome.failed("BadRequest", message), JOB)
    assert cleaned.error_message == (
        "read https://a.blob.core.windows.net/in?<SAS> failed; signature <SAS> (<SAS>); "
        "write sig=<SAS> refused"
    )
    assert cleaned.error_code == "BadRequest"


def test_an_outcome_without_secrets_is_unchanged() -> None:
    outcome = ConversionOutcome.succeeded("https://a.blob.core.windows.net/out/m.arrAsset")
    assert without_secrets(outcome, JOB) == outcome
    bare = ConversionJob(
        "c", InputLocation("file:///in", "m.glb"), OutputLocation("file:///o", "m")
    )
    failed = ConversionOutcome.failed("X", "nothing secret")
    assert without_secrets(failed, bare) is failed
