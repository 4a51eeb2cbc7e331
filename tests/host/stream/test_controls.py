"""The data channel's messages: what each does to the View, and what is refused, and why."""

from __future__ import annotations

import json

import pytest

from renderhub.host.camera import OrbitCamera
from renderhub.host.commands import CommandError
from renderhub.host.stream.controls import Controls


def controls() -> Controls:
    return Controls(OrbitCamera.framing(None), 1280, 720)


def send(target: Controls, **message: object) -> dict[str, object] | None:
    return target.handle(json.dumps(message))


def test_the_view_reflects_the_newest_input() -> None:
    steered = controls()
    home = steered.view()

    send(steered, type="orbit", dx=0.1, dy=0, seq=1)
    send(steered, type="resolution", width=640, height=360, seq=2)

    view = steered.view()
    assert view.eye != home.eye
    assert (view.width, view.height) == (640, 360)
    assert view.marker is None


def test_the_marker_shows_the_newest_applied_seq_mod_65536() -> None:
    steered = controls()

    send(steered, type="marker", enabled=True)
    assert steered.view().marker == 0
    send(steered, type="zoom", factor=2, seq=65537)
    assert steered.view().marker == 1
    with pytest.raises(CommandError):
        send(steered, type="zoom", factor=-1, seq=9)
    assert steered.view().marker == 1, "a refused command does not count"
    send(steered, type="ping", t=0, seq=12)
    assert steered.view().marker == 1, "a ping is no input"
    send(steered, type="marker", enabled=False, seq=13)
    assert steered.view().marker is None


def test_ping_is_answered_with_the_same_time() -> None:
    assert send(controls(), type="ping", t=17.25) == {"type": "pong", "t": 17.25}


def test_the_frame_rate_wakes_the_pacer() -> None:
    woken: list[int] = []
    steered = controls()
    steered.on_rate = lambda: woken.append(steered.fps)

    send(steered, type="fps", value=60)
    send(steered, type="fps", value=1.0)

    assert woken == [60, 1]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"type": "reset"}', "Messages must be JSON text, not binary."),
        ("[1, 2]", "Messages must be JSON objects"),
        ("{", "Messages must be JSON objects; this one is not valid JSON."),
        ('{"kind": "reset"}', 'Messages need a "type" string.'),
        ('{"type": "reset", "seq": -1}', "'seq' must be a whole number from 0 to 2^53."),
        ('{"type": "reset", "seq": 1.5}', "'seq' must be a whole number"),
        ('{"type": "teleport"}', "Unknown message type 'teleport'; expected one of 'orbit'"),
        ('{"type": "resolution", "width": 640}', "'height' is required."),
        ('{"type": "resolution", "width": 641, "height": 480}', "'width' must be an even"),
        ('{"type": "resolution", "width": 640, "height": 100}', "'height' must be an even"),
        ('{"type": "resolution", "width": 4000, "height": 480}', "'width' must be an even"),
        ('{"type": "fps", "value": 61}', "'value' must be a whole number of frames per second"),
        ('{"type": "fps", "value": true}', "'value' must be a whole number"),
        ('{"type": "fps", "value": 30, "burst": 1}', "'burst' is not a field this request takes"),
        ('{"type": "marker", "enabled": "yes"}', "'enabled' must be true or false."),
        ('{"type": "ping"}', "'t' is required."),
        ('{"type": "ping", "t": "now"}', "'t' must be a number"),
        ('{"type": "orbit", "dx": 1, "dy": null}', "'dy' must be a number."),
        ("x" * 5000, "Messages may be at most 4096 characters long."),
    ],
)
def test_bad_messages_are_refused_and_change_nothing(raw: str | bytes, message: str) -> None:
    steered = controls()
    before = (steered.view(), steered.fps, steered.seq, steered.marker_enabled)

    with pytest.raises(CommandError) as refused:
        steered.handle(raw)

    assert refused.value.message.startswith(message), refused.value.message
    assert (steered.view(), steered.fps, steered.seq, steered.marker_enabled) == before
