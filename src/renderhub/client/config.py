"""Where the client's settings come from, lowest to highest: ARR's own `arrconfig.json`,
RenderHub's client config file, `RENDERHUB_*` environment variables, command-line flags.

ARR's file names a region, not an endpoint; RenderHub's config file maps region names to
endpoints (`"regions": {"westus2": "https://renderhub.example:8443"}`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
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
}


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
    """ARR's `arrconfig.json`: accountSettings and renderingSessionSettings."""
    data = _read_json(path, required=True)
    account = data.get("accountSettings") or {}
    session = data.get("renderingSessionSettings") or {}
    values = {
        "account_id": account.get("arrAccountId"),
        "account_key": account.get("arrAccountKey"),
        "region": account.get("region"),
        "size": session.get("vmSize"),
        "lease": session.get("maxLeaseTime"),
    }
    return {key: value for key, value in values.items() if value}


def read_config(path: Path, *, required: bool) -> dict[str, Any]:
    """RenderHub's client config file (camelCase keys, as in arrconfig.json)."""
    data = _read_json(path, required=required)
    names = {
        "endpoint": "endpoint", "stsEndpoint": "sts_endpoint", "accountId": "account_id",
        "accountKey": "account_key", "region": "region", "caBundle": "ca_bundle",
        "size": "size", "lease": "lease", "regions": "regions",
    }  # fmt: skip
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(names)}.")
    return {names[key]: value for key, value in data.items()}


def _settings(values: dict[str, Any], regions: Mapping[str, str]) -> ClientSettings:
    endpoint = values.get("endpoint") or _region_endpoint(values.get("region"), regions)
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
        sts_endpoint=values.get("sts_endpoint") or None,
        ca_bundle=values.get("ca_bundle") or None,
        size=str(values.get("size") or "Standard"),
        lease=_lease(values.get("lease")),
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
