"""Reading data-channel messages: each scene request into its model, and every way a message
can be wrong refused with its code, the field at fault, and the seq when it was readable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from renderhub.errors import BadRequest
from renderhub.host.commands import Orbit, Ping
from renderhub.host.runtime.errors import ErrorCode
from renderhub.host.runtime.messages import (
    MAX_MESSAGE_BYTES,
    MESSAGES,
    AddCutPlane,
    Entities,
    LoadModel,
    MessageError,
    Raycast,
    SetState,
    SetTransforms,
    parse_message,
)
from renderhub.validation import parse_body


def parse(**message: Any) -> Any:
    return parse_message(json.dumps(message))


def refusal(raw: str | bytes) -> MessageError:
    with pytest.raises(MessageError) as refused:
        parse_message(raw)
    return refused.value


def test_a_scene_request_is_read_into_its_model() -> None:
    request = parse(type="load_model", seq=1, url="samples/cube.glb", parent=4)
    assert request == LoadModel(type="load_model", seq=1, url="samples/cube.glb", parent=4)

    plane = parse(type="add_cut_plane", seq=2, point=[0, 0, 0], normal=[1, 0, 0])
    assert isinstance(plane, AddCutPlane)
    assert (plane.fade_length, plane.fade_colour) == (0.0, (1.0, 1.0, 1.0, 1.0))

    ray = parse(type="raycast", seq=3, origin=[0, 0, 5], direction=[0, 0, -1])
    assert isinstance(ray, Raycast)
    assert (ray.mode, ray.max_distance) == ("closest", None)


def test_set_state_tells_a_field_left_out_from_a_null() -> None:
    request = parse(type="set_state", seq=1, id=3, hidden=True, selected=None, tint=None)
    assert isinstance(request, SetState)
    assert (request.hidden, request.selected, request.tint) == (True, None, None)
    assert request.given("selected") and request.given("tint")
    assert not request.given("see_through")


def test_set_transforms_reads_each_entry_with_what_it_sets() -> None:
    request = parse(
        type="set_transforms",
        seq=1,
        transforms=[{"id": 1, "position": [1, 2, 3]}, {"id": 2, "scale": [2, 2, 2]}],
    )
    assert isinstance(request, SetTransforms)
    first, second = request.transforms
    assert first.position == (1.0, 2.0, 3.0) and first.model_fields_set == {"id", "position"}
    assert second.scale == (2.0, 2.0, 2.0) and "position" not in second.model_fields_set


def test_camera_inputs_keep_their_models_and_may_leave_seq_out() -> None:
    assert parse(type="orbit", dx=0.5, dy=0) == Orbit(type="orbit", dx=0.5, dy=0.0)
    assert parse(type="ping", t=2, seq=5) == Ping(type="ping", t=2.0, seq=5)
    # Camera numbers go up to 1e15, scene numbers only to 1e9.
    assert isinstance(parse(type="orbit", dx=1e12, dy=0), Orbit)


@pytest.mark.parametrize(
    ("raw", "code", "target", "start"),
    [
        (
            b'{"type": "stats", "seq": 1}',
            ErrorCode.INVALID_MESSAGE,
            None,
            "Messages must be JSON text",
        ),
        ("[1, 2]", ErrorCode.INVALID_MESSAGE, None, "Messages must be JSON objects"),
        ("{", ErrorCode.INVALID_MESSAGE, None, "Messages must be JSON objects; this one"),
        (
            "x" * (MAX_MESSAGE_BYTES + 1),
            ErrorCode.INVALID_MESSAGE,
            None,
            "Messages may be at most 262,144",
        ),
        ('{"seq": 1}', ErrorCode.INVALID_MESSAGE, "type", 'Messages need a "type" string.'),
        ('{"type": 7}', ErrorCode.INVALID_MESSAGE, "type", 'Messages need a "type" string.'),
        (
            '{"type": "teleport", "seq": 1}',
            ErrorCode.UNKNOWN_TYPE,
            "type",
            "Unknown message type 'teleport'",
        ),
        ('{"type": "entities"}', ErrorCode.INVALID_FIELD, "seq", "'seq' is required."),
        (
            '{"type": "entities", "seq": -1}',
            ErrorCode.INVALID_FIELD,
            "seq",
            "'seq' must be a whole number",
        ),
        (
            '{"type": "entities", "seq": 1, "rooot": 1}',
            ErrorCode.INVALID_FIELD,
            "rooot",
            "'rooot' is not a field",
        ),
        (
            '{"type": "entities", "seq": 1, "root": "1"}',
            ErrorCode.INVALID_FIELD,
            "root",
            "'root' must be a whole number",
        ),
        (
            '{"type": "entities", "seq": 1, "limit": 0}',
            ErrorCode.INVALID_FIELD,
            "limit",
            "'limit' must be a whole number from 1 to 1,000",
        ),
        (
            '{"type": "entities", "seq": 1, "limit": 1001}',
            ErrorCode.INVALID_FIELD,
            "limit",
            "'limit' must be a whole number from 1 to 1,000",
        ),
        (
            '{"type": "entities", "seq": 1, "after": "7"}',
            ErrorCode.INVALID_FIELD,
            "after",
            "'after' must be a whole number",
        ),
        (
            '{"type": "unload_model", "seq": 1, "id": 1.5}',
            ErrorCode.INVALID_FIELD,
            "id",
            "'id' must be a whole number",
        ),
        (
            '{"type": "unload_model", "seq": 1, "id": true}',
            ErrorCode.INVALID_FIELD,
            "id",
            "'id' must be a whole number",
        ),
        ('{"type": "load_model", "seq": 1}', ErrorCode.INVALID_FIELD, "url", "'url' is required."),
        (
            '{"type": "load_model", "seq": 1, "url": ""}',
            ErrorCode.INVALID_FIELD,
            "url",
            "'url' must be a non-empty string",
        ),
        (
            '{"type": "set_state", "seq": 1, "id": 1, "hidden": "yes"}',
            ErrorCode.INVALID_FIELD,
            "hidden",
            "'hidden' must be true, false or null",
        ),
        (
            '{"type": "set_state", "seq": 1, "id": 1, "tint": [1, 0, 0]}',
            ErrorCode.INVALID_FIELD,
            "tint",
            "'tint' must be a list of 4 numbers",
        ),
        (
            '{"type": "set_state", "seq": 1, "id": 1, "tint": [1, 0, 0, 2]}',
            ErrorCode.INVALID_FIELD,
            "tint",
            "'tint' must be a colour",
        ),
        (
            '{"type": "set_state", "seq": 1, "id": 1, "tint": [1, 0, NaN, 1]}',
            ErrorCode.INVALID_FIELD,
            "tint",
            "'tint' must be a finite number",
        ),
        (
            '{"type": "add_cut_plane", "seq": 1, "point": [0, 0, 1e300], "normal": [1, 0, 0]}',
            ErrorCode.INVALID_FIELD,
            "point",
            "'point' must be a finite number",
        ),
        (
            '{"type": "add_cut_plane", "seq": 1, "point": [0, 0, 2e9], "normal": [1, 0, 0]}',
            ErrorCode.INVALID_FIELD,
            "point",
            "'point' must be a finite number no larger than 1e9",
        ),
        (
            '{"type": "add_cut_plane", "seq": 1, "point": [0, 0, 0], "normal": [Infinity, 0, 0]}',
            ErrorCode.INVALID_FIELD,
            "normal",
            "'normal' must be a finite",
        ),
        (
            '{"type": "add_cut_plane", "seq": 1, "point": [0, 0, 0], "normal": [1, 0, 0], '
            '"fade_length": -1}',
            ErrorCode.INVALID_FIELD,
            "fade_length",
            "'fade_length' must be a number of at least 0",
        ),
        (
            '{"type": "set_cut_plane", "seq": 1, "id": 1, "point": null}',
            ErrorCode.INVALID_FIELD,
            "point",
            "'point' must be a list of 3 numbers",
        ),
        (
            '{"type": "set_transforms", "seq": 1, "transforms": [{"id": 1, "positon": [0, 0, 0]}]}',
            ErrorCode.INVALID_FIELD,
            "transforms[0].positon",
            "'transforms[0].positon' is not a field",
        ),
        (
            '{"type": "set_transforms", "seq": 1, "transforms": [{"id": 1}, '
            '{"id": 2, "rotation": [0, 0, 1]}]}',
            ErrorCode.INVALID_FIELD,
            "transforms[1].rotation",
            "'transforms[1].rotation' must be a list of 4 numbers",
        ),
        (
            '{"type": "set_transforms", "seq": 1, "transforms": {"id": 1}}',
            ErrorCode.INVALID_FIELD,
            "transforms",
            "'transforms'",
        ),
        (
            '{"type": "raycast", "seq": 1, "origin": [0, 0, 0], "direction": [0, 0, 1], '
            '"mode": "any"}',
            ErrorCode.INVALID_FIELD,
            "mode",
            "'mode'",
        ),
        (
            '{"type": "raycast", "seq": 1, "origin": [0, 0, 0], "direction": [0, 0, 1], '
            '"max_distance": 0}',
            ErrorCode.INVALID_FIELD,
            "max_distance",
            "'max_distance' must be greater than 0",
        ),
        (
            '{"type": "pick", "seq": 1, "x": 1.5, "y": 0}',
            ErrorCode.INVALID_FIELD,
            "x",
            "'x' must be a number from 0 to 1",
        ),
        (
            '{"type": "set_camera", "seq": 1, "fov": 150}',
            ErrorCode.INVALID_FIELD,
            "fov",
            "'fov' must be a number of degrees from 5 to 120",
        ),
        (
            '{"type": "orbit", "dx": 1e16, "dy": 0}',
            ErrorCode.INVALID_FIELD,
            "dx",
            "'dx' must be a finite number no larger than 1e15",
        ),
        (
            '{"type": "stats", "seq": 1, "extra": 1}',
            ErrorCode.INVALID_FIELD,
            "extra",
            "'extra' is not a field",
        ),
    ],
)
def test_a_bad_message_is_refused_naming_its_fault(
    raw: str | bytes, code: ErrorCode, target: str | None, start: str
) -> None:
    error = refusal(raw)
    assert (error.code, error.target) == (code, target), error.message
    assert error.message.startswith(start), error.message


def test_the_error_carries_the_seq_when_it_was_readable() -> None:
    unknown = refusal('{"type": "nothing", "seq": 12}')
    assert unknown.as_message(unknown.seq) == {
        "type": "error",
        "seq": 12,
        "code": "UnknownType",
        "message": unknown.message,
        "target": "type",
    }
    assert refusal('{"type": "entities", "seq": 3, "root": []}').seq == 3
    assert refusal('{"type": "entities", "seq": "3"}').seq is None
    assert refusal("[3]").seq is None


def test_unknown_types_are_told_every_known_type() -> None:
    message = refusal('{"type": "teleport", "seq": 1}').message
    for name in MESSAGES:
        assert f"'{name}'" in message


def test_a_batch_over_the_limit_is_refused_whole() -> None:
    # 10,001 entries do not fit in one message on the wire; the model refuses them anyway.
    transforms = [{"id": n} for n in range(10_001)]
    with pytest.raises(BadRequest) as refused:
        parse_body(SetTransforms, {"type": "set_transforms", "seq": 1, "transforms": transforms})
    assert refused.value.target == "transforms"
    assert "at most 10,000 entries" in refused.value.message


def test_entities_pages_default_to_500_from_the_start() -> None:
    request = parse_message('{"type": "entities", "seq": 1}')
    assert isinstance(request, Entities)
    assert (request.root, request.after, request.limit) == (None, None, 500)
    request = parse_message('{"type": "entities", "seq": 2, "root": 3, "after": 9, "limit": 1000}')
    assert isinstance(request, Entities)
    assert (request.root, request.after, request.limit) == (3, 9, 1000)


def test_a_request_may_be_up_to_262144_bytes() -> None:
    """1,000 transforms take about 46 KB; a request just under the limit is read."""
    entries = [{"id": i, "position": [1.25, 2.5, 3.75]} for i in range(1, 5001)]
    raw = json.dumps({"type": "set_transforms", "seq": 1, "transforms": entries})
    assert 200_000 < len(raw) <= MAX_MESSAGE_BYTES == 262_144
    request = parse_message(raw)
    assert isinstance(request, SetTransforms) and len(request.transforms) == 5000
