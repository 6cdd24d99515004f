"""The write-ahead log (ES's translog) of one shard.

A record is ``[u32 length][u32 crc32(payload)][payload]`` with an orjson payload. ``append`` writes a batch
and fsyncs before returning, so an operation is acknowledged only once it is durable. ``replay`` yields
every intact record and truncates the file at the first torn or corrupted one: a crash mid-write loses
only the unacknowledged tail, and nothing after a bad record is ever replayed.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

log = logging.getLogger(__name__)
_HEADER = struct.Struct("<II")
MAX_RECORD = 512 * 1024 * 1024


class WriteAheadLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fh = open(path, "ab")

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records and fsync; returns only when they are durable."""
        chunks = []
        for record in records:
            payload = orjson.dumps(record)
            chunks.append(_HEADER.pack(len(payload), zlib.crc32(payload)))
            chunks.append(payload)
        if not chunks:
            return
        self._fh.write(b"".join(chunks))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def replay(self) -> Iterator[dict[str, Any]]:
        """Yield intact records from the start; truncate a torn or corrupted tail."""
        good = 0
        with open(self.path, "rb") as fh:
            data = fh.read()
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            start = offset + _HEADER.size
            end = start + length
            if length > MAX_RECORD or end > len(data):
                break
            payload = data[start:end]
            if zlib.crc32(payload) != crc:
                break
            try:
                record = orjson.loads(payload)
            except orjson.JSONDecodeError:
                break
            yield record
            offset = end
            good = end
        if good != len(data):
            log.warning("truncating torn wal tail", extra={"path": self.path, "at": good, "size": len(data)})
            self.truncate(good)

    def truncate(self, size: int = 0) -> None:
        self._fh.flush()
        os.truncate(self.path, size)
        self._fh.close()
        self._fh = open(self.path, "ab")
        os.fsync(self._fh.fileno())

    def size(self) -> int:
        return os.path.getsize(self.path)

    def close(self) -> None:
        self._fh.close()
