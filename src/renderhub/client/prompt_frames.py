"""Video frames handed to the decoder as soon as their last packet arrives.

aiortc's receiver (1.16) keeps each video frame in its jitter buffer until the first packet
of the *next* frame arrives, so every decoded frame is one frame interval late (33 ms at
30 fps): a scene change then shows a frame later in Python than in a browser. The sender
marks the last packet of each frame (the RTP marker bit; aiortc's sender does), so a frame
whose packets are all there up to a marked one is complete and can go at once. Only the
video receiver of one of this client's peer connections is changed, never aiortc itself.
"""

from __future__ import annotations

import logging
from typing import Any

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

log = logging.getLogger(__name__)

_RECEIVER_BUFFER = "_RTCRtpReceiver__jitter_buffer"  # aiortc's private name for it


class PromptJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, but the oldest frame goes out as soon as all its packets
    are there up to its marked last one (checked when a marked packet arrives, or one that
    fills a gap)."""

    def __init__(self, capacity: int, is_video: bool = True) -> None:
        super().__init__(capacity=capacity, is_video=is_video)
        self._newest: int | None = None  # the highest sequence number seen

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        late = (
            self._newest is not None and uint16_add(packet.sequence_number, -self._newest) > 0x8000
        )
        if not late:
            self._newest = packet.sequence_number
        pli_flag, frame = super().add(packet)
        if frame is None and (packet.marker or late):
            frame = self._whole_first_frame()
        return pli_flag, frame

    def _whole_first_frame(self) -> JitterFrame | None:
        """The frame at the buffer's origin, taken out, if all its packets are there."""
        origin = self._origin
        if origin is None:
            return None
        packets: list[RtpPacket] = []
        for count in range(self.capacity):
            packet = self._packets[(origin + count) % self._capacity]
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                return None  # a gap, or a frame without its marked end: aiortc's way decides
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]
                return JitterFrame(data=data, timestamp=packet.timestamp)
        return None


def receive_promptly(pc: Any) -> bool:
    """Give the video receivers of `pc` (an RTCPeerConnection, before it connects) the
    prompt jitter buffer; False, changing nothing, where aiortc is not as expected."""
    changed = False
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        buffer = getattr(receiver, _RECEIVER_BUFFER, None)
        if transceiver.kind != "video" or type(buffer) is not JitterBuffer:
            continue
        setattr(
            receiver, _RECEIVER_BUFFER, PromptJitterBuffer(capacity=buffer.capacity, is_video=True)
        )
        changed = True
    if not changed:
        log.info("aiortc's video receiver is not as expected: frames are decoded a frame late")
    return changed
