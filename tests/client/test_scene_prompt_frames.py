"""The prompt jitter buffer: a video frame goes to the decoder when its marked last packet
arrives (aiortc's own buffer waits for the next frame's first packet), never with a packet
missing, and never out of order; and it is fitted to a real peer connection's receiver."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from renderhub.client.prompt_frames import PromptJitterBuffer, receive_promptly


def _packet(sequence: int, timestamp: int, data: bytes, *, last: bool = False) -> RtpPacket:
    packet = RtpPacket(sequence_number=sequence, timestamp=timestamp, marker=int(last))
    packet._data = data  # type: ignore[attr-defined]  (what aiortc's depayloader sets)
    return packet


def _frames(buffer: JitterBuffer, packets: list[RtpPacket]) -> list[tuple[int, int, bytes]]:
    """(index of the packet that released it, timestamp, data) of every frame let out."""
    out = []
    for index, packet in enumerate(packets):
        _, frame = buffer.add(packet)
        if frame is not None:
            out.append((index, frame.timestamp, frame.data))
    return out


TWO_FRAMES = [
    _packet(100, 9000, b"a1"),
    _packet(101, 9000, b"a2"),
    _packet(102, 9000, b"a3", last=True),
    _packet(103, 12000, b"b1", last=True),
    _packet(104, 15000, b"c1"),
]


def test_a_frame_goes_with_its_last_packet_not_the_next_frames_first() -> None:
    aiortcs = _frames(JitterBuffer(capacity=128, is_video=True), TWO_FRAMES)
    prompt = _frames(PromptJitterBuffer(capacity=128, is_video=True), TWO_FRAMES)
    assert aiortcs == [(3, 9000, b"a1a2a3"), (4, 12000, b"b1")]
    assert prompt == [(2, 9000, b"a1a2a3"), (3, 12000, b"b1")]


def test_a_frame_with_a_packet_missing_waits_for_it() -> None:
    out_of_order = [TWO_FRAMES[0], TWO_FRAMES[2], TWO_FRAMES[1], TWO_FRAMES[3]]
    assert _frames(PromptJitterBuffer(capacity=128, is_video=True), out_of_order) == [
        (2, 9000, b"a1a2a3"),
        (3, 12000, b"b1"),
    ]
    lost = [TWO_FRAMES[0], TWO_FRAMES[2], TWO_FRAMES[3], TWO_FRAMES[4]]
    released = _frames(PromptJitterBuffer(capacity=128, is_video=True), lost)
    assert all(data != b"a1a3" for _, _, data in released), "never a frame with a hole"


async def test_a_peer_connections_video_receiver_gets_it() -> None:
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video", direction="recvonly")
        assert receive_promptly(pc)
        (transceiver,) = pc.getTransceivers()
        buffer = transceiver.receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
        assert isinstance(buffer, PromptJitterBuffer) and buffer.capacity == 512
        assert not receive_promptly(pc), "fitted once"
    finally:
        await pc.close()
