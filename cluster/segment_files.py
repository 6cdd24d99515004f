"""``include_segment_file_sizes``: the bytes of each kind of segment file, as ES's ``segments.file_sizes``.

ES keys the map by Lucene file extension; a Diagon shard is a tantivy index, so the keys are tantivy's own
segment file extensions (``idx`` postings, ``pos`` positions, ``term`` terms, ``store`` stored fields,
``fast`` fast fields, ``fieldnorm`` norms, ``del`` deletes), measured on disk over the shards this node
holds. Only the files of the segments in each shard's last commit count (not locks, metadata, or files of
merged-away segments awaiting deletion).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable

from cluster.node import DataNode
from cluster.state import IndexMeta

__all__ = ["DESCRIPTIONS", "segment_file_sizes"]

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


def segment_file_sizes(node: DataNode, metas: Iterable[IndexMeta], shard: int | None = None) -> dict[str, dict]:
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
