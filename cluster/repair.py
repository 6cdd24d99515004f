"""``quidditch shard remove-corrupted-data``: find a shard of a stopped node and repair it (``native.repair``)."""

from __future__ import annotations

import os

from cluster.data_lock import DataDirLock
from cluster.state import LocalStateStore
from native.errors import IllegalArgument, IndexNotFound
from native.repair import RepairReport, remove_corrupted_data


def _count(value: int | None) -> str:
    return "an unknown number of" if value is None else f"[{value}]"


def summary(report: RepairReport, *, dry_run: bool) -> list[str]:
    """The lines the command prints: each action, then the totals."""
    lines = [f"shard directory [{report.shard_dir}]"]
    lines += [f"  {action}" for action in report.actions]
    if not report.damaged:
        lines.append("no damage found: nothing dropped")
        return lines
    verb = "would drop" if dry_run else "dropped"
    lines.append(f"{verb} {_count(report.operations_dropped)} operations and {_count(report.documents_dropped)} "
                 "documents")  # fmt: skip
    lines.append("dry run: nothing changed" if dry_run else "the shard opens again: restart the node")
    return lines


def repair_shard(data_dir: str, index: str, shard: int, *, dry_run: bool = False) -> list[str]:
    """Repair shard ``shard`` of ``index`` under ``data_dir``; refuses while a server holds the data dir."""
    if not os.path.isdir(data_dir):
        raise IllegalArgument(f"data directory [{data_dir}] does not exist")
    lock = DataDirLock(data_dir).acquire()
    try:
        meta = LocalStateStore(data_dir).load().indices.get(index)
        if meta is None:
            raise IndexNotFound(index)
        if not 0 <= shard < meta.number_of_shards:
            raise IllegalArgument(f"index [{index}] has no shard [{shard}] ({meta.number_of_shards} shards)")
        shard_dir = os.path.join(data_dir, "indices", meta.uuid, str(shard))
        report = remove_corrupted_data(shard_dir, dry_run=dry_run)
        return summary(report, dry_run=dry_run)
    finally:
        lock.release()
