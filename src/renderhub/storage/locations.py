"""Checking where a conversion may read and write, before anything is recorded or touched.

The API calls `check_input_location` / `check_output_location` to answer 400 naming the
field; the converter calls them again where it runs, since the operator's allowed prefixes
(`renderhub serve --allow-storage PREFIX`) are the only thing between a request and a folder.
Nothing is allowed by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from renderhub.conversions.jobs import ASSET_SUFFIX, InputLocation, OutputLocation
from renderhub.errors import BadRequest

MAX_URI_LENGTH = 2048
MAX_SAS_LENGTH = 4096
MAX_BLOB_NAME_LENGTH = 1024  # Azure's own limit on a blob name

INPUT_FIELDS = "settings.inputLocation"
OUTPUT_FIELDS = "settings.outputLocation"


@dataclass(frozen=True, slots=True)
class ContainerAddress:
    """A checked container: `uri` without SAS (safe to show and log), the SAS apart, and for
    a file:// container the folder it names."""

    uri: str
    sas: str | None = None
    folder: Path | None = None

    @property
    def is_local(self) -> bool:
        return self.folder is not None


def check_input_location(location: InputLocation, allowed: Sequence[str]) -> ContainerAddress:
    """Raise BadRequest naming the field unless the input location is well formed, allowed
    by the operator and has a SAS where one is needed; return the container's address."""
    address = container_address(
        location.storage_container_uri,
        location.sas,
        allowed,
        uri_field=f"{INPUT_FIELDS}.storageContainerUri",
        sas_field=f"{INPUT_FIELDS}.storageContainerReadListSas",
    )
    check_blob_prefix(location.blob_prefix, f"{INPUT_FIELDS}.blobPrefix")
    field = f"{INPUT_FIELDS}.relativeInputAssetPath"
    check_blob_name(location.relative_input_asset_path, field)
    check_blob_name(in_folder(location.blob_prefix, location.relative_input_asset_path), field)
    return address


def check_output_location(location: OutputLocation, allowed: Sequence[str]) -> ContainerAddress:
    """As `check_input_location`, for where the asset, .result.json and .info.json go."""
    address = container_address(
        location.storage_container_uri,
        location.sas,
        allowed,
        uri_field=f"{OUTPUT_FIELDS}.storageContainerUri",
        sas_field=f"{OUTPUT_FIELDS}.storageContainerWriteSas",
    )
    check_blob_prefix(location.blob_prefix, f"{OUTPUT_FIELDS}.blobPrefix")
    field = f"{OUTPUT_FIELDS}.outputAssetFilename"
    name = location.output_asset_filename
    check_blob_name(name, field)
    if "/" in name:
        raise BadRequest(
            f"'{field}' must be a file name without '/' (use blobPrefix).", target=field
        )
    if not name.endswith(ASSET_SUFFIX) or name == ASSET_SUFFIX:
        raise BadRequest(f"'{field}' must be a name ending in '{ASSET_SUFFIX}'.", target=field)
    check_blob_name(in_folder(location.blob_prefix, name), field)
    return address


def default_output_filename(relative_input_asset_path: str) -> str:
    """ARR's default `outputAssetFilename`: the input's file name with `.arrAsset`."""
    stem = PurePosixPath(relative_input_asset_path).stem or "model"
    return stem + ASSET_SUFFIX


def container_address(
    uri: str,
    sas: str | None,
    allowed: Sequence[str],
    *,
    uri_field: str,
    sas_field: str,
) -> ContainerAddress:
    """Parse a container URI (https/http blob container, or file:// folder) and its SAS."""
    if not uri or len(uri) > MAX_URI_LENGTH:
        raise BadRequest(
            f"'{uri_field}' must be 1 to {MAX_URI_LENGTH} characters long.", target=uri_field
        )
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise BadRequest(f"'{uri_field}' is not a valid URI.", target=uri_field) from None
    if parts.query or parts.fragment:
        raise BadRequest(
            f"'{uri_field}' must be the container's URI alone; give the SAS token in "
            f"'{sas_field.rsplit('.', 1)[-1]}', not in the URI.",
            target=uri_field,
        )
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        address = _blob_container(uri, parts.hostname, parts.path, uri_field)
        address = ContainerAddress(address.uri, normalise_sas(sas, sas_field, address.uri))
    elif scheme == "file":
        # A SAS means nothing to a folder; it is accepted and not used, so that a script
        # written for blob storage runs unchanged against a local folder.
        address = _folder_container(uri, parts.netloc, parts.path, uri_field)
    else:
        raise BadRequest(
            f"'{uri_field}' must be an https:// blob container URI (or a file:// folder the "
            "operator allowed).",
            target=uri_field,
        )
    check_allowed(address.uri, allowed, uri_field)
    return address


def _blob_container(uri: str, host: str | None, path: str, field: str) -> ContainerAddress:
    if not host:
        raise BadRequest(f"'{field}' has no host.", target=field)
    container = path.strip("/")
    if not container:
        raise BadRequest(
            f"'{field}' names no container: it must look like "
            "https://ACCOUNT.blob.core.windows.net/CONTAINER.",
            target=field,
        )
    if ".." in container.split("/"):
        raise BadRequest(f"'{field}' must not contain '..' segments.", target=field)
    return ContainerAddress(uri.rstrip("/"))


def _folder_container(uri: str, netloc: str, path: str, field: str) -> ContainerAddress:
    if netloc not in ("", "localhost"):
        raise BadRequest(f"'{field}' names a folder on another machine ({netloc}).", target=field)
    try:
        folder = Path(unquote(path)).resolve()
    except (ValueError, OSError):
        raise BadRequest(f"'{field}' is not a valid folder path.", target=field) from None
    if not path.startswith("/"):
        raise BadRequest(f"'{field}' must be an absolute file:/// URI.", target=field)
    return ContainerAddress(folder.as_uri(), folder=folder)


def normalise_sas(sas: str | None, field: str, uri: str) -> str:
    """The SAS without its leading '?'; refuse a missing or malformed one."""
    token = (sas or "").strip().removeprefix("?")
    if not token:
        raise BadRequest(
            f"'{field}' is required for {uri}: RenderHub reads and writes blob containers "
            "with a SAS token only (ARR's linked storage accounts have no equivalent here).",
            target=field,
        )
    if len(token) > MAX_SAS_LENGTH or any(c.isspace() or c == "#" for c in token):
        raise BadRequest(f"'{field}' is not a SAS token.", target=field)
    if "sig" not in parse_qs(token):
        raise BadRequest(
            f"'{field}' is not a SAS token: it has no signature (sig=...).", target=field
        )
    return token


def check_allowed(uri: str, allowed: Sequence[str], field: str) -> None:
    """A container is allowed when its URI is an allowed prefix or lies under one; a prefix
    ends at a '/' boundary, so `https://a.blob.core.windows.net` does not allow
    `https://a.blob.core.windows.net.example.com/...`."""
    if not allowed:
        raise BadRequest(
            f"'{field}' is not allowed: this RenderHub allows no storage for conversions "
            "(the operator must start it with --allow-storage PREFIX).",
            target=field,
        )
    if not any(under_prefix(uri, prefix) for prefix in allowed):
        raise BadRequest(
            f"'{field}' ({uri}) is not allowed: the operator allows conversions to use only "
            "containers under the prefixes given with --allow-storage.",
            target=field,
        )


def under_prefix(uri: str, prefix: str) -> bool:
    """`uri` is `prefix` or lies under it, the prefix ending at a '/' boundary."""
    if not prefix:
        return False
    if prefix.endswith("/"):
        return uri.startswith(prefix) or uri == prefix.rstrip("/")
    return uri == prefix or uri.startswith(prefix + "/")


def in_folder(prefix: str, name: str) -> str:
    """The blob `name` under `prefix`, a virtual folder as in ARR: "cars" and "cars/" both
    put "box.glb" at "cars/box.glb"."""
    if not prefix or prefix.endswith("/"):
        return prefix + name
    return f"{prefix}/{name}"


def check_blob_prefix(prefix: str, field: str) -> None:
    """An empty prefix, or a relative one with no '..' segments, within Azure's length."""
    if prefix:
        _check_relative(prefix, field)


def check_blob_name(name: str, field: str) -> None:
    """A non-empty relative blob name (not a folder) with no '..' segments."""
    if not name:
        raise BadRequest(f"'{field}' is required.", target=field)
    _check_relative(name, field)
    if name.endswith("/"):
        raise BadRequest(f"'{field}' must name a file, not end with '/'.", target=field)


def _check_relative(name: str, field: str) -> None:
    if len(name) > MAX_BLOB_NAME_LENGTH:
        raise BadRequest(
            f"'{field}' is longer than {MAX_BLOB_NAME_LENGTH} characters.", target=field
        )
    if name.startswith("/"):
        raise BadRequest(f"'{field}' must not start with '/'.", target=field)
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadRequest(f"'{field}' must not contain '\\' or control characters.", target=field)
    if ".." in PurePosixPath(name).parts or "//" in name:
        raise BadRequest(f"'{field}' must not contain '..' or empty segments.", target=field)
