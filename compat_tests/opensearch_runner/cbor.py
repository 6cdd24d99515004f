"""A minimal CBOR (RFC 8949) decoder for ``format=cbor`` answers (no dependency).

Decodes unsigned/negative integers, byte and text strings (also indefinite length), arrays,
maps, tags (the tag is dropped), ``false``/``true``/``null``/``undefined`` and half, single and
double floats.
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = ["CborError", "decode"]


class CborError(ValueError):
    """Malformed or truncated CBOR."""


_BREAK = object()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise CborError("truncated CBOR data")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def argument(self, info: int) -> int | None:
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            size = 1 << (info - 24)
            return int.from_bytes(self.take(size), "big")
        if info == 31:
            return None  # indefinite length
        raise CborError(f"reserved additional info {info}")

    def item(self) -> Any:
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            return self._simple(info)
        arg = self.argument(info)
        if major == 0:
            return arg
        if major == 1:
            return -1 - (arg or 0)
        if major in (2, 3):
            if arg is None:
                parts = []
                while (part := self.item()) is not _BREAK:
                    parts.append(part)
                return "".join(parts) if major == 3 else b"".join(parts)
            raw = self.take(arg)
            return raw.decode("utf-8") if major == 3 else raw
        if major == 4:
            items = []
            while arg is None or len(items) < arg:
                value = self.item()
                if value is _BREAK:
                    break
                items.append(value)
            return items
        if major == 5:
            mapping: dict[Any, Any] = {}
            count = 0
            while arg is None or count < arg:
                key = self.item()
                if key is _BREAK:
                    break
                mapping[key] = self.item()
                count += 1
            return mapping
        return self.item()  # major 6: tag, keep the tagged value

    def _simple(self, info: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", self.take(2))[0]
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        if info == 31:
            return _BREAK
        if info < 24:
            return info
        if info == 24:
            return self.take(1)[0]
        raise CborError(f"unsupported simple value {info}")


def decode(data: bytes) -> Any:
    reader = _Reader(data)
    value = reader.item()
    if value is _BREAK:
        raise CborError("unexpected break")
    return value
