"""The parallel gzip writer: valid gzip, whatever the block size, writes and threads."""

from __future__ import annotations

import gzip
import io
import random
import zlib

import pytest

from sagepipe.artifacts.gzipio import ParallelGzipWriter


def _pieces(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces = []
    for _ in range(300):
        size = rng.choice([0, 1, 511, 512, 4096, 70_000, 200_000])
        if rng.random() < 0.5:
            pieces.append(rng.randbytes(size))
        else:  # compressible, with matches that reach back across blocks
            pieces.append((b"abcdefgh%d" % rng.randrange(50)) * (size // 10))
    return pieces


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("block_size", [65_536, 100_003, 1 << 20])
@pytest.mark.parametrize("level", [1, 6])
def test_the_output_is_the_input_gzipped(threads: int, block_size: int, level: int) -> None:
    pieces = _pieces(block_size + threads + level)
    sink = io.BytesIO()
    writer = ParallelGzipWriter(sink, level=level, threads=threads, block_size=block_size)
    for piece in pieces:
        writer.write(piece)
    size = writer.close()

    data = b"".join(pieces)
    assert gzip.decompress(sink.getvalue()) == data  # checks the CRC and the length
    assert size == len(sink.getvalue())
    blocks = -(-len(data) // block_size)
    assert writer.fast_blocks + writer.zlib_blocks in (blocks, blocks + 1)
    reference = zlib.compressobj(level, zlib.DEFLATED, 31)
    assert size <= len(reference.compress(data) + reference.flush()) * 1.01


def test_an_empty_stream_is_a_valid_gzip() -> None:
    sink = io.BytesIO()
    ParallelGzipWriter(sink).close()

    assert gzip.decompress(sink.getvalue()) == b""


def test_a_bad_level_is_refused() -> None:
    with pytest.raises(ValueError, match="1-9"):
        ParallelGzipWriter(io.BytesIO(), level=0)
