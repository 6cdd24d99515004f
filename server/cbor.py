"""A minimal CBOR (RFC 8949) encoder for ``format=cbor`` / ``Accept: application/cbor`` answers.

Encodes ``None``, booleans, integers (64-bit range; larger ones as bignum tags), floats (as doubles),
strings, bytes, lists/tuples and mappings with definite lengths, which is what Jackson's CBOR
generator produces for Elasticsearch's JSON-shaped responses.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

__all__ = ["CBOR_CONTENT_TYPE", "dumps", "wants_cbor"]

CBOR_CONTENT_TYPE = "application/cbor"


def _head(major: int, length: int, out: bytearray) -> None:
    if length < 24:
        out.append(major << 5 | length)
    elif length < 1 << 8:
        out += bytes((major << 5 | 24, length))
    elif length < 1 << 16:
        out.append(major << 5 | 25)
        out += struct.pack(">H", length)
    elif length < 1 << 32:
        out.append(major << 5 | 26)
        out += struct.pack(">I", length)
    else:
        out.append(major << 5 | 27)
        out += struct.pack(">Q", length)


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if 0 <= value < 1 << 64:
            _head(0, value, out)
        elif -(1 << 64) <= value < 0:
            _head(1, -1 - value, out)
        else:  # bignum tags 2 (positive) and 3 (negative)
            tag, magnitude = (2, value) if value >= 0 else (3, -1 - value)
            raw = magnitude.to_bytes((magnitude.bit_length() + 7) // 8, "big")
            _head(6, tag, out)
            _head(2, len(raw), out)
            out += raw
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        _head(3, len(raw), out)
        out += raw
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        _head(2, len(raw), out)
        out += raw
    elif isinstance(value, Mapping):
        _head(5, len(value), out)
        for key, item in value.items():
            _encode(str(key), out)
            _encode(item, out)
    elif isinstance(value, list | tuple):
        _head(4, len(value), out)
        for item in value:
            _encode(item, out)
    else:
        _encode(str(value), out)


def dumps(value: Any) -> bytes:
    """``value`` (a JSON-shaped Python object) as CBOR bytes."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def wants_cbor(accept: str | None) -> bool:
    """True when an ``Accept`` header asks for CBOR first (ES picks the response format from it)."""
    if not accept:
        return False
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first in (CBOR_CONTENT_TYPE, "application/vnd.elasticsearch+cbor")
