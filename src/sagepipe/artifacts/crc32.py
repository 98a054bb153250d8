"""CRC-32 arithmetic for splicing gzip members: combining and splitting checksums.

A gzip member's trailer holds the CRC-32 of all its data. To cut a member and append new
data without reading the kept part again, the kept part's CRC is recovered from the
trailer's and the dropped tail's (:func:`crc32_prefix`), then extended by the new data's
(:func:`crc32_combine`). Both rest on ``crc(A + B) = crc(A) * x^(8 * len(B)) + crc(B)``
modulo the CRC polynomial; the prefix needs ``x`` to the negative power, which exists
because the polynomial's constant term is 1.

Polynomials are in the reflected form zlib uses: bit 31 is ``x^0``, bit 0 is ``x^31``.
"""

from __future__ import annotations

_POLY = 0xEDB88320  # x^32 + x^26 + ... + 1 without its x^32 term, reflected
_ONE = 1 << 31  # x^0
_X = 1 << 30  # x^1


def _multiply(a: int, b: int) -> int:
    """``a * b`` modulo the CRC polynomial."""
    product = 0
    mask = _ONE
    while a:
        if a & mask:
            product ^= b
            a ^= mask
        mask >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return product


def _power(base: int, exponent: int) -> int:
    result = _ONE
    while exponent:
        if exponent & 1:
            result = _multiply(result, base)
        base = _multiply(base, base)
        exponent >>= 1
    return result


# P(x) = x * Q(x) + 1, so x * Q(x) = 1 modulo P and Q = x^-1: P's terms above x^0, divided by
# x. Reflected, dividing by x is a shift left; P's x^32 term becomes x^31, bit 0.
_X_INVERSE = ((_POLY & ~_ONE) << 1) | 1


def crc32_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC-32 of ``A + B`` from the CRC-32s of ``A`` and ``B`` and the length of ``B``."""
    return _multiply(crc_a, _power(_X, 8 * length_b)) ^ crc_b


def crc32_prefix(crc_ab: int, crc_b: int, length_b: int) -> int:
    """The CRC-32 of ``A`` from the CRC-32s of ``A + B`` and ``B`` and the length of ``B``."""
    return _multiply(crc_ab ^ crc_b, _power(_X_INVERSE, 8 * length_b))
