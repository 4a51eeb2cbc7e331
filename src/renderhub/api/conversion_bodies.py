"""The 2021-01-01 conversion API's bodies: what a create may say (a declarative model; unknown
fields are refused by name) and how a conversion is written back (never with its SAS tokens).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from renderhub.api.presenters import iso_time
from renderhub.conversions.jobs import (
    ASSET_SUFFIX,
    ConversionJob,
    ConversionStatus,
    InputLocation,
    OutputLocation,
)
from renderhub.storage.locations import default_output_filename
from renderhub.store.records import ConversionRecord
from renderhub.validation import WireBody

ContainerUri = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
BlobPath = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
BlobPrefix = Annotated[str, StringConstraints(max_length=1024)]
Sas = Annotated[str, StringConstraints(max_length=4096)]


class InputLocationBody(WireBody):
    storage_container_uri: ContainerUri = Field(alias="storageContainerUri")
    storage_container_read_list_sas: Sas | None = Field(None, alias="storageContainerReadListSas")
    blob_prefix: BlobPrefix | None = Field(None, alias="blobPrefix")
    relative_input_asset_path: BlobPath = Field(alias="relativeInputAssetPath")


class OutputLocationBody(WireBody):
    storage_container_uri: ContainerUri = Field(alias="storageContainerUri")
    storage_container_write_sas: Sas | None = Field(None, alias="storageContainerWriteSas")
    blob_prefix: BlobPrefix | None = Field(None, alias="blobPrefix")
    output_asset_filename: BlobPath | None = Field(None, alias="outputAssetFilename")

    @field_validator("output_asset_filename")
    @classmethod
    def _is_an_asset_name(cls, name: str | None) -> str | None:
        if name is not None and (not name.endswith(ASSET_SUFFIX) or name == ASSET_SUFFIX):
            raise ValueError(f"it must be a file name ending in '{ASSET_SUFFIX}'")
        return name


class ConversionSettingsBody(WireBody):
    input_location: InputLocationBody = Field(alias="inputLocation")
    output_location: OutputLocationBody = Field(alias="outputLocation")


class CreateConversionBody(WireBody):
    settings: ConversionSettingsBody

    def job(self, conversion_id: str) -> ConversionJob:
        """The conversion asked for; SAS tokens without a leading '?', absent when empty."""
        given_input = self.settings.input_location
        given_output = self.settings.output_location
        return ConversionJob(
            conversion_id=conversion_id,
            input=InputLocation(
                storage_container_uri=given_input.storage_container_uri,
                relative_input_asset_path=given_input.relative_input_asset_path,
                blob_prefix=given_input.blob_prefix or "",
                sas=_bare_sas(given_input.storage_container_read_list_sas),
            ),
            output=OutputLocation(
                storage_container_uri=given_output.storage_container_uri,
                output_asset_filename=given_output.output_asset_filename
                or default_output_filename(given_input.relative_input_asset_path),
                blob_prefix=given_output.blob_prefix or "",
                sas=_bare_sas(given_output.storage_container_write_sas),
            ),
        )


def _bare_sas(sas: str | None) -> str | None:
    if sas is None:
        return None
    return sas.removeprefix("?") or None


def conversion_2021(record: ConversionRecord) -> dict[str, Any]:
    """The 2021-01-01 conversion object: settings without the SAS values, `error` null unless
    failed, `output` only once succeeded."""
    body: dict[str, Any] = {
        "id": record.id,
        "settings": {
            "inputLocation": _without_empty(
                storageContainerUri=record.input.storage_container_uri,
                blobPrefix=record.input.blob_prefix,
                relativeInputAssetPath=record.input.relative_input_asset_path,
            ),
            "outputLocation": _without_empty(
                storageContainerUri=record.output.storage_container_uri,
                blobPrefix=record.output.blob_prefix,
                outputAssetFilename=record.output.output_asset_filename,
            ),
        },
        "status": record.status.value,
        "error": _error(record),
        "creationTime": iso_time(record.created_at),
    }
    if record.status is ConversionStatus.SUCCEEDED and record.output_asset_uri:
        body["output"] = {"outputAssetUri": record.output_asset_uri}
    return body


def _without_empty(**values: str) -> dict[str, str]:
    return {name: value for name, value in values.items() if value}


def _error(record: ConversionRecord) -> dict[str, str] | None:
    if record.status is not ConversionStatus.FAILED:
        return None
    return {
        "code": record.error_code or "InternalServerError",
        "message": record.error_message or "The conversion failed.",
    }
