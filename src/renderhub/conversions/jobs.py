"""What a conversion is asked to do, what limits it runs under, and how it ended.

These plain values cross process boundaries (a worker process, a Ray task), so they hold
only strings and numbers. SAS tokens live here and in the store, never in a response.
"""

from __future__ import annotations

from dataclasses import dataclass

from renderhub.status import ConversionStatus

# What a conversion writes: `<name>.arrAsset` (the format is renderhub.assets').
ASSET_SUFFIX = ".arrAsset"

__all__ = [
    "ASSET_SUFFIX",
    "ConversionJob",
    "ConversionLimits",
    "ConversionOutcome",
    "ConversionStatus",
    "InputLocation",
    "OutputLocation",
]


@dataclass(frozen=True, slots=True)
class InputLocation:
    """Where the model is read: `relative_input_asset_path` under `blob_prefix` (if any) is
    the model; the files next to it (textures, buffers, the settings file) are read too."""

    storage_container_uri: str
    relative_input_asset_path: str
    blob_prefix: str = ""
    sas: str | None = None  # storageContainerReadListSas, without a leading '?'


@dataclass(frozen=True, slots=True)
class OutputLocation:
    """Where the asset and its `.result.json` / `.info.json` are written:
    `<blob_prefix><output_asset_filename>` in the container."""

    storage_container_uri: str
    output_asset_filename: str
    blob_prefix: str = ""
    sas: str | None = None  # storageContainerWriteSas, without a leading '?'


@dataclass(frozen=True, slots=True)
class ConversionJob:
    conversion_id: str
    input: InputLocation
    output: OutputLocation


@dataclass(frozen=True, slots=True)
class ConversionLimits:
    """The operator's limits, checked again where the conversion runs."""

    allowed_storage: tuple[str, ...]
    max_input_bytes: int
    max_output_bytes: int
    storage_timeout_seconds: float
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class ConversionOutcome:
    """How a conversion ended. On failure `error_code` is one of ARR's codes (`BadRequest`
    for a problem with the input or the containers, `InternalServerError` otherwise) and
    `error_message` tells the user what to do."""

    status: ConversionStatus
    output_asset_uri: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def succeeded(cls, output_asset_uri: str) -> ConversionOutcome:
        return cls(ConversionStatus.SUCCEEDED, output_asset_uri=output_asset_uri)

    @classmethod
    def failed(cls, code: str, message: str) -> ConversionOutcome:
        return cls(ConversionStatus.FAILED, error_code=code, error_message=message)
