"""The frame marker: a 16-bit number drawn as 16 blocks of 8x8 pixels in the bottom-left corner.

Most significant bit first (leftmost), white = 1, black = 0; see frames.View.marker.
"""

from __future__ import annotations

import numpy as np

BITS = 16
BLOCK = 8
WIDTH = BITS * BLOCK


def marker_bits(value: int) -> list[bool]:
    """The blocks of `value` from left to right (True: white)."""
    return [bool(value >> (BITS - 1 - i) & 1) for i in range(BITS)]


def read_marker(pixels: np.ndarray) -> int:
    """Decode the marker from an RGB frame (height, width, 3), top row first.

    Each block is read at its centre, so a slightly blurred (encoded) frame still decodes."""
    row = pixels.shape[0] - BLOCK // 2
    centres = np.arange(BITS) * BLOCK + BLOCK // 2
    brightness = pixels[row, centres].astype(np.int32).sum(axis=-1)
    value = 0
    for bright in brightness > 3 * 127:
        value = value << 1 | int(bright)
    return value
