"""Where the client's settings come from, lowest to highest: ARR's own `arrconfig.json`,
RenderHub's client config file, `RENDERHUB_*` environment variables, command-line flags.

ARR's file names a region or a full URL. Older files have `accountSettings.region`; the last
template of ARR's scripts (release 1.2.32) has `accountSettings.arrAccountDomain` (the STS) and
`renderingSessionSettings.remoteRenderingDomain` (the session API), each a region name or a
URL, and an `assetConversionSettings` section. A URL is used as it is; a region name goes
through the `regions` of RenderHub's config file
(`"regions": {"westus2": "https://renderhub.example:8443"}`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from renderhub.client.errors import ClientError
from renderhub.timespan import parse_timespan

DEFAULT_CONFIG = Path("~/.config/renderhub/client.json")
DEFAULT_LEASE = timedelta(hours=1)

_ENVIRONMENT = {
    "endpoint": "RENDERHUB_ENDPOINT",
    "sts_endpoint": "RENDERHUB_STS_ENDPOINT",
    "account_id": "RENDERHUB_ACCOUNT_ID",
    "account_key": "RENDERHUB_ACCOUNT_KEY",
    "region": "RENDERHUB_REGION",
    "ca_bundle": "RENDERHUB_CA_BUNDLE",
    "size": "RENDERHUB_SIZE",
    "lease": "RENDERHUB_LEASE",
    "blob_endpoint": "RENDERHUB_BLOB_ENDPOINT",
    "admin_token": "RENDERHUB_ADMIN_TOKEN",  # the admin API's (renderhub.cli.admin_options)
}
_CONVERSION_KEYS = (
    "storage_account", "blob_endpoint", "input_container", "output_container", "input_folder",
    "input_asset_path", "output_folder", "output_asset_filename",
)  # fmt: skip


class ConfigError(ClientError):
    """The settings are incomplete or a config file is unreadable."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    endpoint: str
    account_id: str
    account_key: str
    sts_endpoint: str | None = None
    ca_bundle: str | None = None
    size: str = "Standard"
    lease: timedelta = DEFAULT_LEASE
    conversion: ConversionDefaults = field(default_factory=lambda: ConversionDefaults())


@dataclass(frozen=True, slots=True)
class ConversionDefaults:
    """arrconfig.json's `assetConversionSettings`, for `renderhub conversion start`. Container
    URLs are `<blob endpoint>/<container>`; the blob endpoint is Azure's for the storage
    account unless `blobEndpoint` (config file) or `--blob-endpoint` names another."""

    storage_account: str | None = None
    blob_endpoint: str | None = None
    input_container: str | None = None
    output_container: str | None = None
    input_folder: str | None = None
    input_asset_path: str | None = None
    output_folder: str | None = None
    output_asset_filename: str | None = None

    def container_uri(self, container: str | None) -> str | None:
        if not container:
            return None
        endpoint = self.blob_endpoint
        if not endpoint and self.storage_account:
            endpoint = f"https://{self.storage_account}.blob.core.windows.net"
        return f"{endpoint.rstrip('/')}/{container}" if endpoint else None


def load_client_settings(
    flags: Mapping[str, Any],
    *,
    config_path: Path | None = None,
    arrconfig_path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ClientSettings:
    """Merge every source; `flags` holds the command line's values (None when not given)."""
    merged: dict[str, Any] = {}
    arrconfig = arrconfig_path or _path(environ.get("RENDERHUB_ARRCONFIG"))
    if arrconfig is not None:
        merged.update(read_arrconfig(arrconfig))
    own_path = config_path or _path(environ.get("RENDERHUB_CONFIG")) or DEFAULT_CONFIG.expanduser()
    own = read_config(own_path, required=config_path is not None)
    regions = own.pop("regions", {})
    merged.update(own)
    merged.update({key: environ[name] for key, name in _ENVIRONMENT.items() if environ.get(name)})
    if not merged.get("ca_bundle") and environ.get("REQUESTS_CA_BUNDLE"):
        merged["ca_bundle"] = environ["REQUESTS_CA_BUNDLE"]  # what ARR's Python users already set
    merged.update({key: value for key, value in flags.items() if value is not None})
    return _settings(merged, regions)


def read_arrconfig(path: Path) -> dict[str, Any]:
    """ARR's `arrconfig.json`, either generation: account, session and conversion settings.
    Values still holding the template's `<...>` placeholders count as not given."""
    data = _read_json(path, required=True)
    account = _section(data, "accountSettings")
    session = _section(data, "renderingSessionSettings")
    conversion = _section(data, "assetConversionSettings")
    values = {
        "account_id": account.get("arrAccountId"),
        "account_key": account.get("arrAccountKey"),
        "size": session.get("vmSize"),
        "lease": session.get("maxLeaseTime"),
        **_domain("endpoint", "region", session.get("remoteRenderingDomain")),
        **_domain("sts_endpoint", "sts_region", account.get("arrAccountDomain")),
        "storage_account": conversion.get("storageAccountName"),
        "input_container": conversion.get("blobInputContainerName"),
        "output_container": conversion.get("blobOutputContainerName"),
        "input_folder": conversion.get("inputFolderPath"),
        "input_asset_path": conversion.get("inputAssetPath"),
        "output_folder": conversion.get("outputFolderPath"),
        "output_asset_filename": conversion.get("outputAssetFileName"),
    }
    if not values.get("region") and not values.get("endpoint"):
        values["region"] = account.get("region")  # the older files' one region
    return {key: value for key, value in values.items() if _given(value)}


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    section = data.get(name) or {}
    return section if isinstance(section, dict) else {}


def _domain(url_key: str, region_key: str, value: Any) -> dict[str, Any]:
    """A full URL is used as it is; Azure's own domain names (`westus2.mixedreality.azure.com`,
    `remoterendering.westus2.mixedreality.azure.com`, as older files wrote them) and bare
    region names (`westus2`) stand for a region; another host name gets https://."""
    if not _given(value):
        return {}
    text = str(value).strip().rstrip("/")
    if "://" in text:
        return {url_key: text}
    labels = text.lower().split(".")
    if text.lower().endswith(_AZURE_DOMAIN):
        region = labels[-4] if len(labels) >= 4 else None
        return {region_key: region} if region else {}
    if "." in text or ":" in text:
        return {url_key: f"https://{text}"}
    return {region_key: text}


_AZURE_DOMAIN = ".mixedreality.azure.com"


def _given(value: Any) -> bool:
    if value is None or value == "":
        return False
    text = str(value).strip()
    return not (text.startswith("<") and text.endswith(">"))


def read_config(path: Path, *, required: bool) -> dict[str, Any]:
    """RenderHub's client config file (camelCase keys, as in arrconfig.json)."""
    data = _read_json(path, required=required)
    names = {
        "endpoint": "endpoint", "stsEndpoint": "sts_endpoint", "accountId": "account_id",
        "accountKey": "account_key", "region": "region", "caBundle": "ca_bundle",
        "size": "size", "lease": "lease", "regions": "regions", "blobEndpoint": "blob_endpoint",
        "adminToken": "admin_token",
    }  # fmt: skip
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(names)}.")
    return {names[key]: value for key, value in data.items()}


def _settings(values: dict[str, Any], regions: Mapping[str, str]) -> ClientSettings:
    endpoint = values.get("endpoint") or _region_endpoint(values.get("region"), regions)
    sts_endpoint = values.get("sts_endpoint") or _region_endpoint(values.get("sts_region"), regions)
    required = {
        "an endpoint": endpoint,
        "an account id": values.get("account_id"),
        "an account key": values.get("account_key"),
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise ConfigError(
            f"Missing {' and '.join(missing)}: pass --endpoint/--account-id/--account-key, set "
            "RENDERHUB_ENDPOINT/RENDERHUB_ACCOUNT_ID/RENDERHUB_ACCOUNT_KEY, or use a config file."
        )
    return ClientSettings(
        endpoint=str(endpoint),
        account_id=str(values["account_id"]),
        account_key=str(values["account_key"]),
        sts_endpoint=sts_endpoint or None,
        ca_bundle=values.get("ca_bundle") or None,
        size=str(values.get("size") or "Standard"),
        lease=_lease(values.get("lease")),
        conversion=ConversionDefaults(**{key: values.get(key) or None for key in _CONVERSION_KEYS}),
    )


def _region_endpoint(region: str | None, regions: Mapping[str, str]) -> str | None:
    if not region:
        return None
    if region not in regions:
        raise ConfigError(
            f'Region {region!r} has no RenderHub endpoint: add it under "regions" in '
            f"{DEFAULT_CONFIG} or pass --endpoint."
        )
    return regions[region]


def _lease(value: Any) -> timedelta:
    if value is None or value == "":
        return DEFAULT_LEASE
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(minutes=value)
    try:
        return parse_lease(str(value))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def parse_lease(text: str) -> timedelta:
    """'4h', '90m', '1d', '240' (minutes) or a .NET time span '4:0:0'."""
    value = text.strip().lower()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    try:
        if value[-1:] in units and value[:-1].replace(".", "", 1).isdigit():
            return timedelta(**{units[value[-1]]: float(value[:-1])})
        if value.isdigit():
            return timedelta(minutes=int(value))
        return parse_timespan(value)
    except Exception as exc:  # parse_timespan raises the server's BadRequest; say it plainly
        raise ValueError(
            f"{text!r} is not a lease: write it as 4h, 90m, 240 (minutes) or 4:0:0."
        ) from exc


def _read_json(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        data = json.loads(path.expanduser().read_text())
    except FileNotFoundError as exc:
        if required:
            raise ConfigError(f"The config file {path} does not exist.") from exc
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The config file {path} cannot be read: {exc}.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"The config file {path} must hold a JSON object.")
    return data


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
