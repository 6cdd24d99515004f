"""Recovering a damaged shard: the logic of ``quidditch shard remove-corrupted-data``.

Elasticsearch's ``elasticsearch-shard remove-corrupted-data`` drops what is damaged so the shard can open
again, and says what is lost. Here, for one shard directory (offline: the caller holds the data dir lock):

- WAL: the first damaged file is cut at its first bad record; the records after the damage in that file,
  and every later WAL file, are dropped (a WAL replays in order, so nothing is replayed past a gap). The
  operations dropped are counted exactly when their records are intact, plus the damaged span itself,
  estimated from the seq_no gap around it. A missing ``wal.log`` is recreated empty (what it held is
  unknown). Only operations above the committed seq_no count: the others are in the index already.
- index: segments whose files fail verification (``native.damage``) are removed from tantivy's
  ``meta.json``; their documents are dropped and counted. A missing or unreadable ``meta.json`` drops the
  whole generation (the document count is then unknown).
- state: a missing or unreadable ``state.json`` is rewritten for the newest index generation.

Whenever index documents are dropped or the state is rewritten, ``committed_seq_no`` is reset to -1 so the
shard replays every operation its WAL still holds on open (replay is idempotent): whatever survives there
comes back. ``dry_run`` reports the same without changing a file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any

import orjson

from native.damage import (
    ShardCorrupted,
    check_shard_files,
    damaged_segments,
    holds_data,
    read_meta,
    read_state,
)
from native.wal import WalScan, fsync_dir, scan, sealed_generations


@dataclass
class RepairReport:
    """What a repair drops and does. ``None`` counts: unknown (the damaged file does not say)."""

    shard_dir: str
    actions: list[str] = field(default_factory=list)
    operations_dropped: int | None = 0
    documents_dropped: int | None = 0
    damaged: bool = False

    def drop_operations(self, count: int | None) -> None:
        self.operations_dropped = None if count is None or self.operations_dropped is None else (
            self.operations_dropped + count
        )

    def drop_documents(self, count: int | None) -> None:
        self.documents_dropped = None if count is None or self.documents_dropped is None else (
            self.documents_dropped + count
        )


def _write_json(path: str, value: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(value, option=orjson.OPT_INDENT_2))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


def _above(records: tuple[dict[str, Any], ...], committed: int) -> int:
    return sum(1 for r in records if int(r["seq_no"]) > committed)


def _gap(wal_scan: WalScan, committed: int, last_seq_no: int) -> int:
    """The operations the damaged span of ``wal_scan`` held (above ``committed``), from the seq_no gap."""
    if not wal_scan.after:
        return 0
    first_after = int(wal_scan.after[0]["seq_no"])
    return max(0, first_after - max(last_seq_no, committed) - 1)


def _newest_generation(shard_dir: str) -> int:
    gens = [int(n.split(".", 1)[1]) for n in os.listdir(shard_dir)
            if n.startswith("index.") and n.split(".", 1)[1].isdigit()]  # fmt: skip
    with_meta = [g for g in gens if os.path.exists(os.path.join(shard_dir, f"index.{g}", "meta.json"))]
    return max(with_meta or gens or [0])


def remove_corrupted_data(shard_dir: str, *, dry_run: bool = False) -> RepairReport:
    """Drop what is damaged in ``shard_dir`` so the shard opens (see the module docstring)."""
    report = RepairReport(shard_dir)
    if not os.path.isdir(shard_dir):
        raise ShardCorrupted(f"shard directory [{shard_dir}] does not exist")
    try:
        state = read_state(shard_dir)
        problem = "[state.json] is missing" if state is None and holds_data(shard_dir) else None
    except ShardCorrupted as exc:
        state, problem = None, exc.reason
    reset = False
    if state is None:
        if problem is None:
            report.actions.append("nothing to do: the shard holds no data")
            return report
        generation = _newest_generation(shard_dir)
        report.damaged = True
        report.actions.append(f"state: {problem}: rewrite it for index generation [{generation}]; the shard "
                              "replays every operation its wal holds")  # fmt: skip
        state = {"generation": generation, "committed_seq_no": -1, "primary_term": 1, "fingerprint": ""}
        reset = True
    committed = int(state["committed_seq_no"])
    reset |= _repair_index(shard_dir, int(state["generation"]), committed, report, dry_run)
    _repair_wal(shard_dir, committed, report, dry_run)
    if dry_run:
        return report
    if reset:
        state = {**state, "committed_seq_no": -1}
        _write_json(os.path.join(shard_dir, "state.json"), state)
    check_shard_files(shard_dir)  # the shard opens now, or this raises
    return report


def _repair_index(shard_dir: str, generation: int, committed: int, report: RepairReport, dry_run: bool) -> bool:
    """Drop damaged segments (or the whole generation); True when documents were dropped."""
    index_dir = os.path.join(shard_dir, f"index.{generation}")
    if committed < 0 and not os.path.exists(os.path.join(index_dir, "meta.json")):
        return False  # nothing was committed: an index without meta.json holds nothing (``native.damage``)
    try:
        segments = read_meta(index_dir)
    except ShardCorrupted as exc:
        report.damaged = True
        report.drop_documents(None)
        report.actions.append(f"index: {exc.reason}: drop index generation [{generation}] (its document count "
                              "is unknown); the shard replays every operation its wal holds")  # fmt: skip
        if not dry_run:
            shutil.rmtree(index_dir, ignore_errors=True)
            os.makedirs(index_dir)
        return True
    bad = damaged_segments(index_dir, segments)
    if not bad:
        return False
    report.damaged = True
    dropped = [s for s in segments if s.name in bad]
    count = sum(s.num_docs for s in dropped)
    report.drop_documents(count)
    for segment in dropped:
        report.actions.append(f"index: drop segment [{segment.name}] with [{segment.num_docs}] documents: "
                              f"{bad[segment.name]}")  # fmt: skip
    if not dry_run:
        meta_path = os.path.join(index_dir, "meta.json")
        with open(meta_path, "rb") as fh:
            meta = orjson.loads(fh.read())
        meta["segments"] = [e for e in meta["segments"] if str(e["segment_id"]).replace("-", "") not in bad]
        _write_json(meta_path, meta)
    return True


def _repair_wal(shard_dir: str, committed: int, report: RepairReport, dry_run: bool) -> None:
    active = os.path.join(shard_dir, "wal.log")
    files = [path for _, path in sealed_generations(active)]
    if not os.path.exists(active):
        report.damaged = True
        report.drop_operations(None)
        report.actions.append(f"wal: [{active}] is missing: the operations it held after seq_no [{committed}] "
                              "are lost (their count is unknown); recreate it empty")  # fmt: skip
        if not dry_run:
            with open(active, "wb") as fh:
                os.fsync(fh.fileno())
            fsync_dir(shard_dir)
    else:
        files.append(active)
    last_seq_no = committed
    cut = False
    for path in files:
        if not os.path.exists(path):
            continue
        wal_scan = scan(path)
        if cut:  # past the damage: the whole file goes
            ops = _above(wal_scan.before + wal_scan.after, committed)
            report.drop_operations(ops)
            report.actions.append(f"wal: drop [{path}] after the damage ([{ops}] operations)")
            if not dry_run:
                _empty_or_remove(path, active)
            continue
        for record in wal_scan.before:
            last_seq_no = max(last_seq_no, int(record["seq_no"]))
        if not wal_scan.corrupted:
            continue
        cut = True
        report.damaged = True
        intact = _above(wal_scan.after, committed)
        gap = _gap(wal_scan, committed, last_seq_no)
        report.drop_operations(intact + gap)
        report.actions.append(
            f"wal: cut [{path}] at offset [{wal_scan.bad_at}] of [{wal_scan.size}] bytes: drop [{gap}] damaged and "
            f"[{intact}] intact operations after it (last operation kept: seq_no [{last_seq_no}])"
        )
        if not dry_run:
            with open(path, "r+b") as fh:
                fh.truncate(wal_scan.good_end)
                os.fsync(fh.fileno())


def _empty_or_remove(path: str, active: str) -> None:
    if path == active:
        with open(path, "r+b") as fh:
            fh.truncate(0)
            os.fsync(fh.fileno())
    else:
        os.remove(path)
        fsync_dir(os.path.dirname(path))
