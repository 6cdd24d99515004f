"""Stats of a closed index's shards, read from their files (``_stats`` with ``forbid_closed_indices=false``).

ES keeps a closed index's shards allocated with a no-op engine: ``_stats`` then reports what their last
commit holds (documents, store size), no loaded segments (``segments.count`` 0, unless
``include_unloaded_segments``), an empty translog (closing flushes: here it refreshes, which commits) and
counters that start from zero. A Diagon shard of a closed index is not open either; its last commit is
``state.json`` (the tantivy generation) and that generation's ``meta.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cluster.node import DataNode
from cluster.state import IndexMeta

__all__ = ["ClosedShard", "closed_shard"]


@dataclass(frozen=True)
class ClosedShard:
    docs: int
    segments: tuple[tuple[int, int, int], ...]  # (docs, deleted docs, bytes) per committed segment
    size_in_bytes: int
    committed_seq_no: int


def closed_shard(node: DataNode, meta: IndexMeta, shard: int) -> ClosedShard:
    """The shard's last commit; an empty shard when its files cannot be read."""
    shard_dir = node.shard_dir(meta.uuid, shard)
    size = 0
    for dirpath, _, files in os.walk(shard_dir):
        for name in files:
            try:
                size += os.path.getsize(os.path.join(dirpath, name))
            except OSError:
                pass
    try:
        with open(os.path.join(shard_dir, "state.json"), "rb") as fh:
            state = json.load(fh)
        generation = int(state.get("generation", 0))
        with open(os.path.join(shard_dir, f"index.{generation}", "meta.json"), "rb") as fh:
            committed = json.load(fh)
    except (OSError, ValueError, TypeError):
        return ClosedShard(0, (), size, -1)
    segments = []
    for seg in committed.get("segments", []):
        deletes = seg.get("deletes")
        deleted = int(deletes.get("num_deleted_docs", 0)) if isinstance(deletes, dict) else 0
        segments.append((int(seg.get("max_doc", 0)) - deleted, deleted, 0))
    return ClosedShard(sum(d for d, _, _ in segments), tuple(segments), size,
                       int(state.get("committed_seq_no", -1)))  # fmt: skip
