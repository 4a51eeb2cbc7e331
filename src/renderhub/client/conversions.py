"""Conversions as the client sees them: where a model is read and the asset written, and
what the service says of a conversion. Only the 2021-01-01 API has conversions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from renderhub.status import ConversionStatus

ASSET_SUFFIX = ".arrAsset"


@dataclass(frozen=True, slots=True)
class ConversionInput:
    """The model `asset_path` (under `blob_prefix`) in a storage container. `sas` is a
    container SAS that allows read and list (sp=rl); a file:// container needs none."""

    container_uri: str
    asset_path: str
    blob_prefix: str | None = None
    sas: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "storageContainerUri": self.container_uri,
            "relativeInputAssetPath": self.asset_path,
        }
        if self.blob_prefix:
            body["blobPrefix"] = self.blob_prefix
        if self.sas:
            body["storageContainerReadListSas"] = self.sas
        return body


@dataclass(frozen=True, slots=True)
class ConversionOutput:
    """Where the asset goes: `<blob_prefix><asset_filename>` in a container. `sas` allows
    writing (sp=w). Without a name the service uses the input's with `.arrAsset`."""

    container_uri: str
    blob_prefix: str | None = None
    asset_filename: str | None = None
    sas: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"storageContainerUri": self.container_uri}
        if self.blob_prefix:
            body["blobPrefix"] = self.blob_prefix
        if self.asset_filename:
            body["outputAssetFilename"] = self.asset_filename
        if self.sas:
            body["storageContainerWriteSas"] = self.sas
        return body


@dataclass(frozen=True, slots=True)
class Conversion:
    id: str
    status: ConversionStatus
    input_container_uri: str | None = None
    input_asset_path: str | None = None
    output_container_uri: str | None = None
    output_asset_uri: str | None = None
    creation_time: datetime | None = None
    error_code: str | None = None
    message: str | None = None

    @classmethod
    def from_2021(cls, body: dict[str, Any]) -> Conversion:
        settings = body.get("settings") or {}
        source = settings.get("inputLocation") or {}
        target = settings.get("outputLocation") or {}
        error = body.get("error") or {}
        created = body.get("creationTime")
        return cls(
            id=body["id"],
            status=ConversionStatus(body["status"]),
            input_container_uri=source.get("storageContainerUri"),
            input_asset_path=source.get("relativeInputAssetPath"),
            output_container_uri=target.get("storageContainerUri"),
            output_asset_uri=(body.get("output") or {}).get("outputAssetUri"),
            creation_time=datetime.fromisoformat(created.replace("Z", "+00:00"))
            if created
            else None,
            error_code=error.get("code"),
            message=error.get("message"),
        )

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object, for `--output json`."""
        return {
            "id": self.id,
            "status": self.status.value,
            "input": _joined(self.input_container_uri, self.input_asset_path),
            "outputContainerUri": self.output_container_uri,
            "outputAssetUri": self.output_asset_uri,
            "creationTime": self.creation_time.isoformat() if self.creation_time else None,
            "errorCode": self.error_code,
            "message": self.message,
        }


def split_sas(url: str) -> tuple[str, str | None]:
    """`https://acct.blob.core.windows.net/input?sv=...` -> the container URI and its SAS."""
    parts = urlsplit(url)
    if not parts.query:
        return url, None
    return urlunsplit(parts._replace(query="", fragment="")), parts.query


def _joined(container: str | None, path: str | None) -> str | None:
    if container is None or path is None:
        return None
    return f"{container.rstrip('/')}/{path}"
