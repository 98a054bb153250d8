"""CRC-32 combine and prefix recovery agree with zlib on real data."""

from __future__ import annotations

import random
import zlib

import pytest

from sagepipe.artifacts.crc32 import crc32_combine, crc32_prefix


@pytest.mark.parametrize(
    ("length_a", "length_b"),
    [(0, 0), (0, 7), (7, 0), (1, 1), (1000, 37), (12_345, 100_000), (3, 1 << 20)],
)
def test_combine_and_prefix_match_zlib(length_a: int, length_b: int) -> None:
    generator = random.Random(length_a * 31 + length_b)
    a, b = generator.randbytes(length_a), generator.randbytes(length_b)

    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    assert crc32_prefix(zlib.crc32(a + b), zlib.crc32(b), len(b)) == zlib.crc32(a)


def test_prefix_undoes_combine_for_lengths_beyond_four_gib() -> None:
    generator = random.Random(5)
    for _ in range(20):
        crc_a, crc_b = generator.getrandbits(32), generator.getrandbits(32)
        length = generator.randrange(1 << 32, 1 << 40)
        assert crc32_prefix(crc32_combine(crc_a, crc_b, length), crc_b, length) == crc_a
