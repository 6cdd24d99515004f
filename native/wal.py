"""The write-ahead log (ES's translog) of one shard.

A record is ``[u32 length][u32 crc32(payload)][payload]``. ``append`` writes a batch and fsyncs before
returning, so an operation is acknowledged only once it is durable. ``replay`` yields every intact record
up to the first bad one (a short, garbled or checksum-failing record). What happens there depends on what
follows it (``scan``):

- nothing intact (no later offset starts a well-formed record with a matching crc): the torn tail of a
  write a crash interrupted, never acknowledged; it is truncated.
- intact records: damage in the middle of acknowledged operations. ``replay`` raises
  ``TranslogCorrupted`` and changes nothing on disk; the shard fails until an operator decides what to
  drop (``native.repair``). Nothing after a bad record is ever replayed.

Two payload encodings, told apart by their first byte, are replayed alike:

- JSON (``{``…): an orjson object ``{"op", "id", "seq_no", "version", "term"[, "source": str]}``, as
  ``append`` writes it (the original format; kept for WALs written before the binary one).
- binary (``\\x01`` index, ``\\x02`` delete), written by the shard's hot path through ``append_payloads``
  and ``index_payload``/``delete_payload``: ``<B kind><q seq_no><q version><q term><I id length>``, the
  UTF-8 id, then (index only) the raw ``_source`` bytes, so a document is neither escaped into JSON nor
  decoded to ``str``. Replay yields the same dict with ``source`` as ``bytes``. ``\x03`` is an index
  operation with a custom routing: ``<I routing length>`` and the UTF-8 routing follow the id (``routing``
  in the replayed dict). ``\x04`` is a no-op (``noop_payload``: a seq_no a replica processed without a
  document change, ``native.replica``), with an empty id; replayed as ``{"op": "noop", "seq_no", "term"}``.

Generations: ``seal(n)`` moves the active file (``wal.log``) to ``wal.<n>.log`` and starts an empty
active file (a hard link, then an atomic replace: ``wal.log`` exists at every instant, so a missing one is
damage, not a crash window), so a refresh can commit tantivy for the sealed operations while new writes keep appending.
``sealed_generations`` lists the sealed files of a shard in order; the shard replays them, then the active
file, and deletes a sealed file once a tantivy commit covers all of its operations.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from native.damage import TranslogCorrupted

log = logging.getLogger(__name__)
_HEADER = struct.Struct("<II")
_BINARY = struct.Struct("<BqqqI")
_INDEX, _DELETE, _INDEX_ROUTED, _NOOP = 1, 2, 3, 4
_ROUTING_LEN = struct.Struct("<I")
MAX_RECORD = 512 * 1024 * 1024


def index_payload(
    doc_id: str, seq_no: int, version: int, term: int, source: bytes, routing: str | None = None
) -> bytes:
    """The binary payload of an index operation (see the module docstring); a document written with a
    custom routing is kind 3, its routing (``<I length>`` + UTF-8) between the id and the source."""
    raw_id = doc_id.encode()
    if routing is None:
        return _BINARY.pack(_INDEX, seq_no, version, term, len(raw_id)) + raw_id + source
    raw_routing = routing.encode()
    return (_BINARY.pack(_INDEX_ROUTED, seq_no, version, term, len(raw_id)) + raw_id
            + _ROUTING_LEN.pack(len(raw_routing)) + raw_routing + source)  # fmt: skip


def delete_payload(doc_id: str, seq_no: int, version: int, term: int) -> bytes:
    raw_id = doc_id.encode()
    return _BINARY.pack(_DELETE, seq_no, version, term, len(raw_id)) + raw_id


def noop_payload(seq_no: int, term: int) -> bytes:
    """A seq_no marked processed with no document change (a stale replica op, a filled gap)."""
    return _BINARY.pack(_NOOP, seq_no, 0, term, 0)


def decode_payload(payload: bytes) -> dict[str, Any] | None:
    """The record a payload holds (as ``replay`` yields it), or None when it is not a well-formed record:
    replicas decode the payloads their primary forwards (``native.replica``)."""
    return _decode(payload)


def _decode(payload: bytes) -> dict[str, Any] | None:
    """A record from its payload, or None when the payload is not a well-formed record."""
    if payload[:1] == b"{":
        try:
            decoded = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        return decoded if isinstance(decoded, dict) else None
    if len(payload) < _BINARY.size or payload[0] not in (_INDEX, _DELETE, _INDEX_ROUTED, _NOOP):
        return None
    kind, seq_no, version, term, id_len = _BINARY.unpack_from(payload)
    if kind == _NOOP:
        return {"op": "noop", "id": "", "seq_no": seq_no, "version": 0, "term": term} if (
            id_len == 0 and len(payload) == _BINARY.size) else None
    id_end = _BINARY.size + id_len
    if id_end > len(payload) or (kind == _DELETE and id_end != len(payload)):
        return None
    try:
        doc_id = payload[_BINARY.size : id_end].decode()
    except UnicodeDecodeError:
        return None
    record: dict[str, Any] = {"op": "delete" if kind == _DELETE else "index", "id": doc_id, "seq_no": seq_no,
                              "version": version, "term": term}  # fmt: skip
    if kind == _INDEX:
        record["source"] = payload[id_end:]
    elif kind == _INDEX_ROUTED:
        if id_end + _ROUTING_LEN.size > len(payload):
            return None
        (routing_len,) = _ROUTING_LEN.unpack_from(payload, id_end)
        start = id_end + _ROUTING_LEN.size
        if start + routing_len > len(payload):
            return None
        try:
            record["routing"] = payload[start : start + routing_len].decode()
        except UnicodeDecodeError:
            return None
        record["source"] = payload[start + routing_len :]
    return record


def _record_at(data: bytes, offset: int) -> tuple[int, dict[str, Any]] | None:
    """``(end, record)`` when a well-formed record with a matching crc starts at ``offset``, else None."""
    if offset + _HEADER.size > len(data):
        return None
    length, crc = _HEADER.unpack_from(data, offset)
    start = offset + _HEADER.size
    end = start + length
    if length > MAX_RECORD or end > len(data):
        return None
    payload = data[start:end]
    if zlib.crc32(payload) != crc:
        return None
    record = _decode(payload)
    return None if record is None else (end, record)


# A record's payload starts with one of these bytes (JSON ``{``, binary index/delete): only offsets 8 bytes
# before one can start a record, which keeps the search past a bad record linear in C.
_PAYLOAD_START = re.compile(rb"[{\x01\x02\x03\x04]")


def next_intact(data: bytes, after: int) -> int | None:
    """The first offset > ``after`` where an intact record starts, or None (``after`` starts a torn tail)."""
    for match in _PAYLOAD_START.finditer(data, after + 1 + _HEADER.size):
        offset = match.start() - _HEADER.size
        if _record_at(data, offset) is not None:
            return offset
    return None


@dataclass(frozen=True)
class WalScan:
    """What a WAL file holds: ``good_end`` bytes of intact records from the start; ``bad_at`` the offset of
    the first bad record (None: the file is intact); ``resumes_at`` the first intact record after it (None:
    a torn tail). ``before``: the records up to ``good_end``; ``after``: the intact records from
    ``resumes_at`` on (skipping any further damage), which a repair that cuts at ``bad_at`` drops."""

    path: str
    size: int
    good_end: int
    bad_at: int | None
    resumes_at: int | None
    before: tuple[dict[str, Any], ...]
    after: tuple[dict[str, Any], ...]

    @property
    def corrupted(self) -> bool:
        return self.resumes_at is not None


def scan(path: str, *, keep_records: bool = True) -> WalScan:
    """Read ``path`` without changing it (see the module docstring for the torn-tail/damage rule)."""
    with open(path, "rb") as fh:
        data = fh.read()
    before: list[dict[str, Any]] = []
    offset = 0
    while True:
        found = _record_at(data, offset)
        if found is None:
            break
        offset, record = found
        if keep_records:
            before.append(record)
    if offset == len(data):
        return WalScan(path, len(data), offset, None, None, tuple(before), ())
    resumes = next_intact(data, offset)
    after: list[dict[str, Any]] = []
    at = resumes
    while at is not None and keep_records:
        found = _record_at(data, at)
        if found is None:
            resumed = next_intact(data, at)
            at = resumed if resumed is not None and resumed > at else None
            continue
        at, record = found
        after.append(record)
    return WalScan(path, len(data), offset, offset, resumes, tuple(before), tuple(after))


def corruption(wal_scan: WalScan) -> TranslogCorrupted:
    return TranslogCorrupted(
        f"translog [{wal_scan.path}] is corrupted: a damaged record at offset [{wal_scan.bad_at}] is followed by "
        f"intact records (from offset [{wal_scan.resumes_at}] of [{wal_scan.size}] bytes)",
        path=wal_scan.path,
    )


def generation_path(active_path: str, generation: int) -> str:
    """``<dir>/wal.log`` → ``<dir>/wal.<generation>.log``."""
    base, ext = os.path.splitext(active_path)
    return f"{base}.{generation}{ext}"


def sealed_generations(active_path: str) -> list[tuple[int, str]]:
    """The sealed generations next to ``active_path`` as ``(generation, path)``, oldest first."""
    directory = os.path.dirname(active_path) or "."
    base, ext = os.path.splitext(os.path.basename(active_path))
    found = []
    for name in os.listdir(directory):
        if name.startswith(base + ".") and name.endswith(ext):
            middle = name[len(base) + 1 : len(name) - len(ext)]
            if middle.isdigit():
                found.append((int(middle), os.path.join(directory, name)))
    return sorted(found)


def fsync_dir(directory: str) -> None:
    dir_fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def open_active(path: str) -> None:
    """Resolve a ``seal`` a crash interrupted between its link and its replace: ``wal.log`` and the newest
    sealed generation are one file, whose records the sealed name holds; ``wal.log`` starts empty."""
    sealed = sealed_generations(path)
    if sealed and os.path.exists(path) and os.path.samefile(path, sealed[-1][1]):
        fresh = path + ".new"
        with open(fresh, "wb") as fh:
            os.fsync(fh.fileno())
        os.replace(fresh, path)
        fsync_dir(os.path.dirname(path))


class WriteAheadLog:
    def __init__(self, path: str) -> None:
        self.path = path
        # Unbuffered: a failed append leaves no bytes in a Python buffer that a later flush could write
        # behind the point the failure cut the file back to.
        self._fh = open(path, "ab", buffering=0)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append JSON records and fsync; returns only when they are durable."""
        self.append_payloads([orjson.dumps(record) for record in records])

    def append_payloads(self, payloads: list[bytes]) -> None:
        """Append encoded payloads (``index_payload``/``delete_payload``) and fsync; returns once durable."""
        if not payloads:
            return
        crc32, pack = zlib.crc32, _HEADER.pack
        chunks = []
        for payload in payloads:
            chunks.append(pack(len(payload), crc32(payload)))
            chunks.append(payload)
        fh = self._fh
        start = os.fstat(fh.fileno()).st_size
        try:
            data = memoryview(b"".join(chunks))
            while data:  # a raw write may take part of it (a disk filling up: the rest then raises ENOSPC)
                data = data[fh.write(data) or 0 :]
            os.fsync(fh.fileno())
        except BaseException:
            # Nothing of a failed append is acknowledged; cut it off so later records (or a sealed
            # generation) never sit behind a partial one. Best effort: the failure may persist.
            try:
                self.truncate(start)
            except OSError:
                log.exception("could not cut a failed wal append", extra={"path": self.path})
            raise

    def replay(self) -> Iterator[dict[str, Any]]:
        """Yield intact records from the start; truncate a torn tail, raise ``TranslogCorrupted`` (changing
        nothing) when intact records follow a bad one."""
        with open(self.path, "rb") as fh:
            data = fh.read()
        offset = 0
        while True:
            found = _record_at(data, offset)
            if found is None:
                break
            offset, record = found
            yield record
        if offset != len(data):
            if next_intact(data, offset) is not None:
                raise corruption(scan(self.path, keep_records=False))
            log.warning("truncating torn wal tail", extra={"path": self.path, "at": offset, "size": len(data)})
            self.truncate(offset)

    def truncate(self, size: int = 0) -> None:
        fd = self._fh.fileno()
        os.ftruncate(fd, size)  # appends go to the new end (O_APPEND)
        os.fsync(fd)

    def seal(self, generation: int) -> str:
        """Move the active file to generation ``generation`` and continue in a new, empty active file.

        Returns the sealed path. Both directory entries are durable before this returns, so a record
        appended (and acknowledged) afterwards is never replayed before the sealed ones.
        """
        sealed = generation_path(self.path, generation)
        self._fh.close()
        # link, then atomically replace: ``wal.log`` never goes missing (a crash between the two leaves both
        # names on one file, which ``open_active`` resolves), so a missing ``wal.log`` is always damage.
        if os.path.exists(sealed):
            os.remove(sealed)
        os.link(self.path, sealed)
        fresh = self.path + ".new"
        with open(fresh, "wb") as fh:
            os.fsync(fh.fileno())
        os.replace(fresh, self.path)
        self._fh = open(self.path, "ab", buffering=0)
        fsync_dir(os.path.dirname(self.path))
        return sealed

    def size(self) -> int:
        return os.path.getsize(self.path)

    def close(self) -> None:
        self._fh.close()
