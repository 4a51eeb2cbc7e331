"""Frame pacing (no catching up) and the inspector's figures, on a clock the test moves."""

from __future__ import annotations

import pytest

from renderhub.host.stream.pacing import Pacer
from renderhub.host.stream.stats import StreamStats, Timings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_frames_are_due_one_period_apart() -> None:
    pacer = Pacer(lambda: 10)

    assert pacer.next_due() is None
    pacer.begin(1.0)
    assert pacer.next_due() == pytest.approx(1.1)
    pacer.begin(1.13)  # a little late: the cadence holds
    assert pacer.next_due() == pytest.approx(1.2)


def test_a_slow_frame_lowers_the_rate_instead_of_bursting() -> None:
    pacer = Pacer(lambda: 10)
    pacer.begin(1.0)

    pacer.begin(1.5)  # four frames late: nothing to catch up
    assert pacer.next_due() == pytest.approx(1.6)


def test_a_new_rate_applies_to_the_next_frame() -> None:
    fps = [10]
    pacer = Pacer(lambda: fps[0])
    pacer.begin(1.0)

    fps[0] = 2
    assert pacer.next_due() == pytest.approx(1.5)


async def test_wait_returns_at_once_for_the_first_frame() -> None:
    clock = Clock()
    pacer = Pacer(lambda: 30, clock)

    assert await pacer.wait() == 100.0


def test_timings_median_and_p95() -> None:
    timings = Timings(size=100)
    assert timings.summary() == {"median": None, "p95": None, "samples": 0}

    for ms in range(1, 101):
        timings.add(float(ms))

    assert timings.summary() == {"median": 50.0, "p95": 95.0, "samples": 100}


def test_fps_counts_frames_sent_in_the_last_five_seconds() -> None:
    clock = Clock()
    stats = StreamStats(clock=clock)

    for _ in range(20):  # 10 fps for 2 s
        stats.frame_sent(4.0, 0.5)
        clock.now += 0.1
    assert stats.fps() == pytest.approx(10, rel=0.06)

    clock.now += 10
    assert stats.fps() == 0
    assert stats.frames_sent == 20


def test_bitrate_from_byte_counts_and_round_trip() -> None:
    clock = Clock()
    stats = StreamStats(clock=clock)

    stats.transport(1_000, None)
    assert stats.bitrate is None
    clock.now += 2
    stats.transport(501_000, 0.004)

    assert stats.bitrate == 2_000_000
    assert stats.rtcp_round_trip_ms == 4.0

    stats.stream_ended()
    assert stats.snapshot()["bitrate"] is None


def test_input_to_render_runs_from_arrival_to_the_start_of_the_next_frame() -> None:
    clock = Clock()
    stats = StreamStats(clock=clock)
    stats.frame_begun(99.0)  # no input waiting: nothing counted
    assert stats.input_to_render_ms.summary()["samples"] == 0

    stats.input_applied(100.000)
    stats.input_applied(100.010)
    stats.input_applied(None)  # arrival unknown: not counted
    stats.frame_begun(100.030)
    stats.frame_begun(100.063)  # shows nothing new
    stats.input_applied(100.070)
    stats.frame_begun(100.096)

    assert stats.input_to_render_ms.summary() == {"median": 26.0, "p95": 30.0, "samples": 3}
    assert stats.snapshot()["timingsMs"]["inputToRender"]["samples"] == 3  # type: ignore[index]
    clock.now = 101.0
    assert stats.input_to_render_ms.recent_median(10.0) == 26.0

    stats.input_applied(100.5)
    stats.stream_ended()  # an input the client never saw rendered is not counted
    stats.frame_begun(102.0)
    assert stats.input_to_render_ms.summary()["samples"] == 3
