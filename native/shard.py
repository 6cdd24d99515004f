"""Diagon: one shard = a tantivy index + a write-ahead log + a version map.

Directory layout::

    <shard>/state.json        {"generation", "committed_seq_no", "committed_above", "committed_tombs",
                               "primary_term", "fingerprint"}
    <shard>/wal.log           the active WAL: operations since the last WAL swap (see ``native.wal``)
    <shard>/wal.<n>.log       sealed WAL generations: operations a refresh is committing (or crashed while
                              committing); deleted once state.json records a commit covering them
    <shard>/index.<gen>/      the tantivy index built with the mapping whose fingerprint is in state.json

Contract:
- ``write`` assigns seq_nos and versions (or stores the caller's, for ``external``/``external_gte``
  versioning: ``native.versioning``; a delete's tombstone keeps its version until the next refresh), keeps
  each document's custom routing (``_routing``), checks ``if_seq_no``/``op_type=create`` conflicts, fsyncs the
  WAL records of the batch and only then hands them to the shard's applier thread; item results come back
  in order. The write is acknowledged once its WAL records are durable; it never waits for tantivy.
- The applier thread (``native.applier._Applier``) owns the tantivy ``IndexWriter``: tantivy-py's writer
  takes a mutable borrow for every call (``add_json`` during a ``commit`` on another thread raises
  "Already borrowed"), so every add, delete and commit goes through its queue, in seq_no order.
- ``get`` is realtime: the live version map (``_live``, plus ``_live_sealed`` while a refresh commits)
  holds every write the published searcher does not show yet.
- ``refresh`` holds the write lock only to note the seq_no boundary, seal the active WAL
  (``wal.log`` → ``wal.<n>.log``), move the live map aside and queue a commit. The tantivy commit runs
  outside the lock while writes continue into the new ``wal.log``; then the state records the boundary as
  committed, sealed generations are deleted, the reader is reloaded and the moved-aside live map dropped
  (entries written after the boundary are in the new map, so they stay). Refreshes are serialised.
- Recovery replays every sealed generation and then ``wal.log``, skipping seq_no <= committed. Replay is
  idempotent (index = delete-by-id + add), so a crash between the tantivy commit and the state write, or
  between the WAL swap and the commit, only replays operations again.
- ``update_mapping`` rebuilds the tantivy index from stored ``_source`` when the field set changes: in the
  call for a small shard, in the background for a large one (the force merge's protocol, with the new
  mapping; writes are checked against it at once, searches read the old index until the swap).
- Replicas (``native.replica``): ``apply_replica`` takes the operations a primary assigned; the local
  checkpoint (``committed_seq_no`` is the checkpoint a commit covers, ``committed_above`` the seq_nos past it
  that it also covers) lets operations arrive out of order.
- ``forcemerge`` rewrites the documents into a new generation with one writer (fewer segments, no deleted
  documents) while searches, writes and refreshes go on; writes made meanwhile are replayed onto the new
  generation before it is swapped in (``native.merge``). Both live in ``native.generations``.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import tantivy

from native.analysis import Analysis
from native.applier import WRITER_HEAP, WRITER_THREADS, _Applier, _Docs
from native.damage import prepare_shard_dir
from native.date_nanos import STORAGE_ENCODING as DATE_NANOS_ENCODING
from native.errors import (
    DiskFull,
    DocumentMissing,
    IllegalArgument,
    IndexNotFound,
    QuidditchError,
    VersionConflict,
)
from native.failpoints import failpoint
from native.fields import (
    ID_FIELD,
    IGNORED_FIELD,
    PRIMARY_TERM_FIELD,
    ROUTING_FIELD,
    SEQ_NO_FIELD,
    SOURCE_FIELD,
    VERSION_FIELD,
)
from native.generations import GenerationsMixin
from native.ignored import IGNORED_ENCODING
from native.mapping import Mapping
from native.merge import (
    SegmentInfo,
    remove_stale_generations,
    segment_infos,
)
from native.readers import Readers
from native.replica import PRIMARY, ReplicaMixin
from native.schema import CompiledMapping
from native.versioning import INTERNAL, write_conflict
from native.wal import WriteAheadLog, delete_payload, index_payload, sealed_generations
from native.writes import ColumnsResult, StoredDoc, WriteOp, WriteResult, deep_merge, parse_source

log = logging.getLogger(__name__)
_PINNED_SEARCHERS = 16
_RECOVERY_BATCH = 1000
_ABSENT = StoredDoc("", 0, -1, 0, None)  # marks an id the live map did not hold before a failed write
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


@dataclass(slots=True)
class _Pending:
    records: list[bytes] = field(default_factory=list)  # WAL payloads (``native.wal``)
    docs: list[tuple[str, str | None, bool]] = field(default_factory=list)


def _stored(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> StoredDoc:
    fields = searcher.doc(address).to_dict()
    return StoredDoc(
        str(fields[ID_FIELD][0]),
        int(fields[VERSION_FIELD][0]),
        int(fields[SEQ_NO_FIELD][0]),
        int(fields[PRIMARY_TERM_FIELD][0]),
        bytes(fields[SOURCE_FIELD][0]),
        str(fields[ROUTING_FIELD][0]) if fields.get(ROUTING_FIELD) else None,
    )


class Shard(GenerationsMixin, ReplicaMixin):
    def __init__(
        self,
        path: str,
        mapping: Mapping,
        analysis: Analysis,
        *,
        index_name: str = "",
        shard_id: int = 0,
        primary_term: int = 1,
    ) -> None:
        self.path = path
        self.index_name = index_name
        self.shard_id = shard_id
        self.primary_term = primary_term
        self.analysis = analysis
        self._lock = threading.RLock()
        # Serialises refreshes (and mapping changes, close); taken before ``_lock``, never after it.
        self._refresh_lock = threading.RLock()
        self._live: dict[str, StoredDoc] = {}
        # The live map of the writes a running refresh commits, dropped once the reloaded reader shows them.
        self._live_sealed: dict[str, StoredDoc] = {}
        self._dirty = False
        self._closed = False
        self._readers = Readers(_PINNED_SEARCHERS)
        # One force merge at a time; while one runs, the batches handed to the applier are also kept here.
        self._merge_lock = threading.Lock()
        self._merge_tail: list[_Docs] | None = None
        # A background mapping rebuild: the mapping it builds (writes are checked against it meanwhile), its
        # thread, and an event set whenever none runs.
        self._target: CompiledMapping | None = None
        self._rebuilder: threading.Thread | None = None
        self._rebuild_done = threading.Event()
        self._rebuild_done.set()
        os.makedirs(path, exist_ok=True)
        prepare_shard_dir(path)  # damage fails the shard here, before anything is opened or created
        state = self._read_state()
        # the term of the primary whose history this copy follows: a copy promoted earlier keeps its term
        self.primary_term = max(primary_term, int(state.get("primary_term", 1)))
        self.role = PRIMARY  # ``cluster.node.DataNode`` makes a replica copy a replica (``native.replica``)
        self.generation: int = state.get("generation", 0)
        remove_stale_generations(path, self.generation)
        self.committed_seq_no: int = state.get("committed_seq_no", -1)
        self.committed_above: list[int] = [int(s) for s in state.get("committed_above", ())]
        self._checkpoint = self.committed_seq_no
        self._above: set[int] = set(self.committed_above)
        # deletes above the checkpoint a commit covers (their documents are gone from the index, but an older
        # operation on the id may still arrive): kept in the state so a restart still knows them
        self.committed_tombs: dict[str, int] = {str(k): int(v) for k, v in state.get("committed_tombs", {}).items()}
        self._tombs: dict[str, int] = dict(self.committed_tombs)
        self.global_checkpoint = -1
        self.promotion_checkpoint = -2  # the local checkpoint when ``promote`` made this copy the primary (-2: not)
        self.compiled = CompiledMapping(mapping, analysis, index_name=index_name)
        self.index = self._open_generation(state)  # with the schema it was built with, rebuilt to ``mapping``
        self.writer = self.index.writer(WRITER_HEAP, WRITER_THREADS)
        self.max_seq_no = max(self.committed_seq_no, self._max_committed_seq_no(), *self.committed_above)
        self.wal = WriteAheadLog(os.path.join(path, "wal.log"))
        sealed = sealed_generations(self.wal.path)
        self._wal_gen = sealed[-1][0] if sealed else 0  # the last sealed WAL generation
        self._applier = _Applier(self.writer, f"applier-{index_name}-{shard_id}")
        self._applier.start()
        self._reload()
        self._recover(sealed)

    # -- state --------------------------------------------------------------------------------------------
    def _index_dir(self, generation: int) -> str:
        path = os.path.join(self.path, f"index.{generation}")
        os.makedirs(path, exist_ok=True)
        return path

    def _read_state(self) -> dict[str, Any]:
        try:
            with open(os.path.join(self.path, "state.json"), "rb") as fh:
                state: dict[str, Any] = orjson.loads(fh.read())
                return state
        except FileNotFoundError:
            return {}

    def _write_state(self) -> None:
        state = {
            "generation": self.generation,
            "committed_seq_no": self.committed_seq_no,
            "committed_above": self.committed_above,
            "committed_tombs": self.committed_tombs,
            "primary_term": self.primary_term,
            "fingerprint": self._fingerprint(self.compiled),
        }
        tmp = os.path.join(self.path, "state.json.tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(state))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, os.path.join(self.path, "state.json"))
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @staticmethod
    def _fingerprint(compiled: CompiledMapping) -> str:
        leaves: list[tuple[Any, ...]] = [
            (leaf.path, leaf.type, sorted((k, str(v)) for k, v in leaf.params.items() if k != "fields"))
            for leaf in compiled.leaves
        ]
        # a storage encoding that changed (date_nanos: native.date_nanos) makes older generations rebuild
        leaves = [(*item, DATE_NANOS_ENCODING) if item[1] == "date_nanos" else item for item in leaves]
        if compiled.ignorer.possible:  # generations from before ``_ignored`` was indexed (native.ignored) rebuild
            leaves.append((IGNORED_FIELD, IGNORED_ENCODING))
        return orjson.dumps(leaves).decode()

    def _max_committed_seq_no(self) -> int:
        searcher = self.index.searcher()
        if searcher.num_docs == 0:
            return -1
        result = searcher.aggregate(tantivy.Query.all_query(), {"m": {"max": {"field": SEQ_NO_FIELD}}})
        value = result.get("m", {}).get("value")
        return int(value) if value is not None else -1

    def _recover(self, sealed: list[tuple[int, str]]) -> None:
        """Replay the sealed WAL generations, then the active one, skipping seq_no <= committed."""
        replayed = 0
        for _, path in sealed:
            wal = WriteAheadLog(path)
            try:
                replayed += self._replay(wal)
            finally:
                wal.close()
        replayed += self._replay(self.wal)
        if replayed:
            log.info("replayed wal", extra={"shard": self.shard_id, "index": self.index_name, "ops": replayed})
            self._dirty = True
            self.refresh()
        elif sealed:  # a crash after the state write: the commit covers them all
            self._drop_sealed(self._wal_gen)

    def _replay(self, wal: WriteAheadLog) -> int:
        replayed = 0
        batch: _Docs = []
        committed_above = set(self.committed_above)
        for record in wal.replay():
            seq_no = int(record["seq_no"])
            if seq_no <= self.committed_seq_no or seq_no in committed_above:
                continue
            doc_id = record["id"]
            self._mark(seq_no)  # (a re-apply after a writer failure marks again: a no-op)
            if record["op"] == "noop":
                continue
            if record["op"] == "delete":
                if seq_no > self._checkpoint:
                    self._tombs[doc_id] = max(seq_no, self._tombs.get(doc_id, -1))
                batch.append((doc_id, None, False))
                self._live[doc_id] = StoredDoc(doc_id, record["version"], seq_no, record["term"], None)
            else:
                source = record["source"]
                source = source.encode() if type(source) is str else source  # JSON records hold a str
                routing = record.get("routing")
                doc = self.compiled.document(
                    doc_id, source, orjson.loads(source),
                    seq_no=seq_no, version=record["version"], primary_term=record["term"], routing=routing,
                )  # fmt: skip
                batch.append((doc_id, doc, False))
                self._live[doc_id] = StoredDoc(doc_id, record["version"], seq_no, record["term"], source, routing)
            replayed += 1
            if len(batch) >= _RECOVERY_BATCH:
                self._applier.apply(batch)
                batch = []
        if batch:
            self._applier.apply(batch)
        return replayed

    def _drop_sealed(self, upto: int) -> None:
        """Delete the sealed WAL generations <= ``upto`` (a durable commit covers their operations)."""
        for generation, path in sealed_generations(self.wal.path):
            if generation <= upto:
                os.remove(path)

    # -- reads --------------------------------------------------------------------------------------------
    def _reload(self) -> None:
        self.index.reload()
        self._readers.publish(self.index.searcher(), self.compiled)

    def pin(self, generation: int, seconds: float) -> None:
        """Keep the reader of ``generation`` for ``seconds`` more (scroll keep-alive, snapshot passes)."""
        self._readers.pin(generation, seconds)

    def acquire_searcher(self) -> tuple[int, tantivy.Searcher]:
        return self._readers.current()

    def view(self, generation: int = 0) -> tuple[int, tantivy.Searcher, CompiledMapping]:
        """A searcher with the mapping its index was built with (``generation`` 0: the current one): queries
        must be compiled with that mapping, which a background rebuild's swap replaces (``update_mapping``)."""
        return self._readers.view(generation)

    def searcher(self, generation: int) -> tantivy.Searcher:
        """The searcher of an earlier query phase (for fetch and scroll), or the current one."""
        return self.view(generation)[1]

    def retire_readers(self) -> None:
        """Release earlier searchers no fetch phase can still need (``native.readers.RETIRE_AFTER_S``)."""
        self._readers.retire()

    def readers_free(self) -> bool:
        """Whether a search would get a searcher without waiting (no index swap in progress)."""
        return self._readers.free()

    def get(self, doc_id: str, *, realtime: bool = True) -> StoredDoc | None:
        """Realtime get: the latest acknowledged state of ``doc_id`` or None (``realtime=False``: its state
        in the published searcher, as of the last refresh)."""
        if not realtime:
            _, searcher, compiled = self.view()
            return self._get_committed(searcher, doc_id, compiled)
        with self._lock:
            live = self._live.get(doc_id)
            if live is None and self._live_sealed:
                live = self._live_sealed.get(doc_id)
            if live is not None:
                return live if live.source is not None else None
            _, searcher, compiled = self.view()
            return self._get_committed(searcher, doc_id, compiled)

    def _get_committed(
        self, searcher: tantivy.Searcher, doc_id: str, compiled: CompiledMapping | None = None
    ) -> StoredDoc | None:
        """``doc_id`` in ``searcher`` (of an index built with ``compiled``, default the shard's mapping)."""
        query = tantivy.Query.term_query((compiled or self.compiled).schema, ID_FIELD, doc_id)
        hits = searcher.search(query, 1, count=False).hits
        if not hits:
            return None
        return _stored(searcher, hits[0][1])

    def num_docs(self) -> int:
        return int(self.acquire_searcher()[1].num_docs)

    def segments(self) -> list[SegmentInfo]:
        """The segments of the last commit."""
        return segment_infos(os.path.join(self.path, f"index.{self.generation}"))

    # -- writes -------------------------------------------------------------------------------------------
    def write(self, ops: Sequence[WriteOp], *, records: list[bytes] | None = None) -> list[WriteResult]:
        """Apply ``ops`` as the primary; ``records`` (when given) receives the batch's WAL payloads, which the
        replicas apply (``cluster.replication``)."""
        with self._lock:
            self._check_open()
            self._check_primary()
            pending = _Pending()
            prepare = self._prepare
            undo = self._undo_point(op.id for op in ops)
            results = [prepare(op, pending) for op in ops]
            self._append(pending.records, undo)
            failpoint("shard.after_wal_fsync")
            if records is not None:
                records.extend(pending.records)
            if pending.docs:
                self._applier.apply(pending.docs)
                if self._merge_tail is not None:
                    self._merge_tail.append(pending.docs)
            if pending.records:
                self._dirty = True
            return results

    def index_columns(
        self,
        op: str,
        ids: Sequence[str],
        sources: Sequence[bytes],
        *,
        auto_id: bool = False,
        parsed: Sequence[dict[str, Any] | None] | None = None,
        routings: Sequence[str | None] | None = None,
        records: list[bytes] | None = None,
    ) -> ColumnsResult:
        """``write`` for plain ``index``/``create`` operations given in columns (the bulk loader shape).

        The same contract as ``write`` (seq_no order, WAL fsync before the applier sees anything), in one
        loop without a ``WriteOp``/``WriteResult`` per document. ``auto_id``: every id was generated, so no
        earlier version can exist and tantivy needs no delete. ``parsed`` is ``WriteOp.parsed`` per document.
        """
        seq_nos: list[int] = []
        versions: list[int] = []
        updated: list[bool] = []
        errors: dict[int, QuidditchError] = {}
        with self._lock:
            self._check_open()
            self._check_primary()
            payloads: list[bytes] = []
            docs: _Docs = []
            live, term, document = self._live, self.primary_term, self._writing.document
            create = op == "create"
            undo = self._undo_point(ids)
            committed = {} if auto_id else self._committed(ids)
            for i, doc_id in enumerate(ids):
                source = sources[i]
                try:
                    doc = parsed[i] if parsed is not None else None
                    if doc is None:
                        doc = parse_source(source)
                    current = None if auto_id else self._current(doc_id, committed)
                    if current is None:
                        version = 1 if auto_id else (self._after_tombstone(doc_id) or 1)
                    elif create:
                        raise self._exists_conflict(doc_id, current)
                    else:
                        version = current.version + 1
                    seq_no = self.max_seq_no + 1
                    routing = routings[i] if routings else None
                    tantivy_doc = document(doc_id, source, doc, seq_no=seq_no, version=version, primary_term=term,
                                           routing=routing)  # fmt: skip
                except QuidditchError as exc:
                    errors[i] = exc
                    seq_nos.append(-1)
                    versions.append(0)
                    updated.append(False)
                    continue
                self.max_seq_no = seq_no
                payloads.append(index_payload(doc_id, seq_no, version, term, source, routing))
                docs.append((doc_id, tantivy_doc, auto_id))
                live[doc_id] = StoredDoc(doc_id, version, seq_no, term, source, routing)
                seq_nos.append(seq_no)
                versions.append(version)
                updated.append(current is not None)
            self._append(payloads, undo)
            failpoint("shard.after_wal_fsync")
            if records is not None:
                records.extend(payloads)
            if docs:
                self._applier.apply(docs)
                if self._merge_tail is not None:
                    self._merge_tail.append(docs)
                self._dirty = True
        return ColumnsResult(seq_nos, versions, updated if any(updated) else [], term, errors)

    def _undo_point(self, ids: Iterable[str | None]) -> tuple[int, dict[str, StoredDoc]]:
        """What a batch's writes change before its WAL append: ``max_seq_no`` and the live entries of its ids."""
        live = self._live
        return self.max_seq_no, {doc_id: live.get(doc_id, _ABSENT) for doc_id in ids if doc_id is not None}

    def _append(self, records: list[bytes], undo: tuple[int, dict[str, StoredDoc]]) -> None:
        """Append a batch's WAL records (durable on return). When that fails nothing of the batch happened:
        its seq_nos and live entries are taken back (the WAL cuts the partial append), and a disk without
        room answers as an index past the flood-stage watermark (``DiskFull``)."""
        try:
            self.wal.append_payloads(records)
            if not self._above:  # a primary (no gaps): every seq_no up to max_seq_no is processed
                self._checkpoint = self.max_seq_no
        except OSError as exc:
            self.max_seq_no, before = undo
            for doc_id, entry in before.items():
                if entry is _ABSENT:
                    self._live.pop(doc_id, None)
                else:
                    self._live[doc_id] = entry
            if exc.errno in _NO_ROOM:
                log.warning("no room for a wal append", extra={"index": self.index_name, "shard": self.shard_id})
                raise DiskFull(self.index_name) from exc
            raise

    def _current(self, doc_id: str, committed: dict[str, StoredDoc] | None = None) -> StoredDoc | None:
        """The latest acknowledged state of ``doc_id``; ``committed``, when given, is ``_committed`` of a
        batch holding it (the published searcher's documents, looked up together)."""
        live = self._live.get(doc_id)
        if live is None and self._live_sealed:
            live = self._live_sealed.get(doc_id)
        if live is not None:
            return live if live.source is not None else None
        if committed is not None:
            return committed.get(doc_id)
        _, searcher, compiled = self.view()
        return self._get_committed(searcher, doc_id, compiled)

    def _committed(self, ids: Sequence[str]) -> dict[str, StoredDoc]:
        """The documents of the published searcher among ``ids`` that the live maps do not hold: one
        term-set query for the batch (nothing to fetch when all are new) instead of a search per id."""
        wanted = [i for i in set(ids) if i not in self._live and i not in self._live_sealed]
        if not wanted:
            return {}
        _, searcher, compiled = self.view()
        hits = searcher.search(tantivy.Query.term_set_query(compiled.schema, ID_FIELD, wanted), len(wanted),
                               count=False).hits  # fmt: skip
        return {stored.id: stored for stored in (_stored(searcher, address) for _, address in hits)}

    def _prepare(self, op: WriteOp, pending: _Pending) -> WriteResult:
        try:
            if op.op == "update":
                return self._prepare_update(op, pending)
            current = None if op.auto_id else self._current(op.id)
            self._check_conflicts(op, current)
            version = None
            if op.version is not None and op.version_type != INTERNAL:
                version = self._external_version(op, current)
            elif current is None and not op.auto_id:
                version = self._after_tombstone(op.id)
            if op.op == "delete":
                if current is None:
                    return self._record_delete(op.id, pending, found=False, version=version)
                return self._record_delete(op.id, pending, found=True, prior=current, version=version)
            assert op.source is not None
            return self._record_index(op.id, op.source, current, pending, append_only=op.auto_id, parsed=op.parsed,
                                      version=version, routing=op.routing)  # fmt: skip
        except QuidditchError as exc:
            return WriteResult(op.id, status=exc.status, error=exc)

    def _after_tombstone(self, doc_id: str) -> int | None:
        """The version a write of a deleted document gets while its delete is remembered: the delete's + 1,
        as ES counts on from a tombstone (None: no tombstone, a fresh document is version 1)."""
        tomb = self._live.get(doc_id) or (self._live_sealed.get(doc_id) if self._live_sealed else None)
        return tomb.version + 1 if tomb is not None and tomb.source is None else None

    def _external_version(self, op: WriteOp, current: StoredDoc | None) -> int:
        """The version an externally versioned write stores, or its 409: it is compared with the document's
        version, or with its delete's while the live map still holds the tombstone (ES keeps deletes for
        ``index.gc_deletes``; here until the next refresh)."""
        assert op.version is not None
        known = current
        if known is None:
            known = self._live.get(op.id) or (self._live_sealed.get(op.id) if self._live_sealed else None)
        why = write_conflict(op.version_type, known.version if known is not None else None, op.version)
        if why is not None:
            raise VersionConflict(f"[{op.id}]: version conflict, {why}", index_uuid="_na_",
                                  shard=str(self.shard_id), index=self.index_name)  # fmt: skip
        return op.version

    def _exists_conflict(self, doc_id: str, current: StoredDoc) -> VersionConflict:
        return VersionConflict(
            f"[{doc_id}]: version conflict, document already exists (current version [{current.version}])",
            index_uuid="_na_", shard=str(self.shard_id), index=self.index_name,
        )  # fmt: skip

    def _check_conflicts(self, op: WriteOp, current: StoredDoc | None) -> None:
        if op.op == "create" and current is not None:
            raise self._exists_conflict(op.id, current)
        if op.if_seq_no is not None:
            if current is None:
                raise VersionConflict(
                    f"[{op.id}]: version conflict, required seqNo [{op.if_seq_no}], primary term "
                    f"[{op.if_primary_term}] but no document was found",
                    index_uuid="_na_", shard=str(self.shard_id), index=self.index_name,
                )  # fmt: skip
            if current.seq_no != op.if_seq_no or current.primary_term != op.if_primary_term:
                raise VersionConflict(
                    f"[{op.id}]: version conflict, required seqNo [{op.if_seq_no}], primary term "
                    f"[{op.if_primary_term}]. current document has seqNo [{current.seq_no}] and primary term "
                    f"[{current.primary_term}]",
                    index_uuid="_na_", shard=str(self.shard_id), index=self.index_name,
                )  # fmt: skip

    def _next_seq_no(self) -> int:
        self.max_seq_no += 1
        return self.max_seq_no

    def _record_index(
        self,
        doc_id: str,
        source: bytes,
        current: StoredDoc | None,
        pending: _Pending,
        *,
        append_only: bool = False,
        result: str | None = None,
        parsed: dict[str, Any] | None = None,
        version: int | None = None,
        routing: str | None = None,
    ) -> WriteResult:
        if parsed is None:
            parsed = parse_source(source)
        if version is None:
            version = 1 if current is None else current.version + 1
        seq_no = self.max_seq_no + 1
        term = self.primary_term
        doc = self._writing.document(doc_id, source, parsed, seq_no=seq_no, version=version, primary_term=term,
                                     routing=routing)  # fmt: skip
        self.max_seq_no = seq_no
        pending.records.append(index_payload(doc_id, seq_no, version, term, source, routing))
        pending.docs.append((doc_id, doc, append_only))
        self._live[doc_id] = StoredDoc(doc_id, version, seq_no, term, source, routing)
        if current is None:
            return WriteResult(doc_id, result or "created", version, seq_no, term, 201)
        return WriteResult(doc_id, result or "updated", version, seq_no, term, 200)

    def _record_delete(
        self, doc_id: str, pending: _Pending, *, found: bool, prior: StoredDoc | None = None,
        version: int | None = None,
    ) -> WriteResult:
        if version is None:
            version = prior.version + 1 if prior is not None else 1
        seq_no = self._next_seq_no()
        pending.records.append(delete_payload(doc_id, seq_no, version, self.primary_term))
        pending.docs.append((doc_id, None, False))
        self._live[doc_id] = StoredDoc(doc_id, version, seq_no, self.primary_term, None)
        return WriteResult(
            doc_id, "deleted" if found else "not_found", version, seq_no, self.primary_term, 200 if found else 404
        )

    def _prepare_update(self, op: WriteOp, pending: _Pending) -> WriteResult:
        current = self._current(op.id)
        self._check_conflicts(op, current)
        if current is None:
            if op.upsert is not None:
                body = op.upsert
            elif op.doc_as_upsert and op.doc is not None:
                body = op.doc
            else:
                raise DocumentMissing(
                    f"[{op.id}]: document missing", index_uuid="_na_", shard=str(self.shard_id),
                    index=self.index_name,
                )  # fmt: skip
            return self._record_index(op.id, orjson.dumps(body), None, pending, routing=op.routing,
                                      version=self._after_tombstone(op.id))
        assert current.source is not None
        existing = orjson.loads(current.source)
        if op.doc is None:
            raise IllegalArgument("Validation Failed: 1: script or doc is missing;")
        merged = deep_merge(existing, op.doc)
        if op.detect_noop and merged == existing:
            return WriteResult(op.id, "noop", current.version, current.seq_no, current.primary_term, 200)
        return self._record_index(op.id, orjson.dumps(merged), current, pending,
                                  routing=op.routing if op.routing is not None else current.routing)

    # -- refresh and mapping ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise IndexNotFound(self.index_name)

    def refresh(self, force: bool = False) -> None:
        """Make every write acknowledged before this call searchable (and committed) when it returns.

        A failure (the commit, the state write: ENOSPC, EIO) raises and changes nothing durable: the sealed WAL
        generations stay, ``committed_seq_no`` stays, and the shard stays dirty. A failed tantivy writer may
        have lost the operations it held (``_Applier.failure``), so the next refresh first rolls it back and
        re-applies every operation since the last commit from the WAL.
        """
        with self._refresh_lock:
            with self._lock:
                if self._closed or not (self._dirty or force or self._applier.failure is not None):
                    return
                if self._applier.failure is not None:
                    self._reapply()
                boundary, above = self._checkpoint, sorted(self._above)  # (a primary: max_seq_no, [])
                tombs = {k: v for k, v in self._tombs.items() if v > boundary}
                if self.wal.size():
                    self._wal_gen += 1
                    self.wal.seal(self._wal_gen)
                sealed_upto = self._wal_gen
                if self._live_sealed:  # a previous refresh failed: its writes are still uncommitted
                    self._live_sealed.update(self._live)
                else:
                    self._live_sealed = self._live
                self._live = {}
                self._dirty = False
                ticket = self._applier.submit("commit")
            try:
                ticket.wait()  # the tantivy commit: writes go on meanwhile
                failpoint("shard.after_commit")
                self.committed_seq_no, self.committed_above = boundary, above  # tantivy holds them now
                self.committed_tombs = tombs
                self._write_state()
                failpoint("shard.after_state_write")
                self._drop_sealed(sealed_upto)
            except BaseException:
                with self._lock:
                    self._dirty = True
                raise
            self._reload()
            with self._lock:
                self._live_sealed = {}
                self._prune_tombs()

    def _reapply(self) -> None:
        """Roll the failed writer back to the last commit and hand it again every operation after it, from the
        sealed WAL generations and the active one (called under the write lock: nothing is queued meanwhile)."""
        log.warning("re-applying the wal after a writer failure",
                    extra={"index": self.index_name, "shard": self.shard_id,
                           "error": str(self._applier.failure)})  # fmt: skip
        self._applier.submit("sync").wait()
        self._applier.rollback()
        for _, path in sealed_generations(self.wal.path):
            wal = WriteAheadLog(path)
            try:
                self._replay(wal)
            finally:
                wal.close()
        self._replay(self.wal)
        self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def _writing(self) -> CompiledMapping:
        """The mapping writes are checked and built with: a background rebuild's target while one runs (the
        documents go to the old index too, whose writer ignores the fields it lacks)."""
        return self._target if self._target is not None else self.compiled

    def close(self, *, discard: bool = False) -> None:
        """Stop the shard (committing pending writes unless ``discard``); later calls are no-ops."""
        with self._refresh_lock, self._lock:
            if self._closed:
                return
            try:
                if not discard:
                    self.refresh()
            finally:
                self._closed = True
                self._applier.stop(discard=discard)
                self.wal.close()
                self.writer.wait_merging_threads()
        rebuilder = self._rebuilder  # a background rebuild stops at its next check (and discards its copy)
        if rebuilder is not None and rebuilder is not threading.current_thread():
            rebuilder.join(timeout=60)
        self._rebuild_done.set()
