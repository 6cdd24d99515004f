"""``include_segment_file_sizes``: the bytes of each kind of segment file, as ES's ``segments.file_sizes``.

ES keys the map by Lucene file extension; a Diagon shard is a tantivy index, so the keys are tantivy's own
segment file extensions (``idx`` postings, ``pos`` positions, ``term`` terms, ``store`` stored fields,
``fast`` fast fields, ``fieldnorm`` norms, ``del`` deletes), measured on disk over the shards this node
holds. Only the files of the segments in each shard's last commit count (not locks, metadata, or files of
merged-away segments awaiting deletion).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterable
from typing import Any

from cluster.node import DataNode
from cluster.state import IndexMeta

__all__ = ["DESCRIPTIONS", "segment_file_sizes", "shard_commit"]

DESCRIPTIONS = {
    "idx": "Postings (document lists)", "pos": "Term positions", "term": "Term dictionary",
    "store": "Stored fields", "fast": "Fast fields (doc values)", "fieldnorm": "Field norms",
    "del": "Deleted documents", "posidx": "Position index",
}  # fmt: skip
_SEGMENT_FILE = re.compile(r"^[0-9a-f]{32}\.([a-z]+)$")


def _shard_files(shard_dir: str) -> Iterable[tuple[str, int]]:
    """The files of the segments in the shard's current generation's last commit (its ``meta.json``)."""
    try:
        with open(os.path.join(shard_dir, "state.json"), "rb") as fh:
            generation = int(json.load(fh).get("generation", 0))
        index_dir = os.path.join(shard_dir, f"index.{generation}")
        with open(os.path.join(index_dir, "meta.json"), "rb") as fh:
            committed = {str(seg["segment_id"]).replace("-", "") for seg in json.load(fh).get("segments", [])}
        entries = list(os.scandir(index_dir))
    except (OSError, ValueError, TypeError, KeyError):
        return
    for item in entries:
        match = _SEGMENT_FILE.match(item.name)
        if match is None or item.name.split(".", 1)[0] not in committed:
            continue
        try:
            yield match.group(1), item.stat().st_size
        except OSError:
            continue


def segment_file_sizes(node: DataNode, metas: Iterable[IndexMeta], shard: int | None = None
                       ) -> dict[str, dict[str, Any]]:  # fmt: skip
    """``{ext: {"size_in_bytes": n, "description": ...}}`` over the open indices' shards (or one shard)."""
    sizes: dict[str, int] = {}
    for meta in metas:
        if not meta.is_open:
            continue
        shards = range(meta.number_of_shards) if shard is None else (shard,)
        for number in shards:
            for ext, size in _shard_files(node.shard_dir(meta.uuid, number)):
                sizes[ext] = sizes.get(ext, 0) + size
    return {ext: {"size_in_bytes": size, "description": DESCRIPTIONS.get(ext, "Others")}
            for ext, size in sorted(sizes.items())}  # fmt: skip


def shard_commit(node: DataNode, meta: IndexMeta, shard: int) -> dict[str, Any] | None:
    """The shard's last commit as ES's ``commit`` section: an id (a hash of the index, shard, generation and
    tantivy opstamp, so it changes with every commit), the opstamp as generation, the committed sequence
    number, and the committed documents. None when the shard's files cannot be read."""
    shard_dir = node.shard_dir(meta.uuid, shard)
    try:
        with open(os.path.join(shard_dir, "state.json"), "rb") as fh:
            state = json.load(fh)
        generation = int(state.get("generation", 0))
        with open(os.path.join(shard_dir, f"index.{generation}", "meta.json"), "rb") as fh:
            committed = json.load(fh)
    except (OSError, ValueError, TypeError):
        return None
    opstamp = int(committed.get("opstamp", 0))
    seq_no = int(state.get("committed_seq_no", -1))
    digest = hashlib.sha1(f"{meta.uuid}/{shard}/{generation}/{opstamp}".encode()).digest()[:16]
    docs = sum(int(s.get("max_doc", 0)) - _deleted(s) for s in committed.get("segments", []))
    return {"id": base64.b64encode(digest).decode(), "generation": opstamp,
            "user_data": {"local_checkpoint": str(seq_no), "max_seq_no": str(seq_no)}, "num_docs": docs}  # fmt: skip


def _deleted(segment: dict[str, Any]) -> int:
    deletes = segment.get("deletes")
    return int(deletes.get("num_deleted_docs", 0)) if isinstance(deletes, dict) else 0
