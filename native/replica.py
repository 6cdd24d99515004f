"""A shard as a replica: operations applied with the seq_no, term and version their primary assigned.

ES's replication model: the primary assigns every operation a seq_no (and the document a version) under
its primary term; each replica applies the same operation without any conflict check and without assigning
anything. This mixin holds that side of ``native.shard.Shard``, plus the bookkeeping both sides share:

- **Local checkpoint.** ``local_checkpoint`` is the highest seq_no below which every operation has been
  processed; ``_above`` holds the processed seq_nos past it (non-empty only while operations arrive out of
  order: concurrent bulks forwarded by one primary overtake each other, a recovering copy receives live
  operations while the WAL tail is replayed). A primary without gaps keeps ``_above`` empty and its
  checkpoint equal to ``max_seq_no`` (``Shard._append`` moves it). A refresh commits ``(local_checkpoint,
  _above)`` into ``state.json`` (``committed_seq_no``, ``committed_above``): replay skips exactly those
  seq_nos, so an operation that arrives after a commit with a seq_no below an already committed one is
  still replayed after a crash.
- **Out of order, once.** An operation whose seq_no was already processed is a duplicate (a retried
  forward, a live operation also in the recovery tail): dropped without a WAL record. An operation older
  than what the copy holds for its document (compared per document by seq_no: the live map, the tombstones
  of deletes still above the checkpoint, the published searcher) is *stale*: it must not overwrite the newer
  state, so only its seq_no is recorded, as a no-op WAL record (``native.wal.noop_payload``), which keeps
  replay in per-document seq_no order. Tombstones are kept in ``_tombs`` while their seq_no is above the
  checkpoint (only an operation with a seq_no not yet processed can arrive late, and such a one is above it),
  and a commit records those it covers (``committed_tombs``) so a restart still knows them.
- **Terms.** ``primary_term`` is the term of the primary whose history this copy follows. An operation sent
  under an older term comes from a stale primary (one the master has replaced): ``StalePrimaryTerm``, which
  makes that primary stop acknowledging. One sent under a newer term comes from a primary promoted since:
  this copy may hold operations of the old term the new primary never had. ``promote`` records the new
  primary's ``promotion_checkpoint`` (its local checkpoint then: it holds every operation up to it, the same
  ones as every other copy, since one primary assigned them) before filling its seq_no gaps with no-ops. A
  copy of the older term whose ``max_seq_no`` is at or below that checkpoint holds nothing the new primary
  lacks: it takes the new term (the new primary then sends it what it misses: ``cluster.replication``'s
  resync). Any other copy refuses (``ReplicaTermBehind``); the new primary fails it and it recovers by files
  (instead of ES's rollback to the global checkpoint). A promoted primary refuses the operations of another
  primary of its own term (a relocation hands the primary over without a new term): ``StalePrimaryTerm``.
- **Snapshots.** ``snapshot_commit`` commits and holds that commit's files open for a peer recovery's source.
- **History.** ``history_since(seq_no)`` returns the WAL records (as payloads) above ``seq_no`` when the WAL
  still holds all of them (nothing above it committed and dropped): ops-based peer recovery
  (``cluster.recovery``). ``records=`` of ``write``/``index_columns`` hands a primary the payloads of a
  batch to forward (``cluster.replication``): replicas append the very same bytes to their WAL.

QuidditchError
├── StalePrimaryTerm (500, illegal_state_exception): the sender's term is older than this copy's
├── ReplicaTermBehind (500, illegal_state_exception): the sender's term is newer; this copy must recover
└── ShardNotPrimary (500, shard_not_in_primary_mode_exception): a primary-only write reached a replica copy
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from native.applier import _Applier, _Docs
from native.errors import QuidditchError
from native.schema import CompiledMapping
from native.wal import (
    WriteAheadLog,
    decode_payload,
    delete_payload,
    index_payload,
    noop_payload,
    scan,
    sealed_generations,
)
from native.writes import StoredDoc

PRIMARY, REPLICA = "primary", "replica"
_NOT_PROMOTED = -2  # ``promotion_checkpoint`` of a copy not promoted since it opened
_SEGMENT_FILE = re.compile(r"^([0-9a-f]{32})\.")
_SNAPSHOT_TRIES = 20


@dataclass
class CommitSnapshot:
    """The files of one commit of a shard, held open (a merge that deletes them meanwhile does not matter: an
    open file stays readable), its ``state.json`` and the WAL records written after it (peer recovery's source:
    ``cluster.recovery``). ``close`` releases the files."""

    generation: int
    state: dict[str, Any]
    tail: list[bytes]
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # name → (fd, size)

    def read(self, name: str, offset: int, length: int) -> bytes:
        fd, _ = self.files[name]
        return os.pread(fd, length, offset)

    def close(self) -> None:
        files, self.files = self.files, {}
        for fd, _ in files.values():
            os.close(fd)


def _open_commit(index_dir: str) -> dict[str, tuple[int, int]]:
    """Open ``meta.json`` and the files of the segments it names (FileNotFoundError: a merge removed one
    between the two; the caller tries again)."""
    opened: dict[str, tuple[int, int]] = {}
    try:
        fd = os.open(os.path.join(index_dir, "meta.json"), os.O_RDONLY)
        size = os.fstat(fd).st_size
        opened["meta.json"] = (fd, size)
        meta = orjson.loads(os.pread(fd, size, 0))
        segments = {str(seg["segment_id"]).replace("-", "") for seg in meta.get("segments", [])}
        for name in sorted(os.listdir(index_dir)):
            match = _SEGMENT_FILE.match(name)
            if match and match.group(1) in segments:
                fd = os.open(os.path.join(index_dir, name), os.O_RDONLY)
                opened[name] = (fd, os.fstat(fd).st_size)
        return opened
    except BaseException:
        for fd, _ in opened.values():
            os.close(fd)
        raise


class StalePrimaryTerm(QuidditchError):
    es_type = "illegal_state_exception"


class ReplicaTermBehind(QuidditchError):
    es_type = "illegal_state_exception"


class ShardNotPrimary(QuidditchError):
    es_type = "shard_not_in_primary_mode_exception"  # a coordinator with an older routing table may retry


def encode_record(record: dict[str, Any]) -> bytes:
    """The binary payload of a replayed record (the inverse of ``native.wal.decode_payload``)."""
    op, seq_no, term = record["op"], int(record["seq_no"]), int(record["term"])
    if op == "noop":
        return noop_payload(seq_no, term)
    if op == "delete":
        return delete_payload(record["id"], seq_no, int(record["version"]), term)
    source = record["source"]
    source = source.encode() if type(source) is str else source
    return index_payload(record["id"], seq_no, int(record["version"]), term, source, record.get("routing"))


class ReplicaMixin:
    """The replica side of ``native.shard.Shard`` over its state declared here (see the module docstring)."""

    path: str
    index_name: str
    shard_id: int
    generation: int
    primary_term: int
    role: str
    max_seq_no: int
    committed_seq_no: int
    committed_above: list[int]
    global_checkpoint: int
    promotion_checkpoint: int
    wal: WriteAheadLog
    _checkpoint: int
    _above: set[int]
    _tombs: dict[str, int]
    _lock: threading.RLock
    _refresh_lock: threading.RLock
    _live: dict[str, StoredDoc]
    _live_sealed: dict[str, StoredDoc]
    _applier: _Applier
    _merge_tail: list[_Docs] | None
    _dirty: bool
    _check_open: Callable[[], None]
    _committed: Callable[[Sequence[str]], dict[str, StoredDoc]]
    _append: Callable[[list[bytes], tuple[int, dict[str, StoredDoc]]], None]
    _write_state: Callable[[], None]
    _read_state: Callable[[], dict[str, Any]]
    refresh: Callable[..., None]

    def _writing_mapping(self) -> CompiledMapping:
        return self._writing  # type: ignore[attr-defined,no-any-return]  # (``Shard._writing``)

    @property
    def local_checkpoint(self) -> int:
        return self._checkpoint

    def _mark(self, seq_no: int) -> None:
        """Record ``seq_no`` as processed (advancing the checkpoint over any run it completes)."""
        if seq_no <= self._checkpoint or seq_no in self._above:
            return
        if seq_no == self._checkpoint + 1:
            above, checkpoint = self._above, seq_no
            while checkpoint + 1 in above:
                checkpoint += 1
                above.discard(checkpoint)
            self._checkpoint = checkpoint
        else:
            self._above.add(seq_no)
        if seq_no > self.max_seq_no:
            self.max_seq_no = seq_no

    def _processed(self, seq_no: int) -> bool:
        return seq_no <= self._checkpoint or seq_no in self._above

    def _check_primary(self) -> None:
        if self.role != PRIMARY:
            raise ShardNotPrimary(f"[{self.index_name}][{self.shard_id}] is a replica copy: writes go to the primary")

    def _check_term(self, primary_term: int, promotion_checkpoint: int = -1) -> None:
        if primary_term > self.primary_term and self.max_seq_no <= promotion_checkpoint:
            # every operation here is at or below the point the new primary held everything up to: its history
            # continues this one (in memory; a restart before the next commit asks again)
            self.primary_term = primary_term
            return
        if primary_term < self.primary_term:
            raise StalePrimaryTerm(
                f"operation primary term [{primary_term}] is too old (current [{self.primary_term}])"
            )
        if primary_term > self.primary_term:
            raise ReplicaTermBehind(
                f"operation primary term [{primary_term}] is newer than this copy's [{self.primary_term}]: "
                "it must recover from the new primary"
            )

    def apply_replica(
        self,
        payloads: Sequence[bytes],
        primary_term: int,
        global_checkpoint: int = -1,
        promotion_checkpoint: int = -1,
    ) -> int:
        """Apply operations a primary of ``primary_term`` assigned (WAL payloads); returns how many changed a
        document. Durable (WAL fsynced) on return; duplicates dropped, stale ones recorded as no-ops. A newer
        term is taken when this copy holds nothing above the new primary's ``promotion_checkpoint``."""
        with self._lock:
            self._check_open()
            promoted = self.promotion_checkpoint > _NOT_PROMOTED
            if self.role == PRIMARY and promoted and primary_term == self.primary_term:
                # a promoted primary (a relocation's hand-off keeps the term) hears from another primary of its
                # term: that one is stale (an older term is refused below)
                raise StalePrimaryTerm(f"operation primary term [{primary_term}] is not newer than this primary's "
                                       f"[{self.primary_term}]")  # fmt: skip
            self._check_term(primary_term, promotion_checkpoint)
            if global_checkpoint > self.global_checkpoint:
                self.global_checkpoint = global_checkpoint
            decoded = []
            for payload in payloads:
                record = decode_payload(payload)
                if record is None:
                    raise QuidditchError(f"a replicated operation of [{self.index_name}][{self.shard_id}] is malformed")
                decoded.append((payload, record))
            # per-document state from the published searcher, only for ids an op may be older than
            maybe_stale = [r["id"] for _, r in decoded if r["op"] != "noop" and int(r["seq_no"]) <= self.max_seq_no]
            committed = self._committed(maybe_stale) if maybe_stale else {}
            records: list[bytes] = []
            seen: set[int] = set()
            newest: dict[str, int] = {}  # seq_no of each id's state as this batch leaves it
            applied: list[dict[str, Any]] = []
            for payload, record in decoded:
                seq_no = int(record["seq_no"])
                if self._processed(seq_no) or seq_no in seen:
                    continue  # a duplicate
                seen.add(seq_no)
                doc_id = record["id"]
                if record["op"] == "noop" or self._held_seq_no(doc_id, committed, newest) > seq_no:
                    records.append(noop_payload(seq_no, int(record["term"])))
                    applied.append({"op": "noop", "seq_no": seq_no})
                    continue
                newest[doc_id] = seq_no
                records.append(payload)
                applied.append(record)
            if not records:
                return 0
            self._append(records, (self.max_seq_no, {}))
            return self._apply_decoded(applied)

    def _held_seq_no(self, doc_id: str, committed: dict[str, StoredDoc], newest: dict[str, int]) -> int:
        """The seq_no of the newest state this copy holds of ``doc_id`` (a delete's too), -1 for none."""
        if doc_id in newest:
            return newest[doc_id]
        live = self._live.get(doc_id) or (self._live_sealed.get(doc_id) if self._live_sealed else None)
        if live is not None:
            return live.seq_no
        stored = committed.get(doc_id)  # (a tombstone may be older than a document committed since)
        return max(self._tombs.get(doc_id, -1), stored.seq_no if stored is not None else -1)

    def _apply_decoded(self, applied: list[dict[str, Any]]) -> int:
        """Hand the applier the documents of durable replica records and mark their seq_nos."""
        docs: _Docs = []
        live, document = self._live, self._writing_mapping().document
        for record in applied:
            seq_no = int(record["seq_no"])
            self._mark(seq_no)
            if record["op"] == "noop":
                continue
            doc_id, version, term = record["id"], int(record["version"]), int(record["term"])
            if record["op"] == "delete":
                docs.append((doc_id, None, False))
                live[doc_id] = StoredDoc(doc_id, version, seq_no, term, None)
                self._tombs[doc_id] = seq_no
                continue
            source, routing = record["source"], record.get("routing")
            source = source.encode() if type(source) is str else bytes(source)
            doc = document(doc_id, source, orjson.loads(source), seq_no=seq_no, version=version, primary_term=term,
                           routing=routing)  # fmt: skip
            docs.append((doc_id, doc, False))
            live[doc_id] = StoredDoc(doc_id, version, seq_no, term, source, routing)
        if docs:
            self._applier.apply(docs)
            if self._merge_tail is not None:
                self._merge_tail.append(docs)
        self._dirty = True
        return len(docs)

    def _prune_tombs(self) -> None:
        """Forget tombstones at or below the checkpoint (no older operation on their id can still arrive)."""
        if self._tombs:
            checkpoint = self._checkpoint
            self._tombs = {k: v for k, v in self._tombs.items() if v > checkpoint}

    def become_replica(self) -> None:
        """Take operations from a primary from now on (primary-only writes are refused)."""
        with self._lock:
            self.role = REPLICA

    def promote(self, primary_term: int) -> None:
        """Become the primary of ``primary_term``: fill every seq_no gap below ``max_seq_no`` with a no-op (the
        operations the old primary assigned but never delivered here were never acknowledged), then take
        writes under the new term; the term is durable (``state.json``) on return."""
        with self._refresh_lock, self._lock:
            self._check_open()
            if primary_term < self.primary_term or (primary_term == self.primary_term and self.role == PRIMARY):
                return
            self.promotion_checkpoint = max(self._checkpoint, -1)
            gaps = [s for s in range(self._checkpoint + 1, self.max_seq_no + 1) if s not in self._above]
            if gaps:
                self._append([noop_payload(s, primary_term) for s in gaps], (self.max_seq_no, {}))
                for seq_no in gaps:
                    self._mark(seq_no)
                self._dirty = True
            self.primary_term = primary_term
            self.role = PRIMARY
            self._write_state()

    def history_since(self, seq_no: int) -> list[bytes] | None:
        """The WAL records above ``seq_no`` in WAL order, or None when some were committed and dropped."""
        with self._refresh_lock, self._lock:
            if seq_no < self.committed_seq_no or any(a > seq_no for a in self.committed_above):
                return None
            out: list[bytes] = []
            paths = [p for _, p in sealed_generations(self.wal.path)] + [self.wal.path]
            for path in paths:
                if not os.path.exists(path):
                    continue
                for record in scan(path).before:  # read-only; no append runs (the write lock is held)
                    if int(record["seq_no"]) > seq_no:
                        out.append(encode_record(record))
            return out

    def snapshot_commit(self) -> CommitSnapshot:
        """Commit every acknowledged write, then hold that commit's files open with the WAL records after it.
        Writes go on meanwhile (only the listing holds the write lock)."""
        with self._refresh_lock:
            self.refresh(force=True)
            with self._lock:
                self._check_open()
                index_dir = os.path.join(self.path, f"index.{self.generation}")
                for attempt in range(_SNAPSHOT_TRIES):
                    try:
                        files = _open_commit(index_dir)
                        break
                    except FileNotFoundError:
                        if attempt == _SNAPSHOT_TRIES - 1:
                            raise
                state = self._read_state()
                tail = self.history_since(self.committed_seq_no)
                assert tail is not None  # the commit just made covers everything before the WAL
                return CommitSnapshot(self.generation, state, tail, files)
