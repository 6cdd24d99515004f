"""Force merge: rewrite a shard's documents into a new index generation with one writer.

tantivy-py exposes no merge call (an ``IndexWriter`` only adds, deletes, commits and waits for the merges its
own policy picks), so a shard that took many small commits keeps many segments. ``Shard.forcemerge`` gets
to fewer by re-indexing every live document from its stored fields into ``index.<n>``, the way a mapping
rebuild does, with a writer heap large enough that the copy flushes few segments. Deleted documents are
simply not copied.

The protocol (``Shard.forcemerge`` drives it; nothing but the final swap holds a shard lock):

1. *Tail.* Under the write lock the shard starts a tail: from then on every batch of documents it hands
   to its applier is also appended to the tail, in seq_no order.
2. *Snapshot.* A refresh, then the current searcher: it holds every write acknowledged before the tail
   started (and possibly some after: those are in both).
3. *Copy.* ``Rewrite.copy`` re-indexes the snapshot in seq_no ranges and, between ranges, drains the tail
   into the new writer. A tail operation is applied as delete-by-id then add (even for an auto-id
   document, which may be in the snapshot too), and a snapshot document whose id the tail already touched
   is skipped, so the result is the snapshot with the tail replayed on top: the shard's current state.
   Meanwhile searches read the old generation, writes append to the WAL and the old writer, and
   refreshes commit the old generation as usual.
4. *Finish.* One commit, then ``wait_merging_threads`` (tantivy's policy may merge the flushed segments),
   then a fresh writer of the ordinary heap for the shard to keep using, which catches up with the tail
   written meanwhile and commits (a small extra segment when writes went on).
5. *Swap*, under the shard's refresh and write locks: drain the rest of the tail, commit, point the
   shard and its applier at the new generation, record it in ``state.json`` and publish its searcher.
   Searchers of the old generation stay valid (their files are mapped; Linux keeps a removed file's pages),
   so a fetch phase or a scroll that read one still answers from it.

A crash anywhere before the ``state.json`` write leaves the old generation in charge (the new directory
is removed at the next start, ``remove_stale_generations``); after it, the new one, with the WAL replayed
over it as usual. A background mapping rebuild killed before that write leaves the old generation with the
old schema while cluster state has the new mapping: the next start opens it with its own schema and
rebuilds it (``GenerationsMixin._open_generation``). The failpoints ``merge.after_copy``,
``merge.after_swap`` and ``merge.after_state_write`` (``rebuild.*`` for a rebuild) mark these steps
(``native.failpoints``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from native.applier import _Docs
from native.fields import ID_FIELD, PRIMARY_TERM_FIELD, ROUTING_FIELD, SEQ_NO_FIELD, SOURCE_FIELD, VERSION_FIELD
from native.schema import CompiledMapping

# The writer heap of a rewrite. One indexing thread flushes a segment each time its heap fills, and tantivy's
# merge policy only merges 8 or more similar segments, so the heap sets the count. Measured on 1M bench-corpus
# documents (12 segments after a load with 1 s refreshes): 128 MB → 4 segments, 256 MB → 2, 512 MB and up → 1
# in ~17 s (64 MB → 1 too, as 9+ flushes get merged, but in ~23 s). tantivy grows the arena as documents
# arrive (peak RSS ~750 MB for those 1M documents with any heap from 512 MB), so this is a ceiling on the
# memory of a merge: one segment up to ~1M such documents, more segments (each ~1M) beyond.
MERGE_HEAP = 512_000_000
# seq_nos per range query of the copy: the tail is drained between two ranges.
COPY_CHUNK = 50_000
# ``Rewrite.finish`` drains the tail until a pass finds fewer documents than this (or for that many passes):
# what is left is applied under the shard's write lock.
CATCH_UP_DOCS = 1_000
CATCH_UP_PASSES = 8


class MergeAborted(Exception):
    """The shard closed or rebuilt its index for a new mapping while a rewrite ran."""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """One committed tantivy segment, as ``meta.json`` and the directory describe it."""

    name: str  # tantivy's segment id (hex, no dashes)
    max_doc: int
    deleted_docs: int
    size_in_bytes: int

    @property
    def num_docs(self) -> int:
        return self.max_doc - self.deleted_docs


def segment_infos(index_dir: str) -> list[SegmentInfo]:
    """The segments of the last commit in ``index_dir`` (in the searcher's segment order)."""
    try:
        with open(os.path.join(index_dir, "meta.json"), "rb") as fh:
            meta = orjson.loads(fh.read())
    except FileNotFoundError:
        return []
    sizes: dict[str, int] = {}
    with os.scandir(index_dir) as entries:
        for entry in entries:
            prefix = entry.name.split(".", 1)[0]
            try:
                sizes[prefix] = sizes.get(prefix, 0) + entry.stat().st_size
            except OSError:  # removed by tantivy's garbage collection meanwhile
                pass
    out = []
    for seg in meta.get("segments", []):
        name = seg["segment_id"].replace("-", "")
        deletes = seg.get("deletes") or {}
        out.append(SegmentInfo(name, int(seg["max_doc"]), int(deletes.get("num_deleted_docs", 0)), sizes.get(name, 0)))
    return out


# ``only_expunge_deletes`` merges the segments with more than this share of deleted documents, as ES's
# ``index.merge.policy.expunge_deletes_allowed`` (10 %) does.
EXPUNGE_DELETES_ALLOWED = 0.10


def needs_merge(segments: list[SegmentInfo], max_num_segments: int, only_expunge_deletes: bool) -> bool:
    """ES's decision: too many segments or deleted documents; with ``only_expunge_deletes``, a segment with
    more than ``EXPUNGE_DELETES_ALLOWED`` of its documents deleted. (A rewrite always rewrites the whole
    shard: tantivy-py cannot merge chosen segments.)"""
    if only_expunge_deletes:
        return any(s.deleted_docs > EXPUNGE_DELETES_ALLOWED * s.max_doc for s in segments)
    return any(s.deleted_docs for s in segments) or len(segments) > max_num_segments


def generations(path: str) -> list[int]:
    """The index generations that have a directory (``index.<n>``) in the shard directory ``path``."""
    return [int(name[6:]) for name in os.listdir(path) if name.startswith("index.") and name[6:].isdigit()]


def remove_stale_generations(path: str, current: int) -> None:
    """Remove the index directories of other generations than ``current`` (left by a crash mid-rewrite)."""
    for generation in generations(path):
        if generation != current:
            shutil.rmtree(os.path.join(path, f"index.{generation}"), ignore_errors=True)


def copy_all(
    searcher: tantivy.Searcher, schema: tantivy.Schema, compiled: CompiledMapping, writer: tantivy.IndexWriter
) -> None:
    """Re-index every document of ``searcher`` (of an index with ``schema``, which may be an earlier mapping's)
    under ``compiled`` into ``writer`` (a mapping rebuild)."""
    for _, _, source, fields in _documents(searcher, schema):
        writer.add_json(_document(compiled, source, fields))


def _documents(searcher: tantivy.Searcher, schema: tantivy.Schema) -> Iterable[tuple[int, str, bytes, dict[str, Any]]]:
    """``(range start, id, _source, stored fields)`` of every live document, in seq_no order."""
    if searcher.num_docs == 0:
        return
    top = searcher.aggregate(tantivy.Query.all_query(), {"m": {"max": {"field": SEQ_NO_FIELD}}})
    last = int(top["m"]["value"])
    for lo in range(0, last + 1, COPY_CHUNK):
        hi = min(lo + COPY_CHUNK - 1, last)
        query = tantivy.Query.range_query(schema, SEQ_NO_FIELD, tantivy.FieldType.Integer, lo, hi)
        hits = searcher.search(query, hi - lo + 1, count=False, order_by_field=SEQ_NO_FIELD,
                               order=tantivy.Order.Asc).hits  # fmt: skip
        for _, addr in hits:
            fields = searcher.doc(addr).to_dict()
            yield lo, str(fields[ID_FIELD][0]), bytes(fields[SOURCE_FIELD][0]), fields


def _document(compiled: CompiledMapping, source: bytes, fields: dict[str, Any]) -> str:
    return compiled.document(
        str(fields[ID_FIELD][0]), source, orjson.loads(source),
        seq_no=int(fields[SEQ_NO_FIELD][0]), version=int(fields[VERSION_FIELD][0]),
        primary_term=int(fields[PRIMARY_TERM_FIELD][0]),
        routing=str(fields[ROUTING_FIELD][0]) if fields.get(ROUTING_FIELD) else None,
    )  # fmt: skip


class Rewrite:
    """A new index generation being built from a snapshot plus the tail of writes made since (see above)."""

    def __init__(self, compiled: CompiledMapping, path: str) -> None:
        self.compiled = compiled
        self.path = path
        self.index = compiled.new_index(path)
        self.writer = self.index.writer(MERGE_HEAP, 1)
        self._touched: set[str] = set()  # ids the tail has written: their snapshot copies are stale

    def copy(self, snapshot: tantivy.Searcher, take_tail: Callable[[], list[_Docs]],
             stopped: Callable[[], bool]) -> None:  # fmt: skip
        """Re-index ``snapshot``, draining ``take_tail()`` into the new index between seq_no ranges."""
        touched, add, compiled = self._touched, self.writer.add_json, self.compiled
        current = -1
        for lo, doc_id, source, fields in _documents(snapshot, compiled.schema):
            if lo != current:
                if stopped():
                    raise MergeAborted
                self.apply_tail(take_tail())
                current = lo
            if doc_id not in touched:
                add(_document(compiled, source, fields))
        self.apply_tail(take_tail())

    def apply_tail(self, batches: list[_Docs]) -> None:
        writer, touched = self.writer, self._touched
        for batch in batches:
            for doc_id, doc, _ in batch:
                writer.delete_documents_by_term(ID_FIELD, doc_id)
                if doc is not None:
                    writer.add_json(doc)
                touched.add(doc_id)

    def finish(self, heap: int, threads: int, take_tail: Callable[[], list[_Docs]]) -> tantivy.IndexWriter:
        """Commit the copy, let tantivy's merges settle, open the writer the shard continues with, and catch
        up with the writes made meanwhile, so the swap has only the last few to apply."""
        self.writer.commit()
        self.writer.wait_merging_threads()
        self.writer = self.index.writer(heap, threads)
        for _ in range(CATCH_UP_PASSES):
            batches = take_tail()
            self.apply_tail(batches)
            if sum(len(batch) for batch in batches) < CATCH_UP_DOCS:
                break
        self.writer.commit()
        return self.writer

    def discard(self) -> None:
        """Drop the new generation: its writer and its directory."""
        try:
            self.writer.wait_merging_threads()
        except Exception:  # already consumed by ``finish``'s wait or failed: the directory goes anyway
            pass
        shutil.rmtree(self.path, ignore_errors=True)


def release_freed_memory() -> None:
    """Hand the memory a rewrite freed back to the OS: glibc keeps freed arena pages (in-process, a 300k-document
    load and rewrite left 1.4 GB of heap resident, 0.2 GB after ``malloc_trim``). A no-op without glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
