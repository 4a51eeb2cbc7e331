"""One conversion from start to end: the model and its files in, an asset and its reports out.

`convert` runs in a worker process (the runner calls it by its dotted name,
`renderhub.conversions.converter.convert`), blocks, and never raises: every failure becomes
`ConversionOutcome.failed(code, message)` with ARR's code and a sentence telling the user what
to do, and the same goes into `<name>.result.json` when the output container can be written.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from renderhub.assets import SUFFIX as ASSET_SUFFIX
from renderhub.assets import write_asset
from renderhub.conversions.jobs import ConversionJob, ConversionLimits, ConversionOutcome
from renderhub.conversions.meshing import ConversionWarning, Meshed, ModelReadError, convert_model
from renderhub.conversions.reports import encode, info_document, result_entries
from renderhub.conversions.settings_file import (
    ConversionSettings,
    SettingsFileError,
    parse_settings,
)
from renderhub.errors import BadRequest
from renderhub.storage.containers import Container, StorageError, TooLarge, open_container
from renderhub.storage.locations import check_input_location, check_output_location, in_folder

log = logging.getLogger(__name__)

MODEL_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")
SETTINGS_SUFFIX = ".ConversionSettings.json"


class ConversionFailure(Exception):
    """Ends a conversion as Failed; `code` is ARR's (BadRequest: the user can fix it)."""

    def __init__(self, message: str, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def convert(job: ConversionJob, limits: ConversionLimits) -> ConversionOutcome:
    """Convert `job`'s model within `limits`; returns how it ended, never raises."""
    work_dir = Path(tempfile.mkdtemp(prefix="renderhub-conversion-"))
    try:
        return _Conversion(job, limits, work_dir).run()
    except Exception:  # the last line of defence: _Conversion.run handles its own failures
        log.exception("conversion %s failed unexpectedly", job.conversion_id)
        return ConversionOutcome.failed("InternalServerError", _UNEXPECTED)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


_UNEXPECTED = (
    "The conversion failed unexpectedly inside RenderHub; try again, and if it fails again "
    "tell the operator (the service's log has the details)."
)


@dataclass(frozen=True, slots=True)
class _Input:
    """The model downloaded into the work folder, with the files beside it."""

    model: Path
    files: tuple[str, ...]


class _Conversion:
    def __init__(self, job: ConversionJob, limits: ConversionLimits, work_dir: Path) -> None:
        self.job = job
        self.limits = limits
        self.work_dir = work_dir
        self.started = time.monotonic()
        self.warnings: list[ConversionWarning] = []
        self.output: Container | None = None

    def run(self) -> ConversionOutcome:
        try:
            output_address = check_output_location(self.job.output, self.limits.allowed_storage)
        except BadRequest as exc:  # nowhere to write a result file
            return ConversionOutcome.failed("BadRequest", exc.message)
        self.output = open_container(output_address, role="output")
        try:
            input_address = check_input_location(self.job.input, self.limits.allowed_storage)
            source = open_container(input_address, role="input")
            return ConversionOutcome.succeeded(self._convert(source))
        except BadRequest as exc:
            return self._failed("BadRequest", exc.message)
        except ConversionFailure as failure:
            return self._failed(failure.code, failure.message)
        except StorageError as exc:
            return self._failed(exc.code, exc.message)
        except MemoryError:
            return self._failed(
                "InternalServerError",
                "The model does not fit in the converter's memory; split it into smaller "
                "models, or ask the operator for a machine with more memory.",
            )
        except Exception:
            log.exception("conversion %s failed unexpectedly", self.job.conversion_id)
            return self._failed("InternalServerError", _UNEXPECTED)

    def _convert(self, source: Container) -> str:
        downloaded = self._download(source)
        settings = self._settings(downloaded.model)
        self._check_time("reading the input")
        meshed = self._mesh(downloaded.model, settings)
        self._check_time("converting the model")
        return self._upload(meshed, settings, downloaded)

    # -- input ---------------------------------------------------------------------------

    def _download(self, source: Container) -> _Input:
        location = self.job.input
        model_name = in_folder(location.blob_prefix, location.relative_input_asset_path)
        listing = location.blob_prefix or _folder_of(model_name)
        names = source.list_names(listing, self.limits.storage_timeout_seconds)
        if model_name not in names:
            where = (
                f" under the blob prefix '{location.blob_prefix}'" if location.blob_prefix else ""
            )
            raise ConversionFailure(
                f"The input model '{location.relative_input_asset_path}' does not exist in "
                f"{source.uri}{where}; check relativeInputAssetPath and blobPrefix."
            )
        _check_suffix(location.relative_input_asset_path)
        root = self.work_dir / "input"
        ordered = [model_name, *sorted(n for n in names if n != model_name)]
        remaining = self.limits.max_input_bytes
        kept = []
        for name in ordered:
            target = (root / _local_name(name, listing)).resolve()
            if not target.is_relative_to(root.resolve()) or name.endswith("/"):
                continue  # a blob name that would land outside the work folder
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                remaining -= source.read_to_file(
                    name, target, remaining, self.limits.storage_timeout_seconds
                )
            except TooLarge:
                raise ConversionFailure(
                    f"The input (the model and the {len(ordered) - 1} other files under "
                    f"'{listing}') is larger than the limit of {self.limits.max_input_bytes:,} "
                    "bytes; use a blob prefix that holds only this model's files, or ask the "
                    "operator to raise the limit."
                ) from None
            kept.append(name)
            self._check_time("downloading the input")
        return _Input(model=(root / _local_name(model_name, listing)).resolve(), files=tuple(kept))

    def _settings(self, model: Path) -> ConversionSettings:
        """`<model name>.ConversionSettings.json` beside the model, else ARR's defaults."""
        path = model.with_name(model.stem + SETTINGS_SUFFIX)
        if not path.is_file():
            path = model.with_name("ConversionSettings.json")
        if not path.is_file():
            return ConversionSettings()
        try:
            settings = parse_settings(path.read_bytes(), path.name)
        except SettingsFileError as exc:
            raise ConversionFailure(exc.message) from None
        for name in settings.unapplied:
            self.warnings.append(
                ConversionWarning(
                    "4011",
                    "Setting accepted but not applied by RenderHub",
                    {"setting": name, "file": path.name},
                )
            )
        return settings

    def _mesh(self, model: Path, settings: ConversionSettings) -> Meshed:
        try:
            meshed = convert_model(model, self.job.input.relative_input_asset_path, settings)
        except ModelReadError as exc:
            raise ConversionFailure(exc.message) from None
        self.warnings.extend(meshed.warnings)
        return meshed

    # -- output --------------------------------------------------------------------------

    def _upload(self, meshed: Meshed, settings: ConversionSettings, downloaded: _Input) -> str:
        assert self.output is not None
        local = self.work_dir / f"output{ASSET_SUFFIX}"
        size = write_asset(meshed.asset, local)
        if size > self.limits.max_output_bytes:
            raise ConversionFailure(
                f"The converted asset is {size:,} bytes, more than the limit of "
                f"{self.limits.max_output_bytes:,} bytes; reduce the model, or ask the operator "
                "to raise the limit."
            )
        asset_name = in_folder(self.job.output.blob_prefix, self.job.output.output_asset_filename)
        self.output.write_file(asset_name, local, self.limits.storage_timeout_seconds)
        info = info_document(
            input_file=self.job.input.relative_input_asset_path,
            output_file=self.job.output.output_asset_filename,
            settings=settings.as_json(),
            input_info={**meshed.input_info, "files": list(downloaded.files)},
            input_statistics=meshed.input_statistics,
            asset=meshed.asset,
            asset_bytes=size,
            recentering_offset=meshed.recentering_offset,
        )
        self._write_report("info.json", info)
        self._write_report("result.json", result_entries(self.job.conversion_id, self.warnings))
        return self.output.file_uri(asset_name)

    def _failed(self, code: str, message: str) -> ConversionOutcome:
        """Record the failure in `<name>.result.json` when the output can take it."""
        log.info("conversion %s failed: %s", self.job.conversion_id, message)
        try:
            entries = result_entries(self.job.conversion_id, self.warnings, (code, message))
            self._write_report("result.json", entries)
        except StorageError as exc:
            log.info("conversion %s: no result file written: %s", self.job.conversion_id, exc)
        return ConversionOutcome.failed(code, message)

    def _write_report(self, kind: str, document: object) -> None:
        assert self.output is not None
        stem = self.job.output.output_asset_filename.removesuffix(ASSET_SUFFIX)
        name = in_folder(self.job.output.blob_prefix, f"{stem}.{kind}")
        self.output.write_bytes(name, encode(document), self.limits.storage_timeout_seconds)

    def _check_time(self, step: str) -> None:
        if time.monotonic() - self.started > self.limits.timeout_seconds:
            raise ConversionFailure(
                f"The conversion took longer than the limit of "
                f"{self.limits.timeout_seconds:g} seconds ({step}); reduce the model, or ask "
                "the operator to raise the limit."
            )


def _local_name(name: str, listing: str) -> str:
    """Where blob `name` goes in the work folder: its name after the listed prefix."""
    return name[len(listing) :].lstrip("/")


def _folder_of(name: str) -> str:
    folder = str(PurePosixPath(name).parent)
    return "" if folder == "." else folder + "/"


def _check_suffix(path: str) -> None:
    suffix = PurePosixPath(path.lower()).suffix
    if suffix == ".fbx":
        raise ConversionFailure(
            f"The input model '{path}' is an FBX file, which this RenderHub cannot convert yet: "
            "export it as glTF (.glb or .gltf) from your 3D tool and convert that."
        )
    if suffix not in MODEL_SUFFIXES:
        raise ConversionFailure(
            f"The input model '{path}' has a type RenderHub cannot convert; supported: "
            f"{', '.join(MODEL_SUFFIXES)}."
        )
