"""The ``translog`` section of ``_stats``, measured on the shard's write-ahead log.

``size_in_bytes`` is what the WAL files of the shard (the active ``wal.log`` and the sealed generations a
commit has not yet covered) weigh on disk; ``operations`` and ``uncommitted_operations`` are the operations
past the last tantivy commit (the shard's highest sequence number minus the committed one, from
``state.json``); ``earliest_last_modified_age`` is the age of the oldest WAL file. A Diagon shard commits on
refresh, so after a refresh (not only a flush) the WAL holds nothing to replay.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from typing import Any

from cluster.node import DataNode
from cluster.state import IndexMeta

__all__ = ["EMPTY", "translog_stats"]

EMPTY = {"operations": 0, "size_in_bytes": 0, "uncommitted_operations": 0, "uncommitted_size_in_bytes": 0,
         "earliest_last_modified_age": 0}  # fmt: skip


def _shard(node: DataNode, meta: IndexMeta, shard: int, max_seq_no: int) -> dict[str, Any]:
    shard_dir = node.shard_dir(meta.uuid, shard)
    size = 0
    oldest: float | None = None
    try:
        names = os.listdir(shard_dir)
    except OSError:
        return dict(EMPTY)
    for name in names:
        if name.startswith("wal.") and name.endswith(".log"):
            try:
                stat = os.stat(os.path.join(shard_dir, name))
            except OSError:
                continue
            size += stat.st_size
            oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
    try:
        with open(os.path.join(shard_dir, "state.json"), "rb") as fh:
            committed = int(json.load(fh).get("committed_seq_no", -1))
    except (OSError, ValueError, TypeError):
        committed = max_seq_no
    pending = max(0, max_seq_no - committed)
    age = int((time.time() - oldest) * 1000) if oldest is not None else 0
    return {"operations": pending, "size_in_bytes": size, "uncommitted_operations": pending,
            "uncommitted_size_in_bytes": size, "earliest_last_modified_age": max(age, 0)}  # fmt: skip


def translog_stats(node: DataNode, meta: IndexMeta, shards: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """Summed over ``shards`` (shard number, its highest sequence number); the age is the oldest one's."""
    out = dict(EMPTY)
    for shard, max_seq_no in shards:
        one = _shard(node, meta, shard, max_seq_no)
        for key in ("operations", "size_in_bytes", "uncommitted_operations", "uncommitted_size_in_bytes"):
            out[key] += one[key]
        out["earliest_last_modified_age"] = max(out["earliest_last_modified_age"], one["earliest_last_modified_age"])
    return out
