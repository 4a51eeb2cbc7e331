"""aiortc's video encoders, tuned once for this process: higher bitrates, a faster H.264
preset, and every encode timed.

These changes reach into aiortc's modules, so they are made here and nowhere else, by
`configure_aiortc()`, which the streamer calls before its first peer connection.
"""

from __future__ import annotations

import fractions
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av
from aiortc import RTCRtpCodecParameters
from aiortc import rtcrtpsender as _sender
from aiortc.codecs import get_encoder, h264, vpx
from aiortc.codecs.base import Encoder

MBIT = 1_000_000

# aiortc's caps (H.264 1 Mbit/s default, 3 max; VP8 0.5 / 1.5) are meant for webcams and
# smear the edges of a detailed 720p model. The receiver's REMB estimate moves the target
# between MIN and MAX; the encoder starts at DEFAULT. VP8 gets the same figures: it needs
# at least as many bits as H.264 for the same picture.
H264_BITRATES = (1 * MBIT, 4 * MBIT, 12 * MBIT)  # min, default, max
VP8_BITRATES = (1 * MBIT, 4 * MBIT, 12 * MBIT)

# aiortc leaves x264 at its default preset ("medium"): ~21 ms per detailed 720p frame here.
# "superfast" took 7.5 ms for the same bitrate and PSNR (45.8 vs 46.0 dB); "ultrafast" 5.2 ms
# but it turns the deblocking filter off, which shows once REMB lowers the bitrate.
X264_PRESET = "superfast"


@dataclass(slots=True)
class FrameTicket:
    """Travels with one video frame (as `VideoFrame.opaque`) and collects its timings.

    Monotonic seconds: `started` when the frame was begun, `handed` when aiortc got it,
    `encode_started` / `encode_ended` around aiortc's encoder call (in its worker thread).
    """

    started: float
    handed: float = 0.0
    encode_started: float | None = None
    encode_ended: float | None = None

    @property
    def encode_ms(self) -> float | None:
        if self.encode_started is None or self.encode_ended is None:
            return None
        return (self.encode_ended - self.encode_started) * 1000


class TimedEncoder(Encoder):
    """Wraps one of aiortc's encoders and notes, on each frame's ticket, how long it took."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner

    def encode(
        self, frame: av.frame.Frame, force_keyframe: bool = False
    ) -> tuple[list[bytes], int]:
        ticket = getattr(frame, "opaque", None)
        started = time.monotonic()
        result = self.inner.encode(frame, force_keyframe)
        if isinstance(ticket, FrameTicket):
            ticket.encode_started, ticket.encode_ended = started, time.monotonic()
        return result

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        return self.inner.pack(packet)

    @property
    def target_bitrate(self) -> int:
        return int(getattr(self.inner, "target_bitrate", 0))

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        # aiortc's sender sets this from the receiver's REMB estimate.
        if hasattr(self.inner, "target_bitrate"):
            self.inner.target_bitrate = bitrate


class TunedH264Encoder(h264.H264Encoder):
    """aiortc's H.264 encoder with x264's X264_PRESET.

    aiortc opens its libx264 context inside `_encode_frame` (again whenever the size or the
    target bitrate changes by over 10%) and gives no way to add options; so this opens the
    context first, with aiortc's settings plus the preset, under the same conditions, and
    aiortc then finds it fit to use. Should a later aiortc open its own anyway, it merely
    encodes more slowly."""

    def _encode_frame(self, frame: av.VideoFrame, force_keyframe: bool) -> Iterator[bytes]:
        if self._needs_context(frame):
            self.buffer_data, self.buffer_pts = b"", None
            self.codec = self._open_context(frame)
        return super()._encode_frame(frame, force_keyframe)

    def _needs_context(self, frame: av.VideoFrame) -> bool:
        codec = self.codec
        if codec is None:
            return True
        resized = (frame.width, frame.height) != (codec.width, codec.height)
        bitrate = codec.bit_rate or 0
        return resized or not bitrate or abs(self.target_bitrate - bitrate) / bitrate > 0.1

    def _open_context(self, frame: av.VideoFrame) -> av.VideoCodecContext:
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height = frame.width, frame.height
        codec.bit_rate = self.target_bitrate
        codec.pix_fmt = "yuv420p"
        codec.framerate = fractions.Fraction(h264.MAX_FRAME_RATE, 1)
        codec.time_base = fractions.Fraction(1, h264.MAX_FRAME_RATE)
        codec.options = {"level": "31", "tune": "zerolatency", "preset": X264_PRESET}
        codec.profile = "Baseline"
        return codec


def _timed_get_encoder(codec: RTCRtpCodecParameters) -> Encoder:
    mime = codec.mimeType.lower()
    if mime == "video/h264":
        return TimedEncoder(TunedH264Encoder())
    encoder = get_encoder(codec)
    return TimedEncoder(encoder) if mime.startswith("video/") else encoder


def configure_aiortc() -> None:
    """Raise the video bitrate caps and time every video encode; safe to call again."""
    h264.MIN_BITRATE, h264.DEFAULT_BITRATE, h264.MAX_BITRATE = H264_BITRATES
    vpx.MIN_BITRATE, vpx.DEFAULT_BITRATE, vpx.MAX_BITRATE = VP8_BITRATES
    # RTCRtpSender creates its encoder through the name it imported; swap that name.
    _sender.get_encoder = _timed_get_encoder  # type: ignore[attr-defined]


def bitrate_caps() -> dict[str, Any]:
    """The caps in force, in bits per second, for the inspector."""
    return {
        "h264": {"min": h264.MIN_BITRATE, "default": h264.DEFAULT_BITRATE, "max": h264.MAX_BITRATE},
        "vp8": {"min": vpx.MIN_BITRATE, "default": vpx.DEFAULT_BITRATE, "max": vpx.MAX_BITRATE},
    }
