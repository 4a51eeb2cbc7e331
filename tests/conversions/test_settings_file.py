"""<name>.ConversionSettings.json: ARR's fields and defaults; anything else is refused with a
sentence naming the file and the field."""

from __future__ import annotations

import pytest

from renderhub.conversions.settings_file import SettingsFileError, parse_settings

FILE = "car.ConversionSettings.json"


def test_defaults_are_arrs() -> None:
    settings = parse_settings(b"{}", FILE)
    assert settings.as_json() == {
        "scaling": 1.0, "recenterToOrigin": False,
        "opaqueMaterialDefaultSidedness": "DoubleSided", "material-override": "",
        "gammaToLinearMaterial": False, "gammaToLinearVertex": False,
        "sceneGraphMode": "dynamic", "generateCollisionMesh": True, "unlitMaterials": False,
        "deduplicateMaterials": True, "fbxAssumeMetallic": True,
        "axis": ["default", "default", "default"], "metadataKeys": [],
    }  # fmt: skip
    assert settings.unapplied == []


def test_a_full_file_with_a_bom_and_schema_parses() -> None:
    text = (
        '\ufeff{"$schema": "x", "scaling": 0.01, "axis": ["+x", "+z", "-y"], '
        '"vertex": {"position": "16_16_16_16_FLOAT", "normal": "NONE"}, '
        '"metadataKeys": ["a"], "material-override": "m.json"}'
    )
    settings = parse_settings(text.encode(), FILE)
    assert settings.scaling == 0.01 and settings.axis == ["+x", "+z", "-y"]
    assert settings.unapplied == ["material-override", "vertex", "metadataKeys"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{", "is not valid JSON"),
        (b"[]", "must hold a JSON object"),
        (b'{"scaling": 0}', "'scaling' is not valid: Input should be greater than 0"),
        (b'{"scaling": "2"}', "'scaling' is not valid: Input should be a valid number"),
        (b'{"recenterToOrigin": "yes"}', "'recenterToOrigin' is not valid"),
        (b'{"sceneGraphMode": "flat"}', "'sceneGraphMode' is not valid"),
        (b'{"axis": ["+x", "+y"]}', "'axis' is not valid: List should have at least 3 items"),
        (b'{"axis": ["+x", "-x", "+z"]}', "must take x, y and z once each"),
        (b'{"axis": ["+w", "+y", "+z"]}', "'axis[0]' is not valid"),
        (b'{"scalling": 1}', "'scalling' is not one of ARR's conversion settings"),
        (b'{"vertex": {"colour0": "NONE"}}', "'vertex.colour0' is not one of ARR's"),
        (b" " * (1 << 20) + b"{}", "larger than 1 MiB"),
    ],
)
def test_invalid_files_are_refused_by_field(body: bytes, words: str) -> None:
    with pytest.raises(SettingsFileError) as caught:
        parse_settings(body, FILE)
    assert caught.value.message.startswith(f"The settings file '{FILE}' ")
    assert words in caught.value.message
