"""The data channel's messages: what each does to the View, and what is refused, and why."""

from __future__ import annotations

import json

import pytest

from renderhub.host.camera import OrbitCamera
from renderhub.host.commands import Command
from renderhub.host.runtime.messages import MessageError, parse_message
from renderhub.host.stream.controls import Controls


def controls() -> Controls:
    return Controls(OrbitCamera.framing(None), 1280, 720)


def send(target: Controls, **message: object) -> dict[str, object] | None:
    command = parse_message(json.dumps(message))
    assert isinstance(command, Command)
    return target.apply(command)


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
    with pytest.raises(MessageError):
        send(steered, type="zoom", factor=-1, seq=9)
    assert steered.view().marker == 1, "a refused command does not count"
    send(steered, type="ping", t=0, seq=12)
    assert steered.view().marker == 1, "a ping is no input"
    send(steered, type="marker", enabled=False, seq=13)
    assert steered.view().marker is None


def test_ping_is_answered_with_the_same_time_and_its_seq() -> None:
    assert send(controls(), type="ping", t=17.25) == {"type": "pong", "t": 17.25}
    assert send(controls(), type="ping", t=1, seq=4) == {"type": "pong", "t": 1.0, "seq": 4}


def test_the_frame_rate_wakes_the_pacer() -> None:
    woken: list[int] = []
    steered = controls()
    steered.on_rate = lambda: woken.append(steered.fps)

    send(steered, type="fps", value=60)
    send(steered, type="fps", value=1.0)

    assert woken == [60, 1]


@pytest.mark.parametrize(
    ("message", "start"),
    [
        ({"type": "resolution", "width": 640}, "'height' is required."),
        ({"type": "resolution", "width": 641, "height": 480}, "'width' must be an even"),
        ({"type": "resolution", "width": 640, "height": 100}, "'height' must be an even"),
        ({"type": "resolution", "width": 4000, "height": 480}, "'width' must be an even"),
        ({"type": "fps", "value": 61}, "'value' must be a whole number of frames per second"),
        ({"type": "fps", "value": True}, "'value' must be a whole number"),
        ({"type": "fps", "value": 30, "burst": 1}, "'burst' is not a field this request takes"),
        ({"type": "marker", "enabled": "yes"}, "'enabled' must be true or false."),
        ({"type": "ping"}, "'t' is required."),
        ({"type": "ping", "t": "now"}, "'t' must be a number"),
        ({"type": "orbit", "dx": 1, "dy": None}, "'dy' must be a number."),
        ({"type": "reset", "seq": 1.5}, "'seq' must be a whole number"),
    ],
)
def test_bad_inputs_are_refused_and_change_nothing(message: dict[str, object], start: str) -> None:
    steered = controls()
    before = (steered.view(), steered.fps, steered.seq, steered.marker_enabled)

    with pytest.raises(MessageError) as refused:
        send(steered, **message)

    assert refused.value.message.startswith(start), refused.value.message
    assert (steered.view(), steered.fps, steered.seq, steered.marker_enabled) == before
