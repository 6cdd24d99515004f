"""Damage detection for a shard directory: what must be true of the files before the shard opens.

A shard that finds its files damaged fails with a ``ShardCorrupted`` and is never recreated empty: the
node reports it (``cluster.shard_failures``) and serves everything else, and recovering what survives is
an operator's decision (``native.repair``, ``quidditch shard remove-corrupted-data``).

ShardCorrupted (500, corrupt_index_exception)
├── TranslogCorrupted (translog_corrupted_exception): a WAL record damaged with intact records after it,
│   or a WAL that is missing where the shard must have one
└── ShardStateCorrupted (corrupt_state_exception): ``state.json`` missing or unreadable next to data

The checks (``check_shard_files``), in the order a shard opens:

- an empty (or absent) directory is a new shard;
- ``state.json`` must exist and parse once the directory holds anything else (a WAL, an index);
- ``wal.log`` must exist once ``state.json`` does: ``prepare_shard_dir`` creates it before a new shard
  first writes its state, and ``native.wal`` never removes it (a seal links, then replaces), so a state
  without a WAL has lost the acknowledged operations since the last commit;
- every WAL file (sealed generations and ``wal.log``) must be intact up to at most a torn tail
  (``native.wal.scan``);
- ``index.<generation>/meta.json`` must exist and parse once the state records a commit
  (``committed_seq_no`` >= 0): tantivy writes it when it creates the index, before the shard's first state
  write, and a missing one would make tantivy create an empty index;
- every file of every segment ``meta.json`` lists must exist and carry tantivy's footer with a crc32 that
  matches its content (the footer is ``[json {"version", "crc"}][u32 json length][u32 magic 1337]``; the
  crc covers the bytes before it). The checksums are verified up to ``VERIFY_BUDGET`` bytes a shard,
  smallest files first; beyond it, the footers only.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from native.errors import QuidditchError

_FOOTER_MAGIC = 1337
_FOOTER_TAIL = struct.Struct("<II")  # json length, magic
_CHUNK = 1 << 20
# The segment bytes whose checksums a shard verifies when it opens, smallest files first: at ~650 MB/s here
# that bounds the cost to ~0.4 s a shard. Larger shards get their remaining files' footers checked (as
# Lucene does for large files at open); the offline repair verifies every byte.
VERIFY_BUDGET = 256 << 20


class ShardCorrupted(QuidditchError):
    status = 500
    es_type = "corrupt_index_exception"


class TranslogCorrupted(ShardCorrupted):
    es_type = "translog_corrupted_exception"


class ShardStateCorrupted(ShardCorrupted):
    es_type = "corrupt_state_exception"


@dataclass(frozen=True)
class SegmentFiles:
    """One segment of ``meta.json``: its id (hex, no dashes), document counts and the files it owns."""

    name: str
    max_doc: int
    deleted_docs: int
    files: tuple[str, ...]

    @property
    def num_docs(self) -> int:
        return self.max_doc - self.deleted_docs


def read_state(shard_dir: str) -> dict[str, Any] | None:
    """``state.json`` as a dict, None when it does not exist; ``ShardStateCorrupted`` when it is unreadable."""
    path = os.path.join(shard_dir, "state.json")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    try:
        state = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ShardStateCorrupted(f"shard state [{path}] is not valid json: {exc}", path=path) from None
    if not isinstance(state, dict):
        raise ShardStateCorrupted(f"shard state [{path}] is not an object", path=path)
    for key in ("generation", "committed_seq_no"):
        if not isinstance(state.get(key), int) or isinstance(state.get(key), bool):
            raise ShardStateCorrupted(f"shard state [{path}] has no integer [{key}]", path=path)
    return state


def read_meta(index_dir: str) -> list[SegmentFiles]:
    """The segments tantivy's ``meta.json`` lists, each with its files in ``index_dir``."""
    path = os.path.join(index_dir, "meta.json")
    try:
        with open(path, "rb") as fh:
            meta = orjson.loads(fh.read())
    except FileNotFoundError:
        raise ShardCorrupted(f"index meta [{path}] is missing", path=path) from None
    except orjson.JSONDecodeError as exc:
        raise ShardCorrupted(f"index meta [{path}] is not valid json: {exc}", path=path) from None
    try:
        entries = meta["segments"]
        segments = []
        for entry in entries:
            name = str(entry["segment_id"]).replace("-", "")
            deletes = entry.get("deletes")
            deleted = int(deletes["num_deleted_docs"]) if deletes else 0
            files = [f"{name}.{ext}" for ext in ("idx", "pos", "term", "store", "fast", "fieldnorm")]
            if deletes:
                files.append(f"{name}.{int(deletes['opstamp'])}.del")
            segments.append(SegmentFiles(name, int(entry["max_doc"]), deleted, tuple(files)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ShardCorrupted(f"index meta [{path}] is malformed: {exc!r}", path=path) from None
    return segments


def verify_file(path: str, *, full: bool = True) -> str | None:
    """Why ``path`` fails tantivy's footer check (missing, truncated, checksum), or None when it passes;
    ``full=False`` checks the footer's structure only, not the checksum of the content."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            if size < _FOOTER_TAIL.size:
                return f"file [{path}] is truncated ({size} bytes)"
            fh.seek(size - _FOOTER_TAIL.size)
            json_len, magic = _FOOTER_TAIL.unpack(fh.read(_FOOTER_TAIL.size))
            body_len = size - _FOOTER_TAIL.size - json_len
            if magic != _FOOTER_MAGIC or body_len < 0:
                return f"file [{path}] has no valid footer"
            fh.seek(body_len)
            try:
                expected = int(orjson.loads(fh.read(json_len))["crc"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                return f"file [{path}] has an unreadable footer"
            if not full:
                return None
            fh.seek(0)
            crc, left = 0, body_len
            while left > 0:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    return f"file [{path}] is truncated"
                crc = zlib.crc32(chunk, crc)
                left -= len(chunk)
    except FileNotFoundError:
        return f"file [{path}] is missing"
    if crc != expected:
        return f"checksum failed (hardware problem?) : expected={expected:x} actual={crc:x} (resource={path})"
    return None


def damaged_segments(index_dir: str, segments: list[SegmentFiles], budget: int | None = None) -> dict[str, str]:
    """Segment name → why it is damaged, for the segments of ``segments`` that fail verification.

    ``budget``: the bytes whose checksums are verified, smallest files first (every file's footer is checked
    whatever the budget); None verifies everything."""
    bad: dict[str, str] = {}
    files: list[tuple[int, str, str]] = []
    for segment in segments:
        for name in segment.files:
            path = os.path.join(index_dir, name)
            try:
                files.append((os.path.getsize(path), segment.name, path))
            except FileNotFoundError:
                bad.setdefault(segment.name, f"file [{path}] is missing")
    left = budget
    for size, segment_name, path in sorted(files):
        if segment_name in bad:
            continue
        full = left is None or size <= left
        if left is not None and full:
            left -= size
        why = verify_file(path, full=full)
        if why is not None:
            bad[segment_name] = why
    return bad


def wal_paths(shard_dir: str) -> list[str]:
    """The shard's WAL files in replay order: sealed generations, then ``wal.log`` (when present)."""
    from native.wal import sealed_generations

    active = os.path.join(shard_dir, "wal.log")
    paths = [path for _, path in sealed_generations(active)]
    if os.path.exists(active):
        paths.append(active)
    return paths


def holds_data(shard_dir: str) -> bool:
    """Whether the directory holds anything a shard wrote (a WAL with records, an index, a state)."""
    try:
        names = os.listdir(shard_dir)
    except FileNotFoundError:
        return False
    for name in names:
        path = os.path.join(shard_dir, name)
        if name.startswith("index.") and os.path.isdir(path) and os.listdir(path):
            return True
        if name.startswith("wal.") and name.endswith(".log") and os.path.getsize(path) > 0:
            return True
        if name == "state.json":
            return True
    return False


def check_shard_files(shard_dir: str) -> None:
    """Raise ``ShardCorrupted`` when the directory's files are damaged (see the module docstring)."""
    from native.wal import corruption, scan  # native.wal raises the errors defined here

    state = read_state(shard_dir)
    if state is None:
        if holds_data(shard_dir):
            raise ShardStateCorrupted(
                f"shard state [{os.path.join(shard_dir, 'state.json')}] is missing but the shard holds data",
                path=os.path.join(shard_dir, "state.json"),
            )
        return
    active = os.path.join(shard_dir, "wal.log")
    if not os.path.exists(active):
        raise TranslogCorrupted(f"translog [{active}] is missing (committed seq_no [{state['committed_seq_no']}])",
                                path=active)  # fmt: skip
    for path in wal_paths(shard_dir):
        wal_scan = scan(path, keep_records=False)
        if wal_scan.corrupted:
            raise corruption(wal_scan)
    index_dir = os.path.join(shard_dir, f"index.{state['generation']}")
    if state["committed_seq_no"] < 0 and not os.path.exists(os.path.join(index_dir, "meta.json")):
        return  # nothing was ever committed (a new shard, or one a repair reset to replay its whole WAL)
    segments = read_meta(index_dir)
    bad = damaged_segments(index_dir, segments, VERIFY_BUDGET)
    if bad:
        name, why = next(iter(bad.items()))
        raise ShardCorrupted(f"segment [{name}] of [{index_dir}] is damaged: {why}", path=index_dir)


def prepare_shard_dir(shard_dir: str) -> None:
    """Before a shard opens: fail on damage (``check_shard_files``), finish a seal a crash interrupted, and
    give a new shard its ``wal.log`` before its first state write (so a state never lacks one)."""
    from native.wal import fsync_dir, open_active

    os.makedirs(shard_dir, exist_ok=True)
    check_shard_files(shard_dir)
    active = os.path.join(shard_dir, "wal.log")
    open_active(active)
    if not os.path.exists(active):
        with open(active, "ab") as fh:
            os.fsync(fh.fileno())
        fsync_dir(shard_dir)
