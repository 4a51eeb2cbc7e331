"""The frame marker's layout, shared by the host that draws it and the clients that read it.

With the marker on (the `marker` input of docs/scene-protocol.md), the host draws the newest
applied `seq` (mod 65536) into the bottom-left corner of every frame: 16 blocks of 8x8
pixels in the bottom row of blocks, most significant bit first (leftmost), white = 1,
black = 0. A client that decodes the frame can tell which of its inputs the picture already
reflects. Vocabulary: imports nothing of the host or the client.
"""

from __future__ import annotations

import numpy as np

BITS = 16
BLOCK = 8  # pixels a side
WIDTH = BITS * BLOCK  # pixels from the left edge
MODULUS = 1 << BITS


def marker_bits(value: int) -> list[bool]:
    """The blocks of `value` (mod 65536) from left to right (True: white)."""
    value %= MODULUS
    return [bool(value >> (BITS - 1 - i) & 1) for i in range(BITS)]


def read_marker(pixels: np.ndarray) -> int:
    """The marker of an RGB frame (height, width, 3), top row first.

    Each block is read at its centre, so a slightly blurred (encoded) frame still reads."""
    row = pixels.shape[0] - BLOCK // 2
    centres = np.arange(BITS) * BLOCK + BLOCK // 2
    brightness = pixels[row, centres].astype(np.int32).sum(axis=-1)
    value = 0
    for bright in brightness > 3 * 127:
        value = value << 1 | int(bright)
    return value


def shows(marker: int, seq: int) -> bool:
    """True when a frame marked `marker` reflects the input numbered `seq` (it shows that
    seq or a later one). Counts across the wrap at 65536, taking the nearer half as later."""
    return (marker - seq) % MODULUS < MODULUS // 2
