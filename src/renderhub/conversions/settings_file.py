"""`<name>.ConversionSettings.json`: the settings a user puts beside the model, as in ARR.

The fields and their defaults follow ARR's published schema (JsonSchemas/
ConversionSettingsSchema.json in Azure/azure-remote-rendering). Unknown fields and invalid
values fail the conversion with a sentence naming the field, as ARR does. Some valid settings
only shape ARR's own renderer (vertex formats, collision meshes, metadata keys); they are
accepted and recorded, and `unapplied` lists them so the result file can say so.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, ValidationError, field_validator

from renderhub.validation import RequestBody, describe_problem, field_path

AxisName = Literal["default", "+x", "-x", "+y", "-y", "+z", "-z"]
VectorFormat = Literal["AUTO", "NONE", "8_8_8_8_SIGNED_NORMALIZED", "16_16_16_16_FLOAT"]
ColourFormat = Literal["NONE", "8_8_8_8_UNSIGNED_NORMALIZED"]
TexcoordFormat = Literal["NONE", "32_32_FLOAT", "16_16_FLOAT"]
MAX_SETTINGS_BYTES = 1 << 20
DEFAULT_AXIS: tuple[AxisName, AxisName, AxisName] = ("default", "default", "default")


class SettingsFileError(Exception):
    """The settings file is not valid; `message` names the file and the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class VertexFormats(RequestBody):
    position: Literal["32_32_32_FLOAT", "16_16_16_16_FLOAT"] | None = None
    color0: ColourFormat | None = None
    color1: ColourFormat | None = None
    normal: VectorFormat | None = None
    tangent: VectorFormat | None = None
    binormal: VectorFormat | None = None
    texcoord0: TexcoordFormat | None = None
    texcoord1: TexcoordFormat | None = None


class ConversionSettings(RequestBody):
    """ARR's conversion settings for triangle meshes, with ARR's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    scaling: StrictFloat = Field(1.0, gt=0)
    recenter_to_origin: StrictBool = Field(False, alias="recenterToOrigin")
    opaque_material_default_sidedness: Literal["SingleSided", "DoubleSided"] = Field(
        "DoubleSided", alias="opaqueMaterialDefaultSidedness"
    )
    material_override: str = Field("", alias="material-override")
    gamma_to_linear_material: StrictBool = Field(False, alias="gammaToLinearMaterial")
    gamma_to_linear_vertex: StrictBool = Field(False, alias="gammaToLinearVertex")
    scene_graph_mode: Literal["none", "static", "dynamic"] = Field(
        "dynamic", alias="sceneGraphMode"
    )
    generate_collision_mesh: StrictBool = Field(True, alias="generateCollisionMesh")
    unlit_materials: StrictBool = Field(False, alias="unlitMaterials")
    deduplicate_materials: StrictBool = Field(True, alias="deduplicateMaterials")
    fbx_assume_metallic: StrictBool = Field(True, alias="fbxAssumeMetallic")
    axis: list[AxisName] = Field(
        default_factory=lambda: list(DEFAULT_AXIS), min_length=3, max_length=3
    )
    vertex: VertexFormats | None = None
    metadata_keys: list[str] = Field(default_factory=list, alias="metadataKeys")

    @field_validator("axis")
    @classmethod
    def _axes_are_a_basis(cls, axis: list[str]) -> list[str]:
        """Each output axis must come from a different source axis, or the model collapses."""
        sources = [axis_source(name, index)[0] for index, name in enumerate(axis)]
        if len(set(sources)) != 3:
            raise ValueError(
                'it must take x, y and z once each (e.g. ["+x", "+z", "-y"]), '
                f"and {list(axis)} repeats one"
            )
        return axis

    @property
    def unapplied(self) -> list[str]:
        """Settings given that RenderHub accepts but does not act on."""
        given = self.model_fields_set
        names = {
            "material_override": "material-override",
            "vertex": "vertex",
            "metadata_keys": "metadataKeys",
            "fbx_assume_metallic": "fbxAssumeMetallic",
            "generate_collision_mesh": "generateCollisionMesh",
        }
        unapplied = [alias for name, alias in names.items() if name in given]
        if "material_override" in given and not self.material_override:
            unapplied.remove("material-override")
        return unapplied

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def axis_source(name: str, index: int) -> tuple[int, float]:
    """The source axis (0, 1, 2) and sign that output axis `index` takes."""
    if name == "default":
        return index, 1.0
    return "xyz".index(name[1]), (1.0 if name[0] == "+" else -1.0)


def parse_settings(data: bytes, file_name: str) -> ConversionSettings:
    """Parse a settings file's bytes; SettingsFileError names the file and the field."""
    if len(data) > MAX_SETTINGS_BYTES:
        raise SettingsFileError(f"The settings file '{file_name}' is larger than 1 MiB.")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SettingsFileError(
            f"The settings file '{file_name}' is not valid JSON ({exc}); fix it or remove it."
        ) from exc
    if not isinstance(document, dict):
        raise SettingsFileError(f"The settings file '{file_name}' must hold a JSON object.")
    document.pop("$schema", None)
    try:
        return ConversionSettings.model_validate(document)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        if problem["type"] == "extra_forbidden":
            where = field_path(tuple(problem["loc"]))
            detail = f"'{where}' is not one of ARR's conversion settings."
        else:
            detail = describe_problem(problem)
        raise SettingsFileError(
            f"The settings file '{file_name}' is not valid: {detail} See ARR's "
            "ConversionSettings schema for the settings and their values."
        ) from None
