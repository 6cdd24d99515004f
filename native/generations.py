"""A shard's index generations: mapping rebuilds and force merges (methods of ``native.shard.Shard``).

A tantivy schema is fixed and tantivy-py has no merge call, so both rewrite every document into a new
``index.<generation>`` directory and swap it in:

- ``update_mapping`` rebuilds when the mapping's fields change: in the call for a shard of fewer than
  ``ONLINE_REBUILD_DOCS`` documents, in the background for a larger one (writes are checked against the new
  mapping at once and go on, searches read the old index with its own mapping until the swap, an explicit
  refresh waits for it through ``await_rebuild``);
- ``forcemerge`` rewrites under the shard's own mapping when it has too many segments or deleted documents.

The background rebuild and the force merge share ``_rewrite``, the protocol of ``native.merge``.

Crashes. Cluster state records a new mapping before the shards rebuild for it, and ``state.json`` names the
generation in charge with the fingerprint of the mapping it was built with. A kill after the mapping change
but before the rebuild's ``state.json`` write (an inline rebuild midway, or a background one still copying)
therefore restarts with a mapping newer than the generation on disk. ``_open_generation`` opens that
generation with the schema tantivy recorded for it in its ``meta.json`` (what it was built with: nothing
else is needed, as every document's ``_source``, id, version and seq_no are stored fields) and rebuilds it
to the current mapping in the open, before the WAL is replayed under that mapping. Every step is written
so a kill between any two of them reopens consistently:

- copy done, not swapped (``rebuild.after_copy`` / ``merge.after_copy``): ``state.json`` still names the
  old generation; the next start removes the new directory (``remove_stale_generations``) and, for a
  rebuild, rebuilds again;
- swapped, ``state.json`` not written (``*.after_swap``): the same, and the WAL (never dropped by a
  rewrite) replays every write since the old generation's last commit;
- ``state.json`` written, old directory not removed (``*.after_state_write``): the new generation is in
  charge; the next start removes the old directory.

The open-time rebuild runs in the open even for a large shard (~16 µs a document, so a 1M-document shard
starts ~20 s later); the background protocol needs a running shard to hand writes to.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import tantivy

from native.applier import WRITER_HEAP, WRITER_THREADS, _Applier, _Docs
from native.failpoints import failpoint
from native.mapping import Mapping
from native.merge import (
    MergeAborted,
    Rewrite,
    SegmentInfo,
    copy_all,
    generations,
    needs_merge,
    release_freed_memory,
)
from native.readers import Readers
from native.schema import CompiledMapping

log = logging.getLogger(__name__)
# A shard with at least this many documents rebuilds for a new mapping in the background (``update_mapping``);
# a smaller one rebuilds in the call (~16 µs a document: a third of a second here). The environment can lower
# it (tests of the background rebuild in a server process: ``tests/test_crash_points.py``).
ONLINE_REBUILD_DOCS = int(os.environ.get("QUIDDITCH_ONLINE_REBUILD_DOCS", "20000"))
REBUILD_RETRY_S = 5.0


class GenerationsMixin:
    """The rebuild and force-merge methods of ``native.shard.Shard``, over its state declared here."""

    path: str
    index_name: str
    shard_id: int
    analysis: Any
    compiled: CompiledMapping
    index: tantivy.Index
    writer: tantivy.IndexWriter
    generation: int
    committed_seq_no: int
    committed_above: list[int]
    max_seq_no: int
    committed_tombs: dict[str, int]
    _checkpoint: int
    _above: set[int]
    _tombs: dict[str, int]
    _lock: threading.RLock
    _refresh_lock: threading.RLock
    _merge_lock: threading.Lock
    _merge_tail: list[_Docs] | None
    _target: CompiledMapping | None
    _rebuilder: threading.Thread | None
    _rebuild_done: threading.Event
    _closed: bool
    _applier: _Applier
    _readers: Readers
    _live: dict[str, Any]
    _live_sealed: dict[str, Any]
    refresh: Callable[..., None]
    num_docs: Callable[[], int]
    segments: Callable[[], list[SegmentInfo]]
    _check_open: Callable[[], None]
    _fingerprint: Callable[[CompiledMapping], str]
    _index_dir: Callable[[int], str]
    _reload: Callable[[], None]
    _write_state: Callable[[], None]

    def _open_generation(self, state: dict[str, Any]) -> tantivy.Index:
        """The index of ``generation`` under ``compiled`` (the current mapping), with no writer open.

        A generation built under another mapping (its ``state.json`` fingerprint differs: a crash between a
        mapping change and its rebuild's state write) is opened with the schema it was built with and
        rebuilt to ``compiled`` first, as is one whose schema differs for another reason (built by a version
        that compiled the same mapping differently); a new shard (no ``state.json``) records its first state."""
        path = self._index_dir(self.generation)
        if not state:  # the state first: a state with nothing committed marks a new shard (``native.damage``)
            self._write_state()
            failpoint("shard.new_after_state")
            return self.compiled.new_index(path)
        if not os.path.exists(os.path.join(path, "meta.json")):  # nothing committed yet: nothing to rebuild
            return self.compiled.new_index(path)
        if state.get("fingerprint") == self._fingerprint(self.compiled):
            try:
                return self.compiled.new_index(path)
            except ValueError as exc:
                if "schema does not match" not in str(exc):
                    raise
        log.info("rebuilding a generation built under another mapping or schema",
                 extra={"index": self.index_name, "shard": self.shard_id, "generation": self.generation})  # fmt: skip
        self.index = tantivy.Index.open(path)  # its own schema, from the generation's meta.json
        self.analysis.register(self.index)
        self.writer = self.index.writer(WRITER_HEAP, WRITER_THREADS)
        self._rebuild(self.compiled)
        self.writer.wait_merging_threads()  # the shard opens its own writer on the rebuilt index
        return self.index

    def update_mapping(self, mapping: Mapping) -> None:
        """Adopt a newer mapping; rebuild the tantivy index when its fields changed.

        A shard of fewer than ``ONLINE_REBUILD_DOCS`` documents rebuilds in the call (searches and writes
        wait). A larger one rebuilds in the background like a force merge (``native.merge``): writes are
        checked against the new mapping at once and go on, searches read the old index (where the new fields
        are not searchable yet) until the rebuilt one is swapped in; ``await_rebuild`` waits for that. A newer
        mapping arriving meanwhile restarts the rebuild with it.
        """
        with self._refresh_lock, self._lock:
            self._check_open()
            compiled = CompiledMapping(
                mapping, self.analysis, index_name=self.index_name, index_aliases=self.compiled.index_aliases
            )
            fingerprint = self._fingerprint(compiled)
            if self._target is not None:  # a background rebuild runs: it takes the newest mapping
                if fingerprint == self._fingerprint(self.compiled):
                    self._target = None  # back to the index's own fields: the rebuild stops
                    self.compiled = compiled
                else:
                    self._target = compiled
                return
            if fingerprint == self._fingerprint(self.compiled):
                self.compiled = compiled
                return
            if self.num_docs() >= ONLINE_REBUILD_DOCS:
                self._target = compiled
                self._rebuild_done.clear()
                self._rebuilder = threading.Thread(
                    target=self._rebuild_in_background, name=f"rebuild-{self.index_name}-{self.shard_id}", daemon=True
                )
                self._rebuilder.start()
                return
            self.refresh(force=True)  # holding ``_lock`` throughout: no write can queue behind the commit
            self._applier.submit("sync").wait()  # the applier is idle: this thread may use the writer
            with self._readers.lock:  # searches wait for the rebuilt index rather than read the old one
                self._rebuild(compiled)
                self._applier.writer = self.writer
                # Earlier searchers stay (their deleted files stay readable while mapped): a fetch phase or
                # scroll page names the generation its query phase read, whose documents it must get.
                self._reload()

    def set_index_aliases(self, aliases: frozenset[str]) -> None:
        """The index's aliases changed: queries on ``_index`` accept the new names (also once a running rebuild
        swaps its mapping in)."""
        with self._lock:
            for compiled in (self.compiled, self._target):
                if compiled is not None:
                    compiled.index_aliases = aliases

    def await_rebuild(self, timeout: float | None = None) -> bool:
        """Wait for a background rebuild (``update_mapping``) to be swapped in; False on timeout."""
        return self._rebuild_done.wait(timeout)

    def _rebuild_in_background(self) -> None:
        """Rewrite the shard under ``_target`` until one rewrite is swapped in with the newest target."""
        try:
            while True:
                with self._lock:
                    target = self._target
                    if target is None or self._closed:
                        return
                try:
                    self._rewrite(target)
                except MergeAborted:
                    continue  # a newer mapping (or the shard closed): look again
                except Exception:
                    log.exception("background mapping rebuild failed", extra={"index": self.index_name})
                    time.sleep(REBUILD_RETRY_S)
        finally:
            with self._lock:
                if self._target is None or self._closed:
                    self._rebuilder = None
                    self._rebuild_done.set()

    def _rebuild(self, compiled: CompiledMapping) -> None:
        """Re-index every committed document under ``compiled``'s schema into a new generation."""
        self.writer.commit()
        self.index.reload()
        new_gen = self._next_generation()
        new_index = compiled.new_index(self._index_dir(new_gen))
        new_writer = new_index.writer(WRITER_HEAP, WRITER_THREADS)
        copy_all(self.index.searcher(), self.index.schema, compiled, new_writer)
        new_writer.commit()
        failpoint("rebuild.after_copy")
        old_dir = self._index_dir(self.generation)
        self.writer.wait_merging_threads()
        self.index, self.writer, self.compiled = new_index, new_writer, compiled
        self.generation = new_gen
        self._write_state()
        failpoint("rebuild.after_state_write")
        shutil.rmtree(old_dir, ignore_errors=True)

    def _next_generation(self) -> int:
        return max([self.generation, *generations(self.path)]) + 1

    def forcemerge(self, max_num_segments: int = 1, *, only_expunge_deletes: bool = False) -> bool:
        """Rewrite the documents into a new generation (``native.merge``) when the last commit has more than
        ``max_num_segments`` segments or deleted documents (only the latter with ``only_expunge_deletes``);
        returns whether it did. Documents, versions and seq_nos are unchanged, and every write acknowledged
        before the call is committed when it returns. Searches, writes and refreshes only wait for the swap;
        a mapping rebuild meanwhile cancels the rewrite (it rewrote everything itself)."""
        with self._merge_lock:
            self.refresh()
            with self._lock:
                self._check_open()
                if not needs_merge(self.segments(), max_num_segments, only_expunge_deletes):
                    return False
            try:
                self._rewrite(self.compiled, merge_lock_held=True)
            except MergeAborted:
                self._check_open()
                return False
            return True

    def _rewrite(self, compiled: CompiledMapping, *, merge_lock_held: bool = False) -> None:
        """Rewrite every document under ``compiled`` into a new generation and swap it in (``native.merge``):
        a force merge (the shard's own mapping) or a background rebuild (its ``_target``, which becomes the
        shard's mapping at the swap). Raises ``MergeAborted`` when the shard closed, another rewrite replaced
        the generation, or (a rebuild) the target changed meanwhile."""
        if not merge_lock_held:
            with self._merge_lock:
                return self._rewrite(compiled, merge_lock_held=True)
        rebuild = compiled is not self.compiled
        kind = "rebuild" if rebuild else "merge"
        fingerprint = self._fingerprint(compiled)

        def stale() -> bool:
            if self._closed:
                return True
            target = self._target
            return rebuild and (target is None or self._fingerprint(target) != fingerprint)

        with self._lock:
            if stale():
                raise MergeAborted
            base = self.generation
            new_gen = self._next_generation()
            new_dir = self._index_dir(new_gen)
            self._merge_tail = []
        rewrite: Rewrite | None = None
        try:
            rewrite = Rewrite(compiled, new_dir)
            self.refresh()  # the snapshot holds every write made before the tail started
            rewrite.copy(self._readers.current()[1], self._take_tail, stale)
            writer = rewrite.finish(WRITER_HEAP, WRITER_THREADS, self._take_tail)
            failpoint(f"{kind}.after_copy")
            with self._refresh_lock, self._lock:
                if stale() or self.generation != base:
                    raise MergeAborted
                self._applier.submit("sync").wait()  # the old writer is idle from here on
                rewrite.apply_tail(self._take_tail())
                writer.commit()
                old_writer, old_dir = self.writer, os.path.join(self.path, f"index.{base}")
                self.generation, self.index, self.writer = new_gen, rewrite.index, writer
                if rebuild:
                    self.compiled, self._target = self._target if self._target is not None else compiled, None
                self._applier.writer = writer
                failpoint(f"{kind}.after_swap")
                self.committed_seq_no, self.committed_above = self._checkpoint, sorted(self._above)
                self.committed_tombs = {k: v for k, v in self._tombs.items() if v > self._checkpoint}
                self._write_state()
                failpoint(f"{kind}.after_state_write")
                self._live, self._live_sealed, self._merge_tail = {}, {}, None
                self._reload()
        except BaseException:
            with self._lock:
                self._merge_tail = None
                if self.generation == new_gen:  # failed after the swap: the new generation is in charge
                    raise
            if rewrite is not None:
                rewrite.discard()
            else:
                shutil.rmtree(new_dir, ignore_errors=True)
            raise
        old_writer.wait_merging_threads()
        shutil.rmtree(old_dir, ignore_errors=True)
        del old_writer, rewrite
        release_freed_memory()
        return None

    def _take_tail(self) -> list[_Docs]:
        with self._lock:
            tail, self._merge_tail = self._merge_tail or [], []
            return tail
