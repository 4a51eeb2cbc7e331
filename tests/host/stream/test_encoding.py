"""aiortc's encoders as the host tunes them: bitrate caps, the x264 preset, timing."""

from __future__ import annotations

import fractions

import av
import numpy as np
from aiortc import RTCRtpCodecParameters
from aiortc import rtcrtpsender as sender
from aiortc.codecs import h264, vpx

from renderhub.host.frames import Frame
from renderhub.host.stream.encoding import (
    MBIT,
    FrameTicket,
    TimedEncoder,
    TunedH264Encoder,
    configure_aiortc,
)
from renderhub.host.stream.track import to_video_frame


def codec(mime: str) -> RTCRtpCodecParameters:
    return RTCRtpCodecParameters(mimeType=mime, clockRate=90000, payloadType=97)


def video_frame(
    width: int, height: int, index: int, ticket: FrameTicket | None = None
) -> av.VideoFrame:
    pixels = np.full((height, width, 3), (index * 7) % 255, dtype=np.uint8)
    frame = to_video_frame(Frame(pixels, index, 1.0))
    frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
    frame.opaque = ticket
    return frame


def test_configure_raises_the_caps_and_times_video_encoders() -> None:
    configure_aiortc()
    configure_aiortc()  # twice is harmless

    assert (h264.MIN_BITRATE, h264.DEFAULT_BITRATE, h264.MAX_BITRATE) == (MBIT, 4 * MBIT, 12 * MBIT)
    assert (vpx.MIN_BITRATE, vpx.DEFAULT_BITRATE, vpx.MAX_BITRATE) == (MBIT, 4 * MBIT, 12 * MBIT)
    made = sender.get_encoder(codec("video/H264"))
    assert isinstance(made, TimedEncoder) and isinstance(made.inner, TunedH264Encoder)
    assert isinstance(sender.get_encoder(codec("video/VP8")), TimedEncoder)
    audio = RTCRtpCodecParameters(
        mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96
    )
    assert not isinstance(sender.get_encoder(audio), TimedEncoder)


def test_encodes_are_timed_on_the_frames_ticket() -> None:
    configure_aiortc()
    encoder = TimedEncoder(vpx.Vp8Encoder())
    ticket = FrameTicket(started=0.0)

    payloads, _ = encoder.encode(video_frame(320, 240, 0, ticket), force_keyframe=True)

    assert payloads
    assert ticket.encode_ms is not None and ticket.encode_ms > 0


def test_the_target_bitrate_passes_through_within_the_caps() -> None:
    configure_aiortc()
    encoder = TimedEncoder(TunedH264Encoder())
    assert encoder.target_bitrate == 4 * MBIT

    encoder.target_bitrate = 100 * MBIT
    assert encoder.target_bitrate == 12 * MBIT


class RecordingEncoder(TunedH264Encoder):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[av.VideoCodecContext] = []

    def _open_context(self, frame: av.VideoFrame) -> av.VideoCodecContext:
        self.opened.append(super()._open_context(frame))
        return self.opened[-1]


def test_aiortc_keeps_the_tuned_h264_context_and_it_is_reopened_on_resize() -> None:
    configure_aiortc()
    encoder = RecordingEncoder()

    for index in range(3):
        payloads, _ = encoder.encode(video_frame(320, 240, index), force_keyframe=index == 0)
        assert payloads
    assert len(encoder.opened) == 1
    assert encoder.codec is encoder.opened[0], "aiortc did not open one of its own"

    encoder.encode(video_frame(640, 480, 3))
    assert len(encoder.opened) == 2
    assert encoder.codec is encoder.opened[1]
    assert (encoder.codec.width, encoder.codec.height) == (640, 480)


def test_a_video_frame_copies_the_pixels() -> None:
    pixels = np.random.default_rng(1).integers(0, 255, (122, 166, 3), dtype=np.uint8)

    original = pixels.copy()

    frame = to_video_frame(Frame(pixels, 1, 1.0))  # 166 * 3 bytes a row: the plane pads it
    pixels[:] = 0  # the renderer reuses its memory

    assert (frame.width, frame.height) == (166, 122)
    assert np.array_equal(frame.to_ndarray(format="rgb24"), original)
