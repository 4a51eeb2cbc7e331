"""A conversion as the admin API writes it (docs/admin-api.md, "Conversion"): never with a
SAS token, which is the account's secret, not the operator's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from renderhub.admin.times import utc_time
from renderhub.conversions.jobs import InputLocation
from renderhub.storage.locations import in_folder
from renderhub.store.records import ConversionRecord


def conversion_json(record: ConversionRecord) -> dict[str, Any]:
    return {
        "accountId": record.account_id,
        "conversionId": record.id,
        "status": record.status.value,
        "created": utc_time(record.created_at),
        "started": utc_time(record.started_at),
        "ended": utc_time(record.ended_at),
        "errorCode": record.error_code,
        "errorMessage": record.error_message,
        "input": input_url(record.input),
        "outputAssetUri": _without_query(record.output_asset_uri),
    }


def input_url(location: InputLocation) -> str:
    """The model's blob URL: the container, the prefix and the path, without the SAS."""
    container = _without_query(location.storage_container_uri) or ""
    name = in_folder(location.blob_prefix, location.relative_input_asset_path)
    return f"{container.rstrip('/')}/{name}"


def _without_query(url: str | None) -> str | None:
    """The URL without its query (where a SAS token travels) and fragment."""
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
