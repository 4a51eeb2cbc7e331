"""The frame marker as clients read it: drawn blocks read back, through codec-like blur and
noise, and seqs compared across the wrap at 65536."""

from __future__ import annotations

import numpy as np
import pytest

from renderhub.frame_marker import BITS, BLOCK, marker_bits, read_marker, shows


def _drawn(value: int, height: int = 120, width: int = 200) -> np.ndarray:
    """A grey frame with `value` drawn the way the layout says."""
    pixels = np.full((height, width, 3), 90, dtype=np.uint8)
    for i, white in enumerate(marker_bits(value)):
        pixels[height - BLOCK :, i * BLOCK : (i + 1) * BLOCK] = 255 if white else 0
    return pixels


@pytest.mark.parametrize("value", [0, 1, 0x8000, 0xFFFF, 12345, 65536 + 7])
def test_a_drawn_marker_reads_back_even_blurred(value: int) -> None:
    pixels = _drawn(value).astype(np.int16)
    noise = np.random.default_rng(value).integers(-40, 40, pixels.shape)
    blurred = (pixels + np.roll(pixels, 2, axis=1)) // 2  # edges smeared by two pixels
    noisy = np.clip(blurred + noise, 0, 255).astype(np.uint8)
    assert read_marker(noisy) == value % 65536
    assert len(marker_bits(value)) == BITS


def test_seqs_compare_across_the_wrap() -> None:
    assert shows(5, 5) and shows(6, 5) and not shows(4, 5)
    assert shows(3, 65534), "3 comes after 65534 once the counter wrapped"
    assert not shows(65534, 3)
    assert shows(70000 % 65536, 70000)
